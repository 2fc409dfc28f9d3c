/**
 * Egress entries for Service ClusterIPs (services.ts): an egress rule matches traffic to
 * ClusterIP:port/protocol when it matches EVERY backend address the Service's EndpointSlices list
 * for that port, at the backend port the slice gives: peer selectors through the backend pod's
 * identity, ipBlocks through the backend address (excepts included), numeric ports against the
 * backend port, named ports through the backend pod's container ports. A port with no backends (or
 * unknown ones) is matched by no allow rule.
 *
 * Admin and baseline tiers also have Deny and Pass rules, and the datapath takes the strongest
 * entry, so the ClusterIP gets, at the rule's precedence:
 *   allow: an allow entry when the rule matches every backend;
 *   deny:  a deny entry when it matches any backend (or the backends are unknown);
 *   pass:  a pass entry when it matches every backend, a deny entry when only some (the passed
 *          backends' fate is decided by a lower tier this entry cannot speak for).
 * So the ClusterIP is allowed only when each backend would be allowed on its own: a deny or pass that
 * reaches any backend stops the ClusterIP before any weaker allow, and an allow speaks only for
 * backends it matches all of (docs/policy.md).
 *
 * An ipBlock that contains the ClusterIP itself (the Service CIDR) does not match it: the backends
 * decide, as on CNIs that judge egress after translation, so "the internet but not 10.0.0.0/8"
 * cannot reach pods in 10.0.0.0/8 through a ClusterIP outside it. A rule with no peer restriction
 * matches every ClusterIP through its ANY_IDENTITY entry at the rule's ports as written (the Service
 * port, before translation); that match is cancelled, per ClusterIP port whose backends the rule
 * does not all reach, by a deny entry: in the network tier one that allows from backends outrank
 * (NETWORK_SERVICE_ALLOW), in the admin tiers (a Pass of every peer) at the rule's precedence, which
 * fails closed (docs/policy.md).
 *
 * Only egress of the pod's default-network interface gets these entries: that is where kube-proxy
 * translates. Part of the policy compiler (compile.ts).
 */
import type { PolicyEntry, Protocol } from '../datapath/desired.js';
import { cidrContains, type Cidr } from '../../../common/src/ip.js';
import type { CompiledRule, Principal } from './compile-types.js';
import { PROTOCOL_NUMBER } from './emit.js';
import type { NamespaceScope, Peer } from './model.js';
import { portMatches } from './ports.js';
import type { Backend, Vip, VipPort } from './services.js';

/** What matching a backend needs from the compiler. */
export interface BackendView {
  /** The principal of the pod that holds this address; undefined for an address no pod holds. */
  principalAt(host: Cidr): Principal | undefined;
  /** Whether a pod peer (namespace scope and pod selector) selects this principal. */
  peerMatches(peer: Peer & { kind: 'pods' }, pr: Principal): boolean;
  /** The namespaces a pod peer's namespace scope covers. */
  namespacesOf(scope: NamespaceScope): Iterable<string>;
}

/** How many of a port's backends a rule matches. */
type Reach = 'all' | 'some' | 'none';

const inBlock = (block: { cidr: Cidr; except: readonly Cidr[] }, host: Cidr): boolean =>
  cidrContains(block.cidr, host) && !block.except.some((e) => cidrContains(e, host));

export class ServiceEmitter {
  /**
   * Per compiled rule (shared by every endpoint group it applies to): the entries it gives
   * ClusterIPs, at a ServiceTable generation. A group build copies these instead of judging every
   * ClusterIP of the cluster against every rule again (1,000 ClusterIPs × every rule of every group
   * was the cost: bench/compile-child.ts with SERVICES=1).
   */
  private readonly byRule = new WeakMap<CompiledRule, { generation: number; entries: PolicyEntry[] }>();
  /**
   * ClusterIPs by the namespaces of their backend pods, and those whose backends are unknown: a
   * rule whose peers are all pod selectors can only reach these (candidates below).
   */
  private index: CandidateIndex | undefined;

  constructor(private readonly view: BackendView) {}

