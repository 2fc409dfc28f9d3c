/**
 * Compiles one policy's rules (compile.ts caches the result per policy): each rule's peers become
 * the identities it names one by one (undefined = ANY) and the namespace classes it names whole.
 */
import { CLUSTER_IDENTITY, type RuleOrigin, type Tier, type Verdict } from '../datapath/desired.js';
import { cidrContains } from '../../../common/src/ip.js';
import { isWidePeer, type NamespaceClasses } from './classes.js';
import type { CompiledPolicy, CompiledRule, IdentityInfo } from './compile-types.js';
import { expandPorts } from './emit.js';
import type { IdentityTable } from './identity-table.js';
import type { Peer, PortSpec } from './model.js';
import type { AnyPolicy } from './policy-set.js';
import type { RuleTable } from './rules.js';
import type { SelectorIndex } from './selector-index.js';
import { adminTierRules } from './tier-rules.js';

/** The compiler's indexes a rule compiles against; `identityClasses` as PolicyCompiler's option. */
export interface RuleContext {
  index: SelectorIndex;
  classes: NamespaceClasses;
  ids: IdentityTable;
  ruleTable: RuleTable;
  identityClasses: boolean;
}

/** The identities (undefined = ANY) and classes a rule's peers compile to. */
function peerIdentities(ctx: RuleContext, peers: Peer[] | 'all', user: string, classed: boolean): { ids: Set<number> | undefined; classes: number[] } {
  if (peers === 'all') return { ids: undefined, classes: [] };
  const out = new Set<number>();
  const classes = new Set<number>();
  for (const peer of peers) {
    switch (peer.kind) {
      case 'all':
        return { ids: undefined, classes: [] };
      case 'none':
        break;
      case 'pods': {
        if (classed && isWidePeer(peer)) {
          for (const c of ctx.classes.forPeer(peer, ctx.index.namespaces)) classes.add(c);
          break;
        }
        const sel = ctx.index.peerSelector(peer);
        sel.users.add(user);
        for (const pr of sel.principals) for (const info of pr.identities) out.add(info.id);
        break;
      }
      case 'ipBlock': {
        ctx.ids.blockPeers(peer.block.cidr, peer.block.except, out);
        break;
      }
      default: {
        const never: never = peer;
        throw new Error(`unknown peer ${String(never)}`);
      }
    }
  }
  // The cluster class covers every namespace class.
  const classList = classes.has(CLUSTER_IDENTITY) ? [CLUSTER_IDENTITY] : [...classes].sort((a, b) => a - b);
  return { ids: out, classes: classList };
}

function compileRule(
  ctx: RuleContext,
  origin: RuleOrigin,
  tier: Tier,
  verdict: Verdict,
  precedence: number,
  peers: Peer[] | 'all',
  ports: PortSpec[] | 'all',
  user: string,
): CompiledRule {
  const ruleId = ctx.ruleTable.intern(origin);
  const { numeric, named } = expandPorts(ports);
  // Egress named ports resolve on each destination identity, so those rules name peers one by one.
  const classed = ctx.identityClasses && !(origin.direction === 'egress' && named.length > 0);
  const { ids, classes } = peerIdentities(ctx, peers, user, classed);
  const rule: CompiledRule = { spec: peers, ruleId, tier, verdict, precedence, peers: ids, classes, classed, ports: numeric, named };
  if (origin.audit === true) rule.audit = true;
  return rule;
}

/** One policy's compiled rules; `user` (the policy's key) is recorded on every selector it uses. */
export function compilePolicy(ctx: RuleContext, p: AnyPolicy, k: string): CompiledPolicy {
  const out: CompiledPolicy = { ingress: [], egress: [] };
  switch (p.kind) {
    case 'NetworkPolicy':
    case 'MultiNetworkPolicy': {
      const policy = `${p.namespace}/${p.name}`;
      const audit = p.audit === true ? { audit: true as const } : {};
      if (p.affectsIngress) {
        p.ingress.forEach((r, index) => {
          out.ingress.push(compileRule(ctx, { kind: p.kind, policy, direction: 'ingress', index, ...audit }, 'network', 'allow', 0, r.peers, r.ports, k));
        });
      }
      if (p.affectsEgress) {
        p.egress.forEach((r, index) => {
          out.egress.push(compileRule(ctx, { kind: p.kind, policy, direction: 'egress', index, ...audit }, 'network', 'allow', 0, r.peers, r.ports, k));
        });
      }
      break;
    }
    case 'AdminNetworkPolicy':
    case 'BaselineAdminNetworkPolicy':
    case 'ClusterNetworkPolicy':
      for (const r of adminTierRules(p)) out[r.direction].push(compileRule(ctx, r.origin, r.tier, r.verdict, r.precedence, r.peers, r.ports, k));
      break;
    default: {
      const never: never = p;
      throw new Error(`unknown policy ${String(never)}`);
    }
  }
  return out;
}

/** True when a rule's written peers name this identity one by one (not through ANY or a class). */
export function ruleIncludes(index: SelectorIndex, r: CompiledRule, info: IdentityInfo): boolean {
  if (r.spec === 'all') return false; // covered by ANY_IDENTITY already
  for (const peer of r.spec) {
    switch (peer.kind) {
      case 'all':
      case 'none':
        break;
      case 'pods':
        if (r.classed && isWidePeer(peer)) break; // its class covers every pod of those namespaces
        if (info.principal !== undefined && index.peerSelector(peer).principals.has(info.principal)) return true;
        break;
      case 'ipBlock': {
        const { cidr, except } = peer.block;
        if (info.cidr !== undefined) {
          if (cidrContains(cidr, info.cidr) && !except.some((e) => info.cidr !== undefined && cidrContains(e, info.cidr))) return true;
        } else if (info.members.includes(cidr.canonical) && !except.some((e) => info.members.includes(e.canonical))) return true;
        break;
      }
      default: {
        const never: never = peer;
        throw new Error(`unknown peer ${String(never)}`);
      }
    }
  }
  return false;
}
