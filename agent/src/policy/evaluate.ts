/**
 * The reference evaluator: decides a flow from the SAME values the datapath gets (ipcache,
 * DesiredEndpoint entries), step by step as the BPF programs do. It is the oracle of the
 * end-to-end tests and the engine of `weir explain`, so it must never consult policies directly.
 *
 * Per direction and tier: longest-prefix lookups on (identity, protocol, port) — with the remote
 * identity, for a pod also its namespace class and CLUSTER_IDENTITY, then ANY_IDENTITY — and the
 * strongest result wins (higher precedence; at equal precedence deny > pass > allow).
 *
 * Audit policies (PolicyEntry.audit): the enforced verdict never sees their entries. The what-if
 * verdict ("every audit policy enforced", bpf/weir.bpf.c weir_audit_policies) looks up the audit
 * keyspace next to the enforced one in every lookup, and an audit NetworkPolicy's isolation entry
 * denies what nothing allows, naming that policy.
 */
import {
  ANY_IDENTITY,
  CLUSTER_IDENTITY,
  WORLD_IDENTITY,
  type DesiredEndpoint,
  type DesiredNodeState,
  type Direction,
  type EndpointKey,
  type IpCacheEntry,
  type PolicyEntry,
  type Protocol,
  type RuleOrigin,
  type Tier,
} from '../datapath/desired.js';
import { CidrSet, parseCidr, parseIp } from '../../../common/src/ip.js';
import { keyLength, stronger } from './fold.js';
import { portMatches } from './ports.js';
import { defaultDenyRule } from './rules.js';

export type ProtocolInput = Protocol | 'TCP' | 'UDP' | 'SCTP' | 'ICMP' | 'ICMPv6';
const PROTO: Record<Exclude<ProtocolInput, number>, Protocol> = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1, ICMPv6: 58 };
export const protocolNumber = (p: ProtocolInput): Protocol => (typeof p === 'number' ? p : PROTO[p]);

export interface DirectionDecision {
  verdict: 'allow' | 'deny';
  /** The deciding rule id; undefined when nothing applied (unisolated, no admin/baseline match). */
  ruleId: number | undefined;
  steps: string[];
}

/**
 * Longest-prefix match among the entries of one (keyspace, tier, direction, identity), as the BPF
 * LPM trie does; `keyspace` undefined = the enforced entries.
 */
export function lpmLookup(
  entries: readonly PolicyEntry[],
  tier: Tier,
  direction: Direction,
  identity: number,
  protocol: Protocol,
  port: number,
  keyspace?: PolicyEntry['audit'],
): PolicyEntry | undefined {
  let best: PolicyEntry | undefined;
  let bestLen = -1;
  for (const e of entries) {
    if (e.tier !== tier || e.direction !== direction || e.identity !== identity || e.audit !== keyspace) continue;
    if (e.protocol !== 0) {
      if (e.protocol !== protocol) continue;
      if (!portMatches({ port: e.port, prefixLength: e.portPrefixLength }, port)) continue;
    }
    const len = keyLength(e);
    if (len > bestLen) {
      best = e;
      bestLen = len;
    }
  }
  return best;
}

/** What the ipcache says about a remote address: its identity, and its namespace class when it is a pod's (else 0). */
export interface Remote {
  identity: number;
  namespaceClass: number;
}

/** The identities a remote is looked up by, in the datapath's order (bpf/include/policy.h weir_policy_tier). */
function lookupKeys(remote: Remote): number[] {
  const keys = remote.identity === ANY_IDENTITY ? [] : [remote.identity];
  if (remote.namespaceClass !== 0) keys.push(remote.namespaceClass, CLUSTER_IDENTITY);
  keys.push(ANY_IDENTITY);
  return keys;
}

function tierLookup(ep: DesiredEndpoint, tier: Tier, d: Direction, remote: Remote, protocol: Protocol, port: number, whatIf: boolean): PolicyEntry | undefined {
  let best: PolicyEntry | undefined;
  const keyspaces: PolicyEntry['audit'][] = whatIf ? [undefined, 'rule'] : [undefined];
  for (const identity of lookupKeys(remote)) {
    for (const keyspace of keyspaces) {
      const hit = lpmLookup(ep.entries, tier, d, identity, protocol, port, keyspace);
      if (hit !== undefined && (best === undefined || stronger(hit, best))) best = hit;
    }
  }
  return best;
}

/** Whether the endpoint has audit entries (the datapath's WEIR_EP_AUDIT_POLICIES). */
export const hasAuditPolicies = (ep: DesiredEndpoint): boolean => ep.entries.some((e) => e.audit !== undefined);

