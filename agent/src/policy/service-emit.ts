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
 * Two cases keep their meaning from before ClusterIPs had identities: a rule whose ipBlock contains
 * the ClusterIP itself matches it at the rule's own ports (the address as the packet carries it),
 * and a rule with no peer restriction matches it through its ANY_IDENTITY entries.
 *
 * Only egress of the pod's default-network interface gets these entries: that is where kube-proxy
 * translates. Part of the policy compiler (compile.ts).
 */
import type { PolicyEntry, Protocol } from '../datapath/desired.js';
import { cidrContains, type Cidr } from '../identity/cidr.js';
import type { CompiledRule, Principal } from './compile-types.js';
import { PROTOCOL_NUMBER } from './emit.js';
import type { Peer } from './model.js';
import { portMatches } from './ports.js';
import type { Backend, Vip } from './services.js';

/** What matching a backend needs from the compiler. */
export interface BackendView {
  /** The principal of the pod that holds this address; undefined for an address no pod holds. */
  principalAt(host: Cidr): Principal | undefined;
  /** Whether a pod peer (namespace scope and pod selector) selects this principal. */
  peerMatches(peer: Peer & { kind: 'pods' }, pr: Principal): boolean;
}

/** How many of a port's backends a rule matches. */
type Reach = 'all' | 'some' | 'none';

const inBlock = (block: { cidr: Cidr; except: readonly Cidr[] }, host: Cidr): boolean =>
  cidrContains(block.cidr, host) && !block.except.some((e) => cidrContains(e, host));

export class ServiceEmitter {
  /** Per compiled rule (shared by every endpoint it applies to) and ClusterIP: the reach per port, at a Vip.version. */
  private readonly cache = new WeakMap<CompiledRule, Map<Vip, { version: number; reach: Reach[] }>>();
  /**
   * Per compiled rule: the ClusterIPs it gives entries to, at a ServiceTable generation. A group
   * build then walks these, not every ClusterIP of the cluster (10,000 ClusterIPs × every rule of
   * every endpoint group was the cost: bench/compile.ts with SERVICES).
   */
  private readonly hits = new WeakMap<CompiledRule, { generation: number; vips: Vip[] }>();

  constructor(private readonly view: BackendView) {}

  /** Entries of every egress rule in `rules` for every ClusterIP of the table (a group is built). */
  emitGroup(out: PolicyEntry[], rules: readonly CompiledRule[], table: { generation: number; vips(): Iterable<Vip> }): void {
    for (const r of rules) {
      let h = this.hits.get(r);
      if (h === undefined || h.generation !== table.generation) {
        h = { generation: table.generation, vips: [] };
        for (const v of table.vips()) if (this.emitOne([], r, v)) h.vips.push(v);
        this.hits.set(r, h);
      }
      for (const v of h.vips) this.emitOne(out, r, v);
    }
  }

  /** Entries of every egress rule in `rules` for these ClusterIPs (they changed: compile.ts patches them in). */
  emitFor(out: PolicyEntry[], rules: readonly CompiledRule[], vips: readonly Vip[]): void {
    for (const r of rules) for (const v of vips) this.emitOne(out, r, v);
  }

  /** One rule's entries for one ClusterIP; whether there were any. */
  private emitOne(out: PolicyEntry[], r: CompiledRule, v: Vip): boolean {
    const before = out.length;
    if (hasBlocks(r)) this.emitDirect(out, r, v);
    if (!coveredByAny(r)) this.emitBackends(out, r, v);
    return out.length > before;
  }

  /** A rule's ipBlock that contains the ClusterIP itself: the rule's own ports, as for any address in it. */
  private emitDirect(out: PolicyEntry[], r: CompiledRule, v: Vip): void {
    if (r.spec === 'all' || !r.spec.some((p) => p.kind === 'ipBlock' && inBlock(p.block, v.cidr))) return;
    for (const pt of r.ports) push(out, r, v.id, r.verdict, pt.protocol, pt.port, pt.prefixLength);
  }

  private emitBackends(out: PolicyEntry[], r: CompiledRule, v: Vip): void {
    const reach = this.reach(r, v);
    v.ports.forEach((p, i) => {
      const m = reach[i] ?? 'none';
      const verdict = r.verdict === 'allow' ? (m === 'all' ? 'allow' : undefined)
        : r.verdict === 'deny' ? (m === 'none' ? undefined : 'deny')
          : m === 'all' ? 'pass' : m === 'some' ? 'deny' : undefined;
      if (verdict !== undefined) push(out, r, v.id, verdict, p.protocol, p.port, 16);
    });
  }

  private reach(r: CompiledRule, v: Vip): Reach[] {
    let perRule = this.cache.get(r);
    if (perRule === undefined) this.cache.set(r, (perRule = new Map()));
    const hit = perRule.get(v);
    if (hit !== undefined && hit.version === v.version) return hit.reach;
    const reach = v.ports.map((p): Reach => {
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
    });
    perRule.set(v, { version: v.version, reach });
    return reach;
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

function hasBlocks(r: CompiledRule): boolean {
  return r.spec !== 'all' && r.spec.some((p) => p.kind === 'ipBlock');
}

function push(out: PolicyEntry[], r: CompiledRule, identity: number, verdict: PolicyEntry['verdict'], protocol: Protocol, port: number, prefixLength: number): void {
  const e: PolicyEntry = { tier: r.tier, direction: 'egress', identity, protocol, port, portPrefixLength: prefixLength, verdict, precedence: r.precedence, ruleId: r.ruleId };
  if (r.audit === true) e.audit = 'rule';
  out.push(e);
}