  /** Entries of every egress rule in `rules` for every ClusterIP of the table (a group is built). */
  emitGroup(out: PolicyEntry[], rules: readonly CompiledRule[], table: { generation: number; vips(): Iterable<Vip> }): void {
    for (const r of rules) {
      let cached = this.byRule.get(r);
      if (cached === undefined || cached.generation !== table.generation) {
        cached = { generation: table.generation, entries: [] };
        if (!coveredByAny(r)) for (const v of this.candidates(r, table)) this.emitBackends(cached.entries, r, v);
        this.byRule.set(r, cached);
      }
      // Copies: groups fold and patch their own entry arrays.
      for (const e of cached.entries) out.push({ ...e });
    }
  }

  /**
   * The ClusterIPs a rule may give entries to: it reaches a ClusterIP only through a backend its
   * peers match (a pod its selectors select, an address inside its ipBlocks), or when the backends
   * are unknown (a deny must reach those).
   * Rules with a peer of every address judge them all.
   */
  private candidates(r: CompiledRule, table: { generation: number; vips(): Iterable<Vip> }): Iterable<Vip> {
    if (r.spec === 'all' || r.spec.some((p) => p.kind === 'all')) return table.vips();
    if (this.index?.generation !== table.generation) this.index = buildIndex(table, this.view);
    const index = this.index;
    const out = new Set<Vip>(index.unknown);
    for (const peer of r.spec) {
      if (peer.kind === 'pods') {
        for (const ns of this.view.namespacesOf(peer.namespaces)) for (const v of index.byNamespace.get(ns) ?? []) out.add(v);
      } else if (peer.kind === 'ipBlock') {
        inRange(index.backends, peer.block.cidr, out);
      }
    }
    return out;
  }

  /** Entries of every egress rule in `rules` for these ClusterIPs (they changed: compile.ts patches them in). */
  emitFor(out: PolicyEntry[], rules: readonly CompiledRule[], vips: readonly Vip[]): void {
    for (const r of rules) if (!coveredByAny(r)) for (const v of vips) this.emitBackends(out, r, v);
  }

  private emitBackends(out: PolicyEntry[], r: CompiledRule, v: Vip): void {
    for (const p of v.ports) {
      const m = this.reach(r, p);
      const verdict = r.verdict === 'allow' ? (m === 'all' ? 'allow' : undefined)
        : r.verdict === 'deny' ? (m === 'none' ? undefined : 'deny')
          : m === 'all' ? 'pass' : m === 'some' ? 'deny' : undefined;
      if (verdict !== undefined) {
        // Network tier: above the cancel entries below, so a rule that allows every backend wins over them.
        push(out, r, v.id, verdict, p.protocol, p.port, 16, r.tier === 'network' ? NETWORK_SERVICE_ALLOW : r.precedence);
      } else if (r.verdict !== 'deny' && r.peers === undefined && r.ports.some((pt) => (pt.protocol === 0 || pt.protocol === p.protocol) && portMatches(pt, p.port))) {
        // A rule without peers matches this ClusterIP:port through its ANY_IDENTITY entry, at the
        // Service port as written, though it does not reach every backend at its backend port. That
        // match is cancelled by a deny of this ClusterIP:port: in the network tier at precedence 0
        // (the datapath honours a deny there, bpf/include/policy.h), which any rule allowing every
        // backend outranks; in the admin tiers (a Pass) at the rule's own precedence, which fails
        // closed where the backends would have gone on to lower rules.
        push(out, r, v.id, 'deny', p.protocol, p.port, 16, r.tier === 'network' ? 0 : r.precedence);
      }
    }
  }

  private reach(r: CompiledRule, p: VipPort): Reach {
    // Unknown backends: an allow must not match, a deny must (fail closed either way).
    if (p.backends === undefined) return 'some';
    // Stop as soon as the verdict is known: an allow needs all, a deny any, a pass tells all from some.
    let hit = false;
    let miss = false;
    for (const b of p.backends) {
      if (this.matches(r, b, p.protocol)) hit = true;
      else miss = true;
      if ((r.verdict === 'allow' && miss) || (r.verdict === 'deny' && hit) || (hit && miss)) break;
    }
    return !hit ? 'none' : miss ? 'some' : 'all';
  }

