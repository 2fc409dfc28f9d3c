/**
 * The real datapath: writes the node's BPF maps and attaches the tc programs through the
 * native addon. Ordering rules it keeps:
 *  - attach: policy entries, shaping and the endpoint config are written BEFORE the programs
 *    are attached, so the first packet the program sees is judged by the final policy (the
 *    programs fail closed while the config is missing);
 *  - update: entries are diffed (deletes first, so a nearly full map makes room, then adds and
 *    changes), then the endpoint's generation is bumped so established flows are re-checked;
 *  - a policy map that cannot take an endpoint's entries isolates THAT endpoint (every slice
 *    skipped, both directions isolated: all new and re-checked flows are denied) and throws; the
 *    node and the other endpoints carry on. A full ipcache keeps the most specific prefixes it
 *    can and reports the rest as `failed` instead of throwing (CNI ADD must not fail for all);
 *  - ipcache changes that move or remove an address's identity bump every endpoint's
 *    generation, because flows admitted under the old identity must be re-checked too.
 * One object load per node (constant `endpoint_id` 0): its two programs are attached to every
 * endpoint, each tc filter carrying the endpoint id as its classid (bpf/weir.bpf.c). Maps are
 * pinned by name under `pinRoot`, so they outlive the agent and are shared with test loads; pins
 * of another layout version are replaced on the first load (layout.ts).
 */
import {
  EMPTY_ENDPOINT_CONFIG, ENDPOINT_ID_CONSTANT, LAYOUT, LAYOUT_VERSION, MAPS, MAX_ENDPOINT_ID, PROGRAMS, REASONS, decodeConntrackKey,
  decodeEndpointConfig, decodeFlowEvent, decodePolicyKey, encodeCounterKey, encodeEndpointConfig, encodeEndpointId,
  SKIP_MASK, hasAuditEntries, policySkipFlags, sumCounterValues, type EndpointConfig, type FlowEvent,
} from './codec.js';
import type { IpCacheEntry } from './desired.js';
import { applyDiff, diffContents, ipCacheContents, policyContents, readContents, type MapContents } from './entries.js';
import { sweepConntrack, type SweepResult } from './sweep.js';
import { ADOPTED_CLASSID_BIT, describeFilter, hookState, inWeirInstance } from './filters.js';
import { classifyLinks } from './links.js';
import { existsSync } from 'node:fs';
import { addrBytes } from './addr.js';
import { parseIp } from '../identity/cidr.js';
import { carryOver, encodeMeta, inspectPins, retirePins, type LayoutSwitch } from './layout.js';
import type { BpfMapPort, BpfObjectPort, DatapathAddon } from './port.js';
import {
  chooseShapingMode, flowClassParameters, ifbName, tbfParameters, type Bandwidth, type ShapingMode, type ShapingPreference,
} from './shaping.js';
import type {
  AdoptedEndpoint, AttachRequest, AttachResult, CounterSample, DatapathApi, EventSubscription, LinkReport, UpdateRequest, UpdateResult,
} from './api.js';

const DIRECTIONS = ['ingress', 'egress'] as const;

export interface DatapathOptions {
  addon: DatapathAddon;
  /** Compiled build/bpf/weir.bpf.o. */
  objectPath: string;
  /** bpffs directory the maps are pinned under, e.g. /sys/fs/bpf/weir. */
  pinRoot: string;
  /** Conntrack sweep period (sweep.ts); 0 = never (tests sweep by hand). Default 30. */
  conntrackSweepSeconds?: number;
  /** Live conntrack entries one endpoint may hold; absent = the datapath's default (WEIR_CT_DEFAULT_QUOTA). */
  conntrackQuota?: number;
  /** The netns whose global addresses are "the node" (bpf/include/nodeaddr.h); default the agent's own (null). */
  nodeNetnsPath?: string | null;
  /** 'auto' (default): flow-fair HTB where sch_htb exists, else TBF; 'tbf': always TBF (shaping.ts). */
  shaping?: ShapingPreference;
}

