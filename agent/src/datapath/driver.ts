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
  EMPTY_ENDPOINT_CONFIG, ENDPOINT_ID_CONSTANT, LAYOUT, MAX_ENDPOINT_ID, PROGRAMS, REASONS, decodeConntrackKey, decodeFlowEvent, encodeCounterKey,
  encodeEndpointConfig, encodeEndpointId, sumCounterValues, type EndpointConfig, type FlowEvent,
} from './codec.js';
import type { IpCacheEntry } from './desired.js';
import { applyDiff, diffContents, ipCacheContents, policyContents, readContents, type MapContents } from './entries.js';
import { sweepConntrack, type SweepResult } from './sweep.js';
import { ADOPTED_CLASSID_BIT } from './filters.js';
import { NodeAddresses, detachHooks, enforceHooks } from './hooks.js';
import { classifyLinks } from './links.js';
import { existsSync } from 'node:fs';
import type { LayoutSwitch } from './layout.js';
import { openNodeMaps, readPinnedEndpoints, unhex, type NodeMaps } from './node-maps.js';
import type { BpfObjectPort, DatapathAddon } from './port.js';
import { attachConfig, isolatedConfig, updateConfig, type EndpointState } from './endpoint-state.js';
import { applyBandwidth, removeShapers } from './shapers.js';
import { ifbName, type Bandwidth, type ShapingPreference } from './shaping.js';
import type {
  AdoptedEndpoint, AttachRequest, AttachResult, CounterSample, DatapathApi, EventSubscription, LinkReport, LinkWatchHandle, UpdateRequest,
  UpdateResult,
} from './api.js';

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
  private readonly nodeAddresses: NodeAddresses;
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
    this.nodeAddresses = new NodeAddresses(opts.addon, opts.nodeNetnsPath ?? null);
    this.shapingPreference = opts.shaping ?? 'auto';
  }

  private nodeMaps(): NodeMaps {
    if (this.maps !== undefined) return this.maps;
    const { maps, layoutSwitch } = openNodeMaps(this.addon, this.objectPath, this.pinRoot);
    this.maps = maps;
    this.layoutSwitch = layoutSwitch;
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
    // The node's addresses decide every endpoint's node-opened flows (weir.bpf.c weir_judge);
    // refreshed at most every NODE_ADDRS_TTL_MS, here and on each link pass.
    await this.nodeAddresses.refresh(this.nodeMaps().nodeAddrs);
    const result = await this.stageEndpoint(req);
    const { tampered } = await enforceHooks(this.addon, this.nodeMaps().object, req.netnsPath, req.ifname, req.endpointId, true);
    return tampered.length > 0 ? { ...result, tampered } : result;
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
    await this.nodeAddresses.refresh(this.nodeMaps().nodeAddrs);
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
        if (v.foreignAddress === true && state.adoptedLinks.has(v.name)) {
          await this.releaseLink(ns, v.name, report);
          state.adoptedLinks.delete(v.name);
        }
        continue;
      }
      const r = await enforceHooks(this.addon, this.nodeMaps().object, ns, v.name, endpointId | ADOPTED_CLASSID_BIT, false);
      state.adoptedLinks.add(v.name);
      if (r.attached) report.attached.push(v.name);
      if (r.tampered.length > 0) report.tampered.push({ link: v.name, filters: r.tampered });
    }
    return report;
  }

  /** An adopted link found to be another network's: Weir's programs leave it (links.ts). */
  private async releaseLink(ns: string, link: string, report: LinkReport): Promise<void> {
    const failures: unknown[] = [];
    await detachHooks(this.addon, ns, link, failures);
    if (failures.length > 0) throw failures[0];
    (report.released ??= []).push(link);
  }

  watchLinks(netnsPath: string, onChange: (error?: Error) => void): Promise<LinkWatchHandle> {
    return this.addon.netlink.watchLinks(netnsPath, onChange);
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
      config: attachConfig(req, previous, diff.upserts.length + diff.deletes.length > 0, this.conntrackQuota),
    };
    this.endpoints.set(id, state);
    this.adoptedPolicy.delete(id);
    this.adoptedConfig.delete(id);
    if (written.error !== undefined) throw this.isolate(state, written.error);
    await this.applyBandwidth(state, req.bandwidth, false);

    // 3. endpoint config (the programs are attached by the caller, after this)
    m.endpoints.update(encodeEndpointId(id), encodeEndpointConfig(state.config));
    return { shapingMode: state.shaping };
  }

  /** A policy write that hit a full map isolates the endpoint (isolatedConfig). Returns the error to throw. */
  private isolate(state: EndpointState, cause: unknown): Error {
    state.config = isolatedConfig(state.config);
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
    const config = updateConfig(state.config, req, diff.upserts.length > 0 || diff.deletes.length > 0);
    if (config === undefined) return { added: 0, removed: 0, generation: state.config.generation };
    state.config = config;
    m.endpoints.update(encodeEndpointId(req.endpointId), encodeEndpointConfig(state.config));
    return { added: diff.upserts.length, removed: diff.deletes.length, generation: state.config.generation };
  }

  async setBandwidth(endpointId: number, bandwidth: Bandwidth | undefined): Promise<AttachResult> {
    const state = this.mustGet(endpointId);
    await this.applyBandwidth(state, bandwidth, true);
    return { shapingMode: state.shaping };
  }

  /** Shapers (shapers.ts); `writeConfig`: also write each config change to the endpoints map. */
  private applyBandwidth(state: EndpointState, bandwidth: Bandwidth | undefined, writeConfig: boolean): Promise<void> {
    const m = this.nodeMaps();
    return applyBandwidth(this.addon, this.shapingPreference, state, bandwidth, (c) => {
      if (writeConfig) m.endpoints.update(encodeEndpointId(state.endpointId), encodeEndpointConfig(c));
    });
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
      await detachHooks(this.addon, state.netnsPath, state.ifname, failures);
      for (const link of state.adoptedLinks) {
        // The plugin that added the link may have removed it already (its DEL runs before weir's).
        if (await this.addon.netlink.linkIndex(state.netnsPath, link).catch(() => undefined) === undefined) continue;
        await detachHooks(this.addon, state.netnsPath, link, failures);
      }
      await removeShapers(this.addon, state, failures);
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
    const pinned = readPinnedEndpoints(m);
    this.ipcache = pinned.ipcache;
    const out: AdoptedEndpoint[] = [];
    for (const [id, config] of pinned.configs) {
      const policy = pinned.policies.get(id) ?? new Map<string, string>();
      if (!this.endpoints.has(id)) {
        this.adoptedConfig.set(id, config);
        this.adoptedPolicy.set(id, policy);
      }
      out.push({ endpointId: id, generation: config.generation, policyEntries: policy.size, ingressShaped: config.ifbIfindex !== 0 });
    }
    // Policy slices without an endpoint config are leftovers of an interrupted detach.
    for (const [id, policy] of pinned.policies) {
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
