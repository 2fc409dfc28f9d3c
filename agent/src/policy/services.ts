/**
 * Service ClusterIPs for egress policy. Weir's programs sit on the pod's own interface, so an egress
 * packet to a Service still carries its ClusterIP there; kube-proxy translates it to one backend
 * later, on the host. Each ClusterIP therefore gets an identity of its own in the ipcache (no
 * namespace class: a class or CLUSTER_IDENTITY entry never matches it), and service-emit.ts gives it
 * entries from the egress rules that allow EVERY address the Service's EndpointSlices list, at the
 * port each slice gives (docs/policy.md, "Traffic to a Service ClusterIP").
 *
 * Why this is safe when tenants are hostile: anyone who can create a Service can write a
 * selectorless one and its own EndpointSlice listing any address. kube-proxy sends ClusterIP traffic
 * only to the addresses listed in the Service's slices, so allowing the ClusterIP exactly when every
 * listed address (ready or not, terminating or not) is allowed at its backend port grants nothing the
 * rule does not already grant for those addresses themselves (service-emit.ts cancels the
 * ANY_IDENTITY match a peerless rule with ports has on a ClusterIP). A slice that does not parse
 * makes its Service's backends unknown, which no allow rule matches (fail closed).
 *
 * This table holds the Services and slices, the ClusterIP identities (allocated from the compiler's
 * allocator, so they never collide with pod or CIDR identities) and, per ClusterIP and Service port,
 * the backends. Part of the policy compiler (compile.ts).
 */
import type { Protocol } from '../datapath/desired.js';
import type { IdentityAllocator } from '../identity/allocator.js';
import type { Cidr } from '../../../common/src/ip.js';
import { PROTOCOL_NUMBER } from './emit.js';
import type { EndpointSlice, Service } from './service-model.js';

export interface Backend {
  host: Cidr;
  /** The port the slice gives for the Service port (its resolved targetPort). */
  port: number;
}

export interface VipPort {
  protocol: Protocol;
  /** The Service port (what the packet carries before translation). */
  port: number;
  /** undefined: unknown (a slice of the Service does not parse), which no allow rule matches. */
  backends: Backend[] | undefined;
}

export interface Vip {
  /** Allocator key; also the owner-independent name of the ipcache claim. */
  key: string;
  id: number;
  cidr: Cidr;
  /** "namespace/name" of the Service. */
  service: string;
  /** The ipcache claim's owner: sorts before every pod name, so a ClusterIP wins its address. */
  owner: string;
  ports: VipPort[];
}

/** What one mutation did to the ClusterIP identities: the compiler re-claims and re-emits these. */
export interface ServiceDelta {
  added: Vip[];
  removed: Vip[];
  /** Same identity, new ports or backends (or a backend pod changed). */
  changed: Vip[];
}

const key = (ns: string, name: string): string => `${ns}/${name}`;
const empty = (): ServiceDelta => ({ added: [], removed: [], changed: [] });

export class ServiceTable {
  private readonly services = new Map<string, Service>();
  private readonly slices = new Map<string, EndpointSlice>();
  /** Slices that do not parse, by slice key → the Service they name. */
  private readonly broken = new Map<string, string>();
  private readonly slicesByService = new Map<string, Set<string>>();
  private readonly vipsByService = new Map<string, Vip[]>();
  private readonly byId = new Map<number, Vip>();
  /** Backend address (canonical) → ClusterIPs that list it. */
  private readonly byBackend = new Map<string, Set<Vip>>();
  /** Changes with every ClusterIP that appears, goes or changes, or a backend pod (service-emit.ts caches per rule on it). */
  generation = 0;

  constructor(private readonly allocator: IdentityAllocator) {}