/** How long enforceLinks trusts the node addresses it last wrote. */
const NODE_ADDRS_TTL_MS = 10_000;
/** bpf/include/nodeaddr.h WEIR_MAX_NODE_ADDRS. */
export const MAX_NODE_ADDRS = 256;
/** kube-proxy's IPVS mode binds every ClusterIP to this link on the node: those are Services, not the node. */
const SERVICE_LINKS = new Set(['kube-ipvs0']);

interface EndpointState {
  endpointId: number;
  netnsPath: string | null;
  ifname: string;
  config: EndpointConfig;
  policy: MapContents;
  shaping: ShapingMode;
  bandwidth: Bandwidth | undefined;
  /** Links a later chained plugin added that carry this endpoint's programs (enforceLinks). */
  adoptedLinks: Set<string>;
}

interface NodeMaps {
  object: BpfObjectPort;
  ipcache: BpfMapPort;
  policy: BpfMapPort;
  conntrack: BpfMapPort;
  endpoints: BpfMapPort;
  counters: BpfMapPort;
  events: BpfMapPort;
  conntrackUsage: BpfMapPort;
  nodeAddrs: BpfMapPort;
}

/** Every policy slice skipped: the programs then see no entry at all for the endpoint. */
const ALL_SLICES_SKIPPED = SKIP_MASK;

const unhex = (s: string): Buffer => Buffer.from(s, 'hex');

export class Datapath implements DatapathApi {
  private readonly addon: DatapathAddon;
  private readonly objectPath: string;
  private readonly pinRoot: string;
  private maps: NodeMaps | undefined;
  private readonly endpoints = new Map<number, EndpointState>();
  /** Policy contents found in the maps by adoptExisting, for endpoints not yet re-attached. */
  private readonly adoptedPolicy = new Map<number, MapContents>();
  private readonly adoptedConfig = new Map<number, EndpointConfig>();
  private ipcache: MapContents | undefined;
  private readonly sweepSeconds: number;
  private readonly conntrackQuota: number | undefined;
  private readonly nodeNetnsPath: string | null;
  private nodeAddrsWrittenAt = Number.NEGATIVE_INFINITY;
  private readonly shapingPreference: ShapingPreference;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Set when this process replaced pins of another layout version (layout.ts), for the start log. */
  layoutSwitch: LayoutSwitch | undefined;

  constructor(opts: DatapathOptions) {
    this.addon = opts.addon;
    this.objectPath = opts.objectPath;
    this.pinRoot = opts.pinRoot;
    this.sweepSeconds = opts.conntrackSweepSeconds ?? 30;
    this.conntrackQuota = opts.conntrackQuota;
    this.nodeNetnsPath = opts.nodeNetnsPath ?? null;
    this.shapingPreference = opts.shaping ?? 'auto';
  }

  private nodeMaps(): NodeMaps {
    if (this.maps !== undefined) return this.maps;
    // Pins of another layout version are replaced, not reused (layout.ts): the old programs keep
    // enforcing with the old maps until attachEndpoint replaces them endpoint by endpoint.
    const found = inspectPins(this.addon, this.pinRoot);
    const retired = found.kind === 'other' ? retirePins(this.addon, this.pinRoot, found) : undefined;
    let object: BpfObjectPort;
    try {
      object = this.addon.openObject({ path: this.objectPath, pinRoot: this.pinRoot, constants: { [ENDPOINT_ID_CONSTANT]: 0 } });
    } catch (error) {
      retired?.close();
      throw error;
    }
    this.maps = {
      object,
      ipcache: object.map(MAPS.ipcache),
      policy: object.map(MAPS.policy),
      conntrack: object.map(MAPS.conntrack),
      endpoints: object.map(MAPS.endpoints),
      counters: object.map(MAPS.counters),
      events: object.map(MAPS.events),
      conntrackUsage: object.map(MAPS.conntrackUsage),
      nodeAddrs: object.map(MAPS.nodeAddrs),
    };
    if (retired !== undefined) {
      try {
        const change = carryOver(retired, { conntrack: this.maps.conntrack, endpoints: this.maps.endpoints });
        // The programs never decrement: the carried flows' counts are recounted from the table.
        if (change.conntrackCarried > 0) sweepConntrack(this.maps.conntrack, this.maps.conntrackUsage);
        this.layoutSwitch = change;
      } finally {
        retired.close();
      }
    }
    // Written last: a crash before this leaves unversioned pins, which the next start replaces again.
    if (found.kind !== 'current') object.map(MAPS.meta).update(Buffer.alloc(4), encodeMeta(LAYOUT_VERSION));
    if (this.sweepSeconds > 0) {
      this.sweepTimer = setInterval(() => {
        // A failed sweep only leaves counts high (fail closed) until the next one.
        try { this.sweepConntrack(); } catch { /* retried next period */ }
      }, this.sweepSeconds * 1000);
      this.sweepTimer.unref();
    }
    return this.maps;
  }