/**
 * Decides the first packet of a flow on one endpoint in one direction: as enforced, or with
 * `whatIf` as if every audit policy were enforced.
 */
export function evaluateEndpoint(
  ep: DesiredEndpoint,
  direction: Direction,
  remote: Remote,
  protocol: Protocol,
  port: number,
  whatIf = false,
): DirectionDecision {
  const steps: string[] = [];
  const name = `${ep.namespace}/${ep.pod}:${ep.interface} ${direction}${whatIf ? ' (audit policies enforced)' : ''}`;
  const admin = tierLookup(ep, 'admin', direction, remote, protocol, port, whatIf);
  if (admin !== undefined) {
    steps.push(`${name}: admin tier matched rule ${admin.ruleId} → ${admin.verdict} (precedence ${admin.precedence})`);
    if (admin.verdict !== 'pass') return { verdict: admin.verdict, ruleId: admin.ruleId, steps };
  } else steps.push(`${name}: admin tier: no match`);
  const net = tierLookup(ep, 'network', direction, remote, protocol, port, whatIf);
  const isolated = direction === 'ingress' ? ep.isolatedIngress : ep.isolatedEgress;
  if (net !== undefined && net.verdict === 'allow') {
    steps.push(`${name}: network tier matched rule ${net.ruleId} → allow`);
    return { verdict: 'allow', ruleId: net.ruleId, steps };
  }
  if (isolated) {
    steps.push(`${name}: isolated by NetworkPolicy and no rule allows → deny`);
    return { verdict: 'deny', ruleId: defaultDenyRule(direction), steps };
  }
  const auditIsolation = whatIf ? ep.entries.find((e) => e.audit === 'isolation' && e.direction === direction) : undefined;
  if (auditIsolation !== undefined) {
    steps.push(`${name}: isolated by audit rule ${auditIsolation.ruleId} and no rule allows → deny`);
    return { verdict: 'deny', ruleId: auditIsolation.ruleId, steps };
  }
  steps.push(`${name}: network tier: not isolated`);
  const base = tierLookup(ep, 'baseline', direction, remote, protocol, port, whatIf);
  if (base !== undefined && base.verdict !== 'pass') {
    steps.push(`${name}: baseline tier matched rule ${base.ruleId} → ${base.verdict}`);
    return { verdict: base.verdict, ruleId: base.ruleId, steps };
  }
  steps.push(`${name}: nothing matched → allow`);
  return { verdict: 'allow', ruleId: undefined, steps };
}

const ipcacheIndexes = new WeakMap<readonly IpCacheEntry[], { set: CidrSet; remotes: Map<string, Remote> }>();
const WORLD: Remote = { identity: WORLD_IDENTITY, namespaceClass: 0 };

/** ipcache longest-prefix lookup; WORLD_IDENTITY without a class on a miss (as the datapath does). */
export function lookupRemote(ipcache: readonly IpCacheEntry[], ip: string): Remote {
  let idx = ipcacheIndexes.get(ipcache);
  if (idx === undefined) {
    idx = { set: new CidrSet(), remotes: new Map() };
    for (const e of ipcache) {
      const c = parseCidr(e.cidr);
      if (c === undefined) continue;
      idx.set.add(c);
      idx.remotes.set(c.canonical, { identity: e.identity, namespaceClass: e.namespaceClass ?? 0 });
    }
    ipcacheIndexes.set(ipcache, idx);
  }
  const a = parseIp(ip);
  if (a === undefined) return WORLD;
  const matches = idx.set.containing(a.family, a.addr);
  const longest = matches[matches.length - 1];
  return longest === undefined ? WORLD : idx.remotes.get(longest.canonical) ?? WORLD;
}

/** One end of a flow: its address, and the endpoint when it is a pod enforced in `state`. */
export interface FlowEnd {
  ip: string;
  endpoint?: EndpointKey;
}
export interface FlowQuery {
  from: FlowEnd;
  to: FlowEnd;
  port: number;
  protocol: ProtocolInput;
}
export interface FlowExplanation {
  verdict: 'allow' | 'deny';
  /** The rule that decided; undefined when no policy applies to either end. */
  rule: RuleOrigin | undefined;
  steps: string[];
  /** Set when an end in audit mode (DesiredEndpoint.audit) let through a deny: the rule that would have dropped it. */
  audited?: { rule: RuleOrigin | undefined };
  /**
   * Set when an end has audit policies (PolicyEntry.audit): the verdict if every audit policy were
   * enforced, and the rule that decides it. The datapath reports a new flow where it differs from
   * the enforced verdict as AUDIT would drop / would allow.
   */
  auditPolicies?: { verdict: 'allow' | 'deny'; rule: RuleOrigin | undefined; steps: string[] };
}

