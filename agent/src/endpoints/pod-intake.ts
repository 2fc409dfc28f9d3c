/**
 * Pods as the policy compiler sees them, assembled only from what a tenant cannot write:
 *
 * - the API object (labels, ports, node, phase) and kubelet's status.podIPs (agent/src/policy/model.ts);
 * - the interfaces the agents bound at CNI ADD: this agent's own bindings for pods it attached, and
 *   the WeirEndpoints other agents published (agent/src/endpoints/weirendpoint.ts);
 * - the default interface from the webhook's intent, trusted in opted-in namespaces only
 *   (agent/src/endpoints/intent.ts);
 * - secondary addresses from Multus's network-status under agent/src/identity/secondary.ts's rules.
 *
 * Who owns a contested address is agent/src/identity/bindings.ts's decision; a change there can
 * move an address between pods, so every pod whose addresses changed is handed to the sink again.
 */
import { INJECT_ENABLED, INJECT_LABEL } from '../../../common/src/annotations.js';
import { annotationsOf, isRecord, metaOf } from '../../../common/src/records.js';
import { IpBindings, type Claim, type Conflict } from '../identity/bindings.js';
import { nadRange, type NadRange } from '../identity/nad-ranges.js';
import { secondaryAddresses } from '../identity/secondary.js';
import type { PodEventSink } from '../events.js';
import { parsePod, type FieldError, type Pod, type PodInterface } from '../policy/model.js';
import { defaultInterfaceOf, podIntentView, type PodIntentView } from './intent.js';
import { MAX_IPS_PER_INTERFACE, parseWeirEndpoint, type BoundInterface, type WeirEndpoint } from './weirendpoint.js';

/** Every address a pod may hold, all sources together. */
export const MAX_IPS_PER_POD = 32;

export interface PodEntry {
  /** What the compiler gets. */
  pod: Pod;
  uid: string;
  view: PodIntentView;
}

export interface IntakeOptions {
  /** Receives every pod whose compiled form changed, and every pod that went away. */
  sink: { upsertPod(pod: Pod): void; removePod(namespace: string, name: string): void };
  log: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
  events?: PodEventSink;
  /** Events are recorded only for pods on this node (one agent speaks for each pod); all when unset. */
  node?: string;
  /** Called once per newly seen malformed intent (metric). */
  onMalformedIntent?: () => void;
}

interface PodRecord {
  base: Pod;
  uid: string;
  startMs: number;
  annotations: Record<string, string>;
  view: PodIntentView;
  /** Interface → NAD of the network-status addresses this pod was allowed. */
  secondaryNets: Map<string, string>;
}

const keyOf = (ns: string, name: string): string => `${ns}/${name}`;

export class PodIntake {
  private readonly records = new Map<string, PodRecord>();
  private readonly finals = new Map<string, Pod>();
  private readonly optedIn = new Set<string>();
  private readonly published = new Map<string, WeirEndpoint>();
  private readonly local = new Map<string, Map<string, BoundInterface>>();
  private readonly nadRanges = new Map<string, NadRange>();
  private readonly bindings = new IpBindings();
  /** uid → topic → last message, so an Event is recorded once per pod incarnation and change. */
  private readonly reported = new Map<string, Map<string, string>>();
  malformedIntents = 0;

  constructor(private readonly o: IntakeOptions) {}

  get size(): number {
    return this.records.size;
  }

  entry(key: string): PodEntry | undefined {
    const rec = this.records.get(key);
    const pod = this.finals.get(key);
    return rec === undefined || pod === undefined ? undefined : { pod, uid: rec.uid, view: rec.view };
  }

  ownerOf(ip: string): string | undefined {
    return this.bindings.ownerOf(ip);
  }

  // ---------------------------------------------------------------- inputs

  upsertNamespace(object: unknown): void {
    const name = metaOf(object).name;
    const meta = isRecord(object) && isRecord(object['metadata']) ? object['metadata'] : {};
    const labels = isRecord(meta['labels']) ? meta['labels'] : {};
    this.setOptIn(name, labels[INJECT_LABEL] === INJECT_ENABLED);
  }

  removeNamespace(name: string): void {
    this.setOptIn(name, false);
  }

  /** undefined when the pod was taken; else why it does not parse. */
  upsertPod(object: unknown): FieldError[] | undefined {
    const parsed = parsePod(object);
    if (!parsed.ok) return parsed.errors;
    const m = metaOf(object);
    const key = keyOf(m.namespace, m.name);
    const previous = this.records.get(key);
    if (previous !== undefined && previous.uid !== m.uid) this.local.delete(key);
    const annotations = annotationsOf(object);
    const rec: PodRecord = {
      base: parsed.value, uid: m.uid, startMs: startOf(object), annotations,
      view: podIntentView(annotations, m.namespace, this.optedIn.has(m.namespace)), secondaryNets: new Map(),
    };
    this.records.set(key, rec);
    this.reportView(key, rec);
    this.rebind(key);
    return undefined;
  }