  /** Deletes expired conntrack entries and re-counts each endpoint's live ones (sweep.ts). */
  sweepConntrack(nowNs?: bigint): SweepResult {
    const m = this.nodeMaps();
    return sweepConntrack(m.conntrack, m.conntrackUsage, nowNs);
  }

  async attachEndpoint(req: AttachRequest): Promise<AttachResult> {
    const result = await this.stageEndpoint(req);
    const { tampered } = await this.enforceHooks(req.netnsPath, req.ifname, req.endpointId, true);
    return tampered.length > 0 ? { ...result, tampered } : result;
  }

  /**
   * Puts the node's shared programs in Weir's slot on both hooks of a link (told apart per
   * endpoint by the filter's classid, bpf/weir.bpf.c) and first removes every filter that would
   * run ahead of them (filters.ts). `force`: attach even where the slot looks right (CNI ADD
   * replaces in place). Returns whether anything was attached and what was found tampered.
   */
  private async enforceHooks(netnsPath: string | null, ifname: string, classid: number, force: boolean): Promise<{ attached: boolean; tampered: string[] }> {
    const { object } = this.nodeMaps();
    const tampered: string[] = [];
    let attached = false;
    for (const direction of DIRECTIONS) {
      const target = { netnsPath, ifname, direction };
      const program = object.program(PROGRAMS[direction]);
      const hook = hookState(await this.addon.tc.list(target), { progId: program.id, classid });
      for (const f of hook.ahead) {
        // A filter in Weir's own cls_bpf instance goes by handle, so Weir's keeps running; any
        // other classifier at Weir's priority cannot hold Weir's filter and goes whole.
        await this.addon.tc.deleteFilter({ ...target, filter: f, whole: !inWeirInstance(f) });
        tampered.push(`${direction}: ${describeFilter(f)} ahead of Weir's, removed`);
      }
      if (hook.slot === 'foreign') tampered.push(`${direction}: Weir's slot held another program or endpoint, replaced`);
      if (force || hook.slot !== 'ok') {
        await this.addon.tc.attach({ ...target, program, replace: true, classid });
        attached = true;
      }
    }
    return { attached, tampered };
  }

  async enforceLinks(endpointId: number): Promise<LinkReport> {
    const report: LinkReport = { attached: [], tampered: [], leftAlone: [] };
    const state = this.mustGet(endpointId);
    const ns = state.netnsPath;
    if (ns === null) return report;
    const peers = [...this.endpoints.values()].filter((e) => e.netnsPath === ns);
    // One owner per netns (the lowest id: usually the primary interface, attached first).
    if (peers.some((e) => e.endpointId < endpointId)) return report;
    const known = new Set(peers.flatMap((e) => [e.ifname, ifbName(e.endpointId)]));
    await this.refreshNodeAddresses();
    let links: Awaited<ReturnType<DatapathAddon['netlink']['links']>>;
    try {
      links = await this.addon.netlink.links(ns);
    } catch (e) {
      // The pod is going away (its CNI DEL follows): nothing to enforce, nothing to report.
      if (!existsSync(ns)) return report;
      throw e;
    }
    const present = new Set(links.map((l) => l.name));
    for (const name of state.adoptedLinks) if (!present.has(name)) state.adoptedLinks.delete(name);
    for (const v of classifyLinks(links, known, state.config.addresses?.ips ?? [])) {
      if (!v.adopt) {
        report.leftAlone.push({ link: v.name, reason: v.reason });
        continue;
      }
      const r = await this.enforceHooks(ns, v.name, endpointId | ADOPTED_CLASSID_BIT, false);
      state.adoptedLinks.add(v.name);
      if (r.attached) report.attached.push(v.name);
      if (r.tampered.length > 0) report.tampered.push({ link: v.name, filters: r.tampered });
    }
    return report;
  }