const sameEndpoint = (a: EndpointKey, b: EndpointKey): boolean =>
  a.namespace === b.namespace && a.pod === b.pod && a.interface === b.interface;

/**
 * Decides a new flow: the source endpoint's egress (if it is enforced in `state`), then the
 * destination endpoint's ingress. Both must allow. `state` may merge several nodes' states.
 */
export function explainFlow(state: DesiredNodeState, flow: FlowQuery): FlowExplanation {
  const protocol = protocolNumber(flow.protocol);
  const steps: string[] = [];
  const srcId = lookupRemote(state.ipcache, flow.from.ip);
  const dstId = lookupRemote(state.ipcache, flow.to.ip);
  steps.push(`${flow.from.ip} is identity ${srcId.identity}; ${flow.to.ip} is identity ${dstId.identity}`);
  const find = (k: EndpointKey | undefined): DesiredEndpoint | undefined =>
    k === undefined ? undefined : state.endpoints.find((e) => sameEndpoint(e, k));
  const origin = (id: number | undefined): RuleOrigin | undefined => (id === undefined ? undefined : state.rules[id]);
  let allowRule: RuleOrigin | undefined;
  let audited: FlowExplanation['audited'];
  // A deny on an audit endpoint passes (the datapath reports it as AUDIT); the first one is named.
  const auditDeny = (ep: DesiredEndpoint, ruleId: number | undefined): boolean => {
    if (ep.audit !== true) return false;
    steps.push(`${ep.namespace} audits (weir.dev/enforcement: audit): would drop, passes`);
    audited ??= { rule: origin(ruleId) };
    return true;
  };
  const src = find(flow.from.endpoint);
  const dst = find(flow.to.endpoint);
  const whatIf = auditPoliciesVerdict(src, dst, srcId, dstId, protocol, flow.port, origin);
  const extra = { ...(whatIf === undefined ? {} : { auditPolicies: whatIf }) };
  if (src !== undefined) {
    const d = evaluateEndpoint(src, 'egress', dstId, protocol, flow.port);
    steps.push(...d.steps);
    if (d.verdict === 'deny' && !auditDeny(src, d.ruleId)) return { verdict: 'deny', rule: origin(d.ruleId), steps, ...extra };
    if (d.verdict !== 'deny') allowRule = origin(d.ruleId);
  } else steps.push('source is not an enforced endpoint here: egress not checked');
  if (dst !== undefined) {
    const d = evaluateEndpoint(dst, 'ingress', srcId, protocol, flow.port);
    steps.push(...d.steps);
    if (d.verdict === 'deny' && !auditDeny(dst, d.ruleId)) return { verdict: 'deny', rule: origin(d.ruleId), steps, ...extra };
    if (d.verdict !== 'deny') allowRule = origin(d.ruleId) ?? allowRule;
  } else steps.push('destination is not an enforced endpoint here: ingress not checked');
  return { verdict: 'allow', rule: allowRule, steps, ...(audited === undefined ? {} : { audited }), ...extra };
}

/**
 * The flow's verdict if every audit policy were enforced (each end judged with its audit entries),
 * or undefined when neither end has audit policies. Namespace audit mode does not enter: this is
 * what enforcing the policies would do.
 */
function auditPoliciesVerdict(
  src: DesiredEndpoint | undefined, dst: DesiredEndpoint | undefined, srcId: Remote, dstId: Remote, protocol: Protocol, port: number,
  origin: (id: number | undefined) => RuleOrigin | undefined,
): FlowExplanation['auditPolicies'] {
  if (!(src !== undefined && hasAuditPolicies(src)) && !(dst !== undefined && hasAuditPolicies(dst))) return undefined;
  const steps: string[] = [];
  let rule: RuleOrigin | undefined;
  const ends: Array<[DesiredEndpoint | undefined, Direction, Remote]> = [[src, 'egress', dstId], [dst, 'ingress', srcId]];
  for (const [ep, direction, remote] of ends) {
    if (ep === undefined) continue;
    const d = evaluateEndpoint(ep, direction, remote, protocol, port, hasAuditPolicies(ep));
    steps.push(...d.steps);
    if (d.verdict === 'deny') return { verdict: 'deny', rule: origin(d.ruleId), steps };
    rule = origin(d.ruleId) ?? rule;
  }
  return { verdict: 'allow', rule, steps };
}