  removePod(namespace: string, name: string, uid: string): boolean {
    const key = keyOf(namespace, name);
    const rec = this.records.get(key);
    if (rec === undefined || (uid !== '' && rec.uid !== uid)) return false;
    this.records.delete(key);
    this.reported.delete(rec.uid);
    this.finals.delete(key);
    this.local.delete(key);
    this.o.sink.removePod(namespace, name);
    this.apply(this.bindings.remove(key).changed, key);
    return true;
  }

  /** A WeirEndpoint from the API. One that does not parse binds nothing. */
  upsertEndpoint(object: unknown): FieldError[] | undefined {
    const parsed = parseWeirEndpoint(object);
    const m = metaOf(object);
    const key = keyOf(m.namespace, m.name);
    if (!parsed.ok) {
      if (this.published.delete(key)) this.rebind(key);
      return parsed.errors;
    }
    this.published.set(key, parsed.value);
    this.rebind(key);
    return undefined;
  }

  removeEndpoint(object: unknown): void {
    const m = metaOf(object);
    const key = keyOf(m.namespace, m.name);
    if (this.published.delete(key)) this.rebind(key);
  }

  upsertNad(object: unknown): void {
    const r = nadRange(object);
    if (r === undefined) return;
    this.nadRanges.set(r.key, r.range);
    this.rebindSecondaries();
  }

  removeNad(object: unknown): void {
    const m = metaOf(object);
    if (this.nadRanges.delete(keyOf(m.namespace, m.name))) this.rebindSecondaries();
  }

  /** This agent ran CNI ADD for `iface` of the pod: its binding is the truth from now on. */
  bindLocal(key: string, iface: BoundInterface): void {
    this.own(key).set(iface.name, { ...iface, ips: iface.ips.slice(0, MAX_IPS_PER_INTERFACE) });
    this.rebind(key);
  }

  /** CNI DEL (or a detach) of one interface this agent attached. */
  unbindLocal(key: string, ifName: string): void {
    this.own(key).delete(ifName);
    this.rebind(key);
  }

  /** This agent's bindings of a pod, seeded from its WeirEndpoint (published before a restart). */
  private own(key: string): Map<string, BoundInterface> {
    let m = this.local.get(key);
    if (m === undefined) {
      m = new Map(this.trustedInterfaces(key).map((i) => [i.name, i]));
      this.local.set(key, m);
    }
    return m;
  }

  /**
   * The interfaces a trusted source binds for the pod: this agent's own once it has attached or
   * detached one, else the WeirEndpoint of the pod's current incarnation on the pod's node.
   */
  trustedInterfaces(key: string): BoundInterface[] {
    const own = this.local.get(key);
    if (own !== undefined) return [...own.values()];
    const rec = this.records.get(key);
    const ep = this.published.get(key);
    if (rec === undefined || ep === undefined || ep.podUid !== rec.uid) return [];
    if (rec.base.nodeName !== undefined && ep.node !== rec.base.nodeName) return [];
    return ep.interfaces;
  }

  // ---------------------------------------------------------------- assembly

  private setOptIn(namespace: string, on: boolean): void {
    if (this.optedIn.has(namespace) === on) return;
    if (on) this.optedIn.add(namespace);
    else this.optedIn.delete(namespace);
    for (const [key, rec] of this.records) {
      if (rec.base.namespace !== namespace) continue;
      rec.view = podIntentView(rec.annotations, namespace, on);
      this.reportView(key, rec);
      this.rebind(key);
    }
  }

  private rebindSecondaries(): void {
    for (const key of this.records.keys()) this.rebind(key);
  }

  private rebind(key: string): void {
    const rec = this.records.get(key);
    if (rec === undefined) return;
    const claims: Claim[] = [];
    rec.secondaryNets = new Map();
    if (!rec.base.hostNetwork && !rec.base.terminal) {
      const defaultIf = defaultInterfaceOf(rec.view);
      const trusted = this.trustedInterfaces(key);
      for (const i of trusted) for (const ip of i.ips) claims.push({ ip, iface: i.name, source: 'endpoint', atMs: i.attachedAtMs });
      for (const ip of rec.base.interfaces[0]?.ips ?? []) claims.push({ ip, iface: defaultIf, source: 'podIPs', atMs: rec.startMs });
      const secondary = secondaryAddresses(rec.annotations, {
        boundInterfaces: new Set([defaultIf, ...trusted.map((i) => i.name)]),
        rangeOf: (nad) => this.nadRanges.get(nad),
      });
      if (secondary.ignored.length > 0) this.o.log.debug({ pod: key, ignored: secondary.ignored }, 'network-status addresses not bound');
      for (const a of secondary.addresses) {
        claims.push({ ip: a.ip, iface: a.iface, source: 'network-status', atMs: 0 });
        rec.secondaryNets.set(a.iface, a.network);
      }
    }
    const change = this.bindings.set(key, claims.slice(0, MAX_IPS_PER_POD));
    this.reportConflicts(change.conflicts);
    this.apply(change.changed, key);
  }