  /**
   * Writes the node's global addresses (its host netns, minus Service links) for the programs on
   * adopted links (bpf/include/nodeaddr.h): what the pod exchanges with its own node always passes.
   */
  private async refreshNodeAddresses(): Promise<void> {
    if (Date.now() - this.nodeAddrsWrittenAt < NODE_ADDRS_TTL_MS) return;
    const m = this.nodeMaps();
    const wanted = new Map<string, Buffer>();
    for (const l of await this.addon.netlink.links(this.nodeNetnsPath)) {
      if (SERVICE_LINKS.has(l.name)) continue;
      for (const ip of l.addresses) {
        const p = parseIp(ip);
        if (p === undefined || wanted.size >= MAX_NODE_ADDRS) continue;
        const key = addrBytes(p.family, p.addr);
        wanted.set(key.toString('hex'), key);
      }
    }
    for (const k of m.nodeAddrs.keys()) if (!wanted.has(k.toString('hex'))) m.nodeAddrs.delete(k);
    for (const key of wanted.values()) m.nodeAddrs.update(key, Buffer.from([1]));
    this.nodeAddrsWrittenAt = Date.now();
  }

  /** Removes clsact from a link when no filter is left on it (a detached endpoint leaves nothing behind). */
  private async removeEmptyClsact(netnsPath: string | null, ifname: string): Promise<void> {
    for (const direction of DIRECTIONS) {
      if ((await this.addon.tc.list({ netnsPath, ifname, direction })).length > 0) return;
    }
    await this.addon.tc.destroyClsact({ netnsPath, ifname });
  }

  /**
   * An object whose programs judge every packet as `endpointId` (the loader's constant), for
   * BPF_PROG_TEST_RUN suites and benchmarks, which cannot set tc_classid. Maps are shared by
   * pinning; the caller closes it. The agent never attaches these.
   */
  loadEndpointObject(endpointId: number): BpfObjectPort {
    this.nodeMaps();
    return this.addon.openObject({ path: this.objectPath, pinRoot: this.pinRoot, constants: { [ENDPOINT_ID_CONSTANT]: endpointId } });
  }