  /** Whether the rule matches traffic to one backend address at its backend port. */
  private matches(r: CompiledRule, b: Backend, protocol: Protocol): boolean {
    const pr = this.view.principalAt(b.host);
    const portOk = r.ports.some((pt) => (pt.protocol === 0 || pt.protocol === protocol) && portMatches(pt, b.port))
      || r.named.some((n) => pr?.namedPorts.some((cp) =>
        cp.name === n.name && (n.protocol === undefined || n.protocol === cp.protocol) && PROTOCOL_NUMBER[cp.protocol] === protocol && cp.port === b.port) === true);
    if (!portOk) return false;
    if (r.spec === 'all') return true;
    return r.spec.some((peer) => {
      switch (peer.kind) {
        case 'all':
          return true;
        case 'none':
          return false;
        case 'pods':
          return pr !== undefined && this.view.peerMatches(peer, pr);
        case 'ipBlock':
          return inBlock(peer.block, b.host);
        default: {
          const never: never = peer;
          throw new Error(`unknown peer ${String(never)}`);
        }
      }
    });
  }
}

/** A rule with any peer and any port already matches every ClusterIP through its ANY_IDENTITY entry. */
function coveredByAny(r: CompiledRule): boolean {
  return r.peers === undefined && r.ports.some((pt) => pt.protocol === 0 && pt.prefixLength === 0);
}

/**
 * NetworkPolicy entries all have precedence 0; a ClusterIP allow from backends has 1, so it beats the
 * deny that cancels a peerless rule's ANY_IDENTITY match (same tier, deny beats allow only at equal
 * precedence).
 */
const NETWORK_SERVICE_ALLOW = 1;

function push(
  out: PolicyEntry[], r: CompiledRule, identity: number, verdict: PolicyEntry['verdict'], protocol: Protocol, port: number, prefixLength: number, precedence: number,
): void {
  const e: PolicyEntry = { tier: r.tier, direction: 'egress', identity, protocol, port, portPrefixLength: prefixLength, verdict, precedence, ruleId: r.ruleId };
  if (r.audit === true) e.audit = 'rule';
  out.push(e);
}

/** Where each ClusterIP can be reached from, rebuilt once per ServiceTable generation. */
interface CandidateIndex {
  generation: number;
  /** Namespace of a backend pod → ClusterIPs listing it. */
  byNamespace: Map<string, Vip[]>;
  /** Backend addresses, sorted by family then address, for CIDR range scans. */
  backends: Array<{ family: number; addr: bigint; vip: Vip }>;
  unknown: Vip[];
}

function buildIndex(table: { generation: number; vips(): Iterable<Vip> }, view: BackendView): CandidateIndex {
  const index: CandidateIndex = { generation: table.generation, byNamespace: new Map(), backends: [], unknown: [] };
  for (const v of table.vips()) {
    const seen = new Set<string>();
    for (const p of v.ports) {
      if (p.backends === undefined) {
        if (!index.unknown.includes(v)) index.unknown.push(v);
        continue;
      }
      for (const b of p.backends) {
        index.backends.push({ family: b.host.family, addr: b.host.addr, vip: v });
        const ns = view.principalAt(b.host)?.namespace;
        if (ns === undefined || seen.has(ns)) continue;
        seen.add(ns);
        let list = index.byNamespace.get(ns);
        if (list === undefined) index.byNamespace.set(ns, (list = []));
        list.push(v);
      }
    }
  }
  const order = (a: { family: number; addr: bigint }, b: { family: number; addr: bigint }): number =>
    a.family !== b.family ? a.family - b.family : a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0;
  index.backends.sort(order);
  return index;
}

/** Adds the ClusterIPs of every entry whose address lies inside `cidr` (binary search, then a scan). */
function inRange(sorted: CandidateIndex['backends'], cidr: Cidr, out: Set<Vip>): void {
  const bits = cidr.family === 4 ? 32 : 128;
  const last = cidr.addr | ((1n << BigInt(bits - cidr.prefix)) - 1n);
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = sorted[mid];
    if (e !== undefined && (e.family < cidr.family || (e.family === cidr.family && e.addr < cidr.addr))) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < sorted.length; i++) {
    const e = sorted[i];
    if (e === undefined || e.family !== cidr.family || e.addr > last) break;
    out.add(e.vip);
  }
}