  /** Rebuilds and hands over every changed pod (and always `subject`). */
  private apply(changed: Set<string>, subject: string): void {
    for (const key of new Set([subject, ...changed])) {
      const rec = this.records.get(key);
      if (rec === undefined) continue;
      const pod = this.assemble(key, rec);
      this.finals.set(key, pod);
      this.o.sink.upsertPod(pod);
    }
  }

  private assemble(key: string, rec: PodRecord): Pod {
    const defaultIf = defaultInterfaceOf(rec.view);
    const byName = new Map<string, PodInterface>([[defaultIf, { name: defaultIf, network: undefined, ips: [] }]]);
    for (const i of this.trustedInterfaces(key)) {
      if (byName.has(i.name)) continue;
      byName.set(i.name, { name: i.name, network: i.isDefault ? undefined : i.network ?? `unknown/${i.name}`, ips: [] });
    }
    for (const c of this.bindings.owned(key)) {
      let iface = byName.get(c.iface);
      if (iface === undefined) byName.set(c.iface, (iface = { name: c.iface, network: rec.secondaryNets.get(c.iface) ?? `unknown/${c.iface}`, ips: [] }));
      iface.ips.push(c.ip);
    }
    return { ...rec.base, defaultInterface: defaultIf, interfaces: [...byName.values()] };
  }

  // ---------------------------------------------------------------- reports

  /** One Event per pod incarnation and topic, again only when the message changes. */
  private warnOnce(key: string, uid: string, reason: string, message: string, topic = reason): void {
    if (!this.speaksFor(key)) return;
    let seen = this.reported.get(uid);
    if (seen === undefined) this.reported.set(uid, (seen = new Map<string, string>()));
    if (seen.get(topic) === message) return;
    seen.set(topic, message);
    const [namespace = '', name = ''] = key.split('/');
    this.o.log.warn({ pod: key, reason }, message);
    this.o.events?.warning({ namespace, name, uid }, reason, message);
  }

  private speaksFor(key: string): boolean {
    return this.o.node === undefined || this.records.get(key)?.base.nodeName === this.o.node;
  }

  private reportView(key: string, rec: PodRecord): void {
    const v = rec.view;
    if (!this.speaksFor(key)) return;
    if (v.kind === 'malformed') {
      if (this.reported.get(rec.uid)?.get('WeirMalformedIntent') === undefined) {
        this.malformedIntents++;
        this.o.onMalformedIntent?.();
      }
      this.warnOnce(key, rec.uid, 'WeirMalformedIntent',
        `weir.dev/intent is malformed (${v.errors.join('; ')}); every interface the weir plugin is called for is enforced, bandwidth comes from the kubernetes.io annotations`);
    } else if (v.kind === 'untrusted' && v.intentIgnored) {
      this.warnOnce(key, rec.uid, 'WeirIntentIgnored',
        `weir.dev/intent is ignored: namespace ${rec.base.namespace} is not labelled weir.dev/inject=enabled, so the webhook did not write it; every interface the weir plugin is called for is enforced and no bandwidth is applied`);
    }
  }

  private reportConflicts(conflicts: readonly Conflict[]): void {
    for (const c of conflicts) {
      const message = `IP ${c.ip} is bound to ${[c.winner, ...c.losers].join(' and ')}; the newest CNI ADD (${c.winner}) keeps its identity`;
      for (const pod of [c.winner, ...c.losers]) {
        const uid = this.records.get(pod)?.uid;
        if (uid !== undefined) this.warnOnce(pod, uid, 'WeirIpConflict', message, `conflict ${c.ip}`);
      }
    }
  }
}

/** When the pod's current bindings began: kubelet's startTime, else its creation. */
function startOf(object: unknown): number {
  const o = isRecord(object) ? object : {};
  const status = isRecord(o['status']) ? o['status'] : {};
  const meta = isRecord(o['metadata']) ? o['metadata'] : {};
  for (const v of [status['startTime'], meta['creationTimestamp']]) {
    const t = typeof v === 'string' ? Date.parse(v) : NaN;
    if (Number.isFinite(t)) return t;
  }
  return 0;
}