  /**
   * Everything attachEndpoint does except the tc attachment: policy entries, shaping, endpoint
   * config. Public for BPF_PROG_TEST_RUN suites and benchmarks (stage, then loadEndpointObject).
   */
  async stageEndpoint(req: AttachRequest): Promise<AttachResult> {
    const m = this.nodeMaps();
    const id = req.endpointId;
    if (!Number.isInteger(id) || id < 1 || id > MAX_ENDPOINT_ID) throw new Error(`endpoint id ${id} must be an integer in 1..${MAX_ENDPOINT_ID}`);
    const existing = this.endpoints.get(id);
    if (existing !== undefined && (existing.netnsPath !== req.netnsPath || existing.ifname !== req.ifname)) {
      throw new Error(`endpoint ${id} is already attached to ${existing.ifname} in ${existing.netnsPath ?? 'the host netns'}`);
    }
    const current = existing?.policy ?? this.adoptedPolicy.get(id) ?? new Map<string, string>();
    const previous = existing?.config ?? this.adoptedConfig.get(id);

    // 1. policy entries
    const desiredPolicy = policyContents(id, req.desired.entries);
    const diff = diffContents(desiredPolicy, current);
    const written = applyDiff(m.policy, diff, current);

    // 2. shaping (may create the IFB whose ifindex the config carries)
    const state: EndpointState = {
      endpointId: id,
      netnsPath: req.netnsPath,
      ifname: req.ifname,
      policy: written.contents,
      shaping: 'none',
      bandwidth: undefined,
      adoptedLinks: existing?.adoptedLinks ?? new Set<string>(),
      config: {
        // Absent addresses keep what the endpoint had (a re-attach, an adopted endpoint).
        addresses: req.addresses ?? previous?.addresses,
        conntrackQuota: this.conntrackQuota,
        // A re-attach over live state moves the generation only when the policy changed.
        generation: previous === undefined ? 1 : previous.generation + (diff.upserts.length + diff.deletes.length > 0 ? 1 : 0),
        ifbIfindex: previous?.ifbIfindex ?? 0,
        // Kept until applyBandwidth has rebuilt the shapers they refer to.
        ...(previous?.flowClassesIngress === true ? { flowClassesIngress: true } : {}),
        ...(previous?.flowClassesEgress === true ? { flowClassesEgress: true } : {}),
        isolatedIngress: req.desired.isolatedIngress,
        isolatedEgress: req.desired.isolatedEgress,
        eventsIngress: req.flowEvents?.ingress ?? false,
        eventsEgress: req.flowEvents?.egress ?? false,
        ...(req.desired.audit === true ? { audit: true } : {}),
        ...(hasAuditEntries(req.desired.entries) ? { auditPolicies: true } : {}),
        skips: policySkipFlags(req.desired.entries),
      },
    };
    if (previous !== undefined && (previous.isolatedIngress !== state.config.isolatedIngress || previous.isolatedEgress !== state.config.isolatedEgress ||
      (previous.audit === true) !== (state.config.audit === true))) {
      state.config.generation = previous.generation + 1;
    }
    this.endpoints.set(id, state);
    this.adoptedPolicy.delete(id);
    this.adoptedConfig.delete(id);
    if (written.error !== undefined) throw this.isolate(state, written.error);
    await this.applyBandwidth(state, req.bandwidth, false);

    // 3. endpoint config (the programs are attached by the caller, after this)
    m.endpoints.update(encodeEndpointId(id), encodeEndpointConfig(state.config));
    return { shapingMode: state.shaping };
  }

  /**
   * A policy write that hit a full map: the endpoint's config now skips every slice and isolates
   * both directions (new flows default-deny, established ones are re-checked and revoked), so a
   * half-written policy is never enforced. Returns the error to throw.
   */
  private isolate(state: EndpointState, cause: unknown): Error {
    state.config = {
      ...state.config,
      generation: (state.config.generation + 1) >>> 0,
      isolatedIngress: true,
      isolatedEgress: true,
      auditPolicies: false,
      skips: ALL_SLICES_SKIPPED,
    };
    this.nodeMaps().endpoints.update(encodeEndpointId(state.endpointId), encodeEndpointConfig(state.config));
    return new Error(
      `endpoint ${state.endpointId} (${state.ifname}): the policy map is full (${cause instanceof Error ? cause.message : String(cause)}); the endpoint is isolated ` +
        '(all its traffic denied) until its policy fits: reduce the rules selecting it, or the entries of other endpoints on this node',
    );
  }