  /** Every ClusterIP identity. */
  vips(): Iterable<Vip> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }

  byNumber(id: number): Vip | undefined {
    return this.byId.get(id);
  }

  byKey(k: string): Vip | undefined {
    const [svc] = k.slice(2).split('|');
    return this.vipsByService.get(svc ?? '')?.find((v) => v.key === k);
  }

  /** Services and slices as ClusterState carries them (compile.ts snapshotState). */
  snapshot(): { services: Service[]; endpointSlices: EndpointSlice[] } {
    return { services: [...this.services.values()], endpointSlices: [...this.slices.values()] };
  }

  upsertService(s: Service): ServiceDelta {
    const k = key(s.namespace, s.name);
    this.services.set(k, s);
    return this.refresh(k);
  }

  removeService(namespace: string, name: string): ServiceDelta {
    const k = key(namespace, name);
    if (!this.services.delete(k)) return empty();
    return this.refresh(k);
  }

  upsertSlice(sl: EndpointSlice): ServiceDelta {
    const k = key(sl.namespace, sl.name);
    const before = this.detach(k);
    this.slices.set(k, sl);
    return this.attach(k, key(sl.namespace, sl.service), before);
  }

  /** A slice that does not parse: its Service (if it names one) has unknown backends until it does. */
  brokenSlice(namespace: string, name: string, service: string): ServiceDelta {
    const k = key(namespace, name);
    const before = this.detach(k);
    this.broken.set(k, key(namespace, service));
    return this.attach(k, key(namespace, service), before);
  }

  removeSlice(namespace: string, name: string): ServiceDelta {
    const before = this.detach(key(namespace, name));
    return before === undefined ? empty() : this.refresh(before);
  }

  /**
   * Replaces the Services and parsed slices; identities of ClusterIPs present before and after keep
   * their ids. Slices that do not parse are no part of a cluster state, so they stay (the compiler
   * reloads from its own snapshot, and their Services must stay unknown: fail closed).
   */
  replace(services: readonly Service[], slices: readonly EndpointSlice[]): ServiceDelta {
    const old = [...this.byId.values()];
    // Hold the old keys while the new generation acquires them, so surviving ids stay.
    for (const v of old) this.allocator.acquire(v.key);
    const out = empty();
    for (const k of [...this.services.keys()]) merge(out, this.removeService(...split(k)));
    for (const k of [...this.slices.keys()]) this.detach(k);
    for (const sl of slices) {
      const k = key(sl.namespace, sl.name);
      this.detach(k);
      this.slices.set(k, sl);
      this.link(k, key(sl.namespace, sl.service));
    }
    for (const s of services) merge(out, this.upsertService(s));
    for (const v of old) this.allocator.release(v.key);
    return out;
  }

  /** ClusterIPs that list one of these backend addresses (a pod there changed). */
  touchBackends(hosts: readonly string[]): Vip[] {
    const out = new Set<Vip>();
    for (const h of hosts) for (const v of this.byBackend.get(h) ?? []) out.add(v);
    if (out.size > 0) this.generation++;
    return [...out];
  }

  describe(id: number): string | undefined {
    const v = this.byId.get(id);
    return v === undefined ? undefined : `Service ${v.service} (ClusterIP ${v.cidr.canonical.replace(/\/\d+$/, '')})`;
  }

  // ---------------------------------------------------------------- internals

  private link(sliceKey: string, svc: string): void {
    let s = this.slicesByService.get(svc);
    if (s === undefined) this.slicesByService.set(svc, (s = new Set()));
    s.add(sliceKey);
  }

  /** Forgets a slice (parsed or broken); returns the Service it belonged to. */
  private detach(sliceKey: string): string | undefined {
    const sl = this.slices.get(sliceKey);
    const svc = sl !== undefined ? key(sl.namespace, sl.service) : this.broken.get(sliceKey);
    this.slices.delete(sliceKey);
    this.broken.delete(sliceKey);
    if (svc !== undefined) this.slicesByService.get(svc)?.delete(sliceKey);
    return svc;
  }

  private attach(sliceKey: string, svc: string, before: string | undefined): ServiceDelta {
    this.link(sliceKey, svc);
    const out = this.refresh(svc);
    if (before !== undefined && before !== svc) merge(out, this.refresh(before));
    return out;
  }

  /** Recomputes one Service's ClusterIPs and their backends. */
  private refresh(svc: string): ServiceDelta {
    const out = empty();
    const s = this.services.get(svc);
    const old = this.vipsByService.get(svc) ?? [];
    const next: Vip[] = [];
    for (const cidr of s?.clusterIPs ?? []) {
      const k = `v:${svc}|${cidr.canonical}`;
      const ports = s === undefined ? [] : this.portsOf(svc, s, cidr.family);
      const cur = old.find((v) => v.key === k);
      if (cur !== undefined && samePorts(cur.ports, ports)) {
        // An unchanged resync (a relist, an update of other fields) changes nothing.
        next.push(cur);
      } else if (cur !== undefined) {
        this.unindex(cur);
        cur.ports = ports;
        out.changed.push(cur);
        next.push(cur);
      } else {
        const v: Vip = { key: k, id: this.allocator.acquire(k), cidr, service: svc, owner: `\u0001${svc}`, ports };
        this.byId.set(v.id, v);
        out.added.push(v);
        next.push(v);
      }
    }
    for (const v of old) {
      if (next.includes(v)) continue;
      this.unindex(v);
      this.byId.delete(v.id);
      this.allocator.release(v.key);
      out.removed.push(v);
    }
    for (const v of [...out.added, ...out.changed]) this.index(v);
    if (out.added.length + out.changed.length + out.removed.length > 0) this.generation++;
    if (next.length > 0) this.vipsByService.set(svc, next);
    else this.vipsByService.delete(svc);
    if (s === undefined && (this.slicesByService.get(svc)?.size ?? 0) === 0) this.slicesByService.delete(svc);
    return out;
  }

  /**
   * Per Service port, the backends kube-proxy may pick for a ClusterIP of this family: every
   * address of every slice of that family whose port of the same name has a number.
   */
  private portsOf(svc: string, s: Service, family: 4 | 6): VipPort[] {
    const sliceKeys = [...(this.slicesByService.get(svc) ?? [])];
    const unknown = sliceKeys.some((k) => this.broken.has(k));
    return s.ports.map((sp) => {
      const vp: VipPort = { protocol: PROTOCOL_NUMBER[sp.protocol], port: sp.port, backends: undefined };
      if (unknown) return vp;
      const backends: Backend[] = [];
      for (const k of sliceKeys) {
        const sl = this.slices.get(k);
        if (sl === undefined || sl.addressType !== (family === 4 ? 'IPv4' : 'IPv6')) continue;
        const port = sl.ports.find((p) => p.name === sp.name)?.port;
        if (port === undefined) continue;
        for (const host of sl.addresses) backends.push({ host, port });
      }
      vp.backends = backends;
      return vp;
    });
  }

  private index(v: Vip): void {
    for (const p of v.ports) {
      for (const b of p.backends ?? []) {
        let s = this.byBackend.get(b.host.canonical);
        if (s === undefined) this.byBackend.set(b.host.canonical, (s = new Set()));
        s.add(v);
      }
    }
  }

  private unindex(v: Vip): void {
    for (const p of v.ports) {
      for (const b of p.backends ?? []) {
        const s = this.byBackend.get(b.host.canonical);
        s?.delete(v);
        if (s?.size === 0) this.byBackend.delete(b.host.canonical);
      }
    }
  }
}

function samePorts(a: readonly VipPort[], b: readonly VipPort[]): boolean {
  return a.length === b.length && a.every((p, i) => {
    const q = b[i];
    if (q === undefined || p.protocol !== q.protocol || p.port !== q.port) return false;
    if (p.backends === undefined || q.backends === undefined) return p.backends === q.backends;
    const qb = q.backends;
    return p.backends.length === qb.length && p.backends.every((x, j) => {
      const y = qb[j];
      return y !== undefined && x.port === y.port && x.host.canonical === y.host.canonical;
    });
  });
}

function split(k: string): [string, string] {
  const i = k.indexOf('/');
  return [k.slice(0, i), k.slice(i + 1)];
}

function merge(into: ServiceDelta, d: ServiceDelta): void {
  into.added.push(...d.added);
  into.removed.push(...d.removed);
  into.changed.push(...d.changed);
}