  async updateEndpoint(req: UpdateRequest): Promise<UpdateResult> {
    const m = this.nodeMaps();
    const state = this.mustGet(req.endpointId);
    const desired = policyContents(req.endpointId, req.desired.entries);
    const diff = diffContents(desired, state.policy);
    const written = applyDiff(m.policy, diff, state.policy);
    state.policy = written.contents;
    if (written.error !== undefined) throw this.isolate(state, written.error);
    const c = state.config;
    const unchanged = diff.upserts.length === 0 && diff.deletes.length === 0 && c.isolatedIngress === req.desired.isolatedIngress &&
      c.isolatedEgress === req.desired.isolatedEgress && (c.audit === true) === (req.desired.audit === true) &&
      c.eventsIngress === (req.flowEvents?.ingress ?? c.eventsIngress) && c.eventsEgress === (req.flowEvents?.egress ?? c.eventsEgress);
    // Nothing to write (a recompile that produced the same policy): the generation stays, so
    // established flows are not re-checked for nothing.
    if (unchanged) return { added: 0, removed: 0, generation: c.generation };
    state.config = {
      ...state.config,
      generation: (state.config.generation + 1) >>> 0,
      isolatedIngress: req.desired.isolatedIngress,
      isolatedEgress: req.desired.isolatedEgress,
      eventsIngress: req.flowEvents?.ingress ?? state.config.eventsIngress,
      eventsEgress: req.flowEvents?.egress ?? state.config.eventsEgress,
      // Leaving audit mode moves the generation (as every update does): flows the policy denies are revoked.
      audit: req.desired.audit === true,
      auditPolicies: hasAuditEntries(req.desired.entries),
      // Written after the entries (applyDiff above): a slice becomes visible to the programs
      // only once its entries exist, and a new flow in between is judged by the old policy.
      skips: policySkipFlags(req.desired.entries),
    };
    m.endpoints.update(encodeEndpointId(req.endpointId), encodeEndpointConfig(state.config));
    return { added: diff.upserts.length, removed: diff.deletes.length, generation: state.config.generation };
  }

  async setBandwidth(endpointId: number, bandwidth: Bandwidth | undefined): Promise<AttachResult> {
    const state = this.mustGet(endpointId);
    await this.applyBandwidth(state, bandwidth, true);
    return { shapingMode: state.shaping };
  }

  /**
   * Egress: the shaper (TBF, or HTB with flow classes) as the pod interface's root qdisc.
   * Ingress: the shaper on a per-endpoint IFB and the IFB's ifindex in the endpoint config (the
   * ingress program redirects to it). With flow classes the config also tells the programs to
   * set skb->priority; the flag is set only once the HTB exists and cleared before it goes, so a
   * priority never names a class that is not there (HTB would then use its default leaf anyway).
   * When removing ingress shaping the config stops redirecting before the IFB goes away.
   */
  private async applyBandwidth(state: EndpointState, bandwidth: Bandwidth | undefined, writeConfig: boolean): Promise<void> {
    const m = this.nodeMaps();
    const mode = chooseShapingMode(this.addon.probeFeatures(), bandwidth, this.shapingPreference);
    const fair = mode === 'htb-fair';
    const ns = state.netnsPath;
    const egress = bandwidth?.egressBitsPerSecond;
    const ingress = bandwidth?.ingressBitsPerSecond;
    const hadEgress = state.bandwidth?.egressBitsPerSecond !== undefined;
    const hadIngress = state.config.ifbIfindex !== 0;
    const writeState = (c: Partial<EndpointConfig>): void => {
      state.config = { ...state.config, ...c };
      if (writeConfig) m.endpoints.update(encodeEndpointId(state.endpointId), encodeEndpointConfig(state.config));
    };
    const shape = (ifname: string, rate: number): Promise<void> =>
      fair ? this.addon.netlink.setFlowClasses(ns, ifname, flowClassParameters(rate)) : this.addon.netlink.setTbf(ns, ifname, tbfParameters(rate));

    const flags = { flowClassesEgress: fair && egress !== undefined, flowClassesIngress: fair && ingress !== undefined };
    const was = { flowClassesEgress: state.config.flowClassesEgress === true, flowClassesIngress: state.config.flowClassesIngress === true };
    // Flags off first for a direction that stops being an HTB.
    const staying = { flowClassesEgress: was.flowClassesEgress && flags.flowClassesEgress, flowClassesIngress: was.flowClassesIngress && flags.flowClassesIngress };
    if (staying.flowClassesEgress !== was.flowClassesEgress || staying.flowClassesIngress !== was.flowClassesIngress) writeState(staying);

    if (egress !== undefined) await shape(state.ifname, egress);
    else if (hadEgress) await this.addon.netlink.clearRootQdisc(ns, state.ifname);

    if (ingress !== undefined) {
      const ifindex = await this.addon.netlink.createIfb(ns, ifbName(state.endpointId));
      await shape(ifbName(state.endpointId), ingress);
      writeState({ ifbIfindex: ifindex, ...flags });
    } else {
      if (hadIngress || flags.flowClassesEgress !== staying.flowClassesEgress) writeState({ ifbIfindex: 0, ...flags });
      if (hadIngress) await this.addon.netlink.deleteLink(ns, ifbName(state.endpointId));
    }
    state.bandwidth = bandwidth;
    state.shaping = mode;
  }

  /**
   * Removes programs, shaping and every map entry of the endpoint. The pod netns may already
   * be gone (CNI DEL after the sandbox died): netns-side failures are collected, map cleanup
   * always runs, and the first failure is rethrown at the end.
   */
  async detachEndpoint(endpointId: number): Promise<void> {
    const m = this.nodeMaps();
    const state = this.endpoints.get(endpointId);
    const failures: unknown[] = [];
    if (state !== undefined) {
      for (const direction of DIRECTIONS) {
        await this.addon.tc.detach({ netnsPath: state.netnsPath, ifname: state.ifname, direction }).catch((e: unknown) => failures.push(e));
      }
      await this.removeEmptyClsact(state.netnsPath, state.ifname).catch((e: unknown) => failures.push(e));
      for (const link of state.adoptedLinks) {
        // The plugin that added the link may have removed it already (its DEL runs before weir's).
        if (await this.addon.netlink.linkIndex(state.netnsPath, link).catch(() => undefined) === undefined) continue;
        for (const direction of DIRECTIONS) {
          await this.addon.tc.detach({ netnsPath: state.netnsPath, ifname: link, direction }).catch((e: unknown) => failures.push(e));
        }
        await this.removeEmptyClsact(state.netnsPath, link).catch((e: unknown) => failures.push(e));
      }
      if (state.bandwidth?.egressBitsPerSecond !== undefined) {
        await this.addon.netlink.clearRootQdisc(state.netnsPath, state.ifname).catch((e: unknown) => failures.push(e));
      }
      if (state.config.ifbIfindex !== 0) {
        await this.addon.netlink.deleteLink(state.netnsPath, ifbName(endpointId)).catch((e: unknown) => failures.push(e));
      }
    }
    const policy = state?.policy ?? this.adoptedPolicy.get(endpointId) ?? new Map<string, string>();
    for (const k of policy.keys()) m.policy.delete(unhex(k));
    // Array slots cannot be deleted: zeroing clears WEIR_EP_CONFIGURED and the counters.
    m.endpoints.update(encodeEndpointId(endpointId), EMPTY_ENDPOINT_CONFIG());
    for (const k of m.conntrack.keys()) if (decodeConntrackKey(k).endpointId === endpointId) m.conntrack.delete(k);
    m.conntrackUsage.update(encodeEndpointId(endpointId), Buffer.alloc(LAYOUT.weir_ct_usage.size));
    const zero = Buffer.alloc(LAYOUT.weir_counter_value.size);
    for (const reason of REASONS) m.counters.update(encodeCounterKey(endpointId, reason), zero);
    this.endpoints.delete(endpointId);
    this.adoptedPolicy.delete(endpointId);
    this.adoptedConfig.delete(endpointId);
    if (failures.length > 0) throw failures[0];
  }

  async syncIpCache(entries: readonly IpCacheEntry[]): Promise<{ added: number; removed: number; changed: number; failed: number }> {
    const m = this.nodeMaps();
    const current = this.ipcache ?? readContents(m.ipcache);
    const desired = ipCacheContents(entries);
    const diff = diffContents(desired, current);
    // Most specific first: when the trie fills up, pod addresses land before wide ipBlocks.
    diff.upserts.sort(([a], [b]) => unhex(b).readUInt32LE(0) - unhex(a).readUInt32LE(0));
    const written = applyDiff(m.ipcache, diff, current, true);
    this.ipcache = written.contents;
    // An address whose identity moved or vanished may carry flows admitted under the old one.
    if (diff.changed > 0 || diff.deletes.length > 0) this.bumpAllGenerations();
    return { added: diff.upserts.length - diff.changed - written.failed, removed: diff.deletes.length, changed: diff.changed, failed: written.failed };
  }

  private bumpAllGenerations(): void {
    const m = this.nodeMaps();
    for (const state of this.endpoints.values()) {
      state.config = { ...state.config, generation: (state.config.generation + 1) >>> 0 };
      m.endpoints.update(encodeEndpointId(state.endpointId), encodeEndpointConfig(state.config));
    }
  }

  /**
   * After an agent restart: reads the pinned maps (policy per endpoint, endpoint configs,
   * ipcache) so the next attachEndpoint/syncIpCache diffs against what is really there.
   * Nothing is detached; attachEndpoint on an adopted endpoint replaces its programs in place.
   */
  async adoptExisting(): Promise<AdoptedEndpoint[]> {
    const m = this.nodeMaps();
    this.ipcache = readContents(m.ipcache);
    const policyByEndpoint = new Map<number, MapContents>();
    for (const [k, v] of readContents(m.policy)) {
      const id = decodePolicyKey(unhex(k)).endpointId;
      let c = policyByEndpoint.get(id);
      if (c === undefined) policyByEndpoint.set(id, (c = new Map<string, string>()));
      c.set(k, v);
    }
    const out: AdoptedEndpoint[] = [];
    for (const key of m.endpoints.keys()) {
      const value = m.endpoints.lookup(key);
      if (value === undefined) continue;
      const id = key.readUInt32LE(0);
      const config = decodeEndpointConfig(value);
      if (config === undefined) continue;
      const policy = policyByEndpoint.get(id) ?? new Map<string, string>();
      if (!this.endpoints.has(id)) {
        this.adoptedConfig.set(id, config);
        this.adoptedPolicy.set(id, policy);
      }
      out.push({ endpointId: id, generation: config.generation, policyEntries: policy.size, ingressShaped: config.ifbIfindex !== 0 });
    }
    // Policy slices without an endpoint config are leftovers of an interrupted detach.
    for (const [id, policy] of policyByEndpoint) {
      if (!out.some((e) => e.endpointId === id) && !this.endpoints.has(id)) this.adoptedPolicy.set(id, policy);
    }
    return out.sort((a, b) => a.endpointId - b.endpointId);
  }

  async readCounters(): Promise<CounterSample[]> {
    const m = this.nodeMaps();
    const out: CounterSample[] = [];
    const ids = new Set([...this.endpoints.keys(), ...this.adoptedConfig.keys()]);
    for (const endpointId of [...ids].sort((a, b) => a - b)) {
      for (const reason of REASONS) {
        const k = encodeCounterKey(endpointId, reason);
        const perCpu = m.counters.lookupPerCpu?.(k) ?? [m.counters.lookup(k)].filter((b): b is Buffer => b !== undefined);
        const sum = sumCounterValues(perCpu);
        if (sum.packets > 0n) out.push({ endpointId, reason, ...sum });
      }
    }
    return out;
  }

  programIds(): { ingress: number; egress: number } {
    const { object } = this.nodeMaps();
    return { ingress: object.program(PROGRAMS.ingress).id, egress: object.program(PROGRAMS.egress).id };
  }

  events(onEvent: (e: FlowEvent) => void): EventSubscription {
    const consumer = this.addon.ringBuffer(this.nodeMaps().events, (record) => onEvent(decodeFlowEvent(record)));
    consumer.start();
    return { stop: () => consumer.stop() };
  }

  async close(): Promise<void> {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.maps?.object.close();
    this.maps = undefined;
  }

  private mustGet(endpointId: number): EndpointState {
    const s = this.endpoints.get(endpointId);
    if (s === undefined) throw new Error(`endpoint ${endpointId} is not attached`);
    return s;
  }
}
