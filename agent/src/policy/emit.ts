/**
 * From a compiled rule to policy entries (agent/src/datapath/desired.ts PolicyEntry): port specs
 * expanded to (protocol, port prefix) keys, named ports resolved on the endpoint (ingress) or on
 * each destination identity (egress). Pure; part of the policy compiler (compile.ts).
 */
import { ANY_IDENTITY, type Direction, type PolicyEntry, type Protocol } from '../datapath/desired.js';
import type { CompiledRule } from './compile-types.js';
import type { ContainerPort, NetworkPolicy, PortSpec, ProtocolName } from './model.js';
import { portRangeToPrefixes } from './ports.js';
import type { RuleTable } from './rules.js';

export const PROTOCOL_NUMBER: Record<ProtocolName, Protocol> = { TCP: 6, UDP: 17, SCTP: 132 };

/** What emitRule needs to know about remote identities (egress named ports resolve on them). */
export interface PeerPorts {
  /** Every pod and CIDR identity (a rule with any peer and an egress named port spans them all). */
  allIdentities(): Iterable<number>;
  /** The named ports of a pod identity; undefined for a CIDR identity (no named ports). */
  namedPortsOf(id: number): ContainerPort[] | undefined;
}

/** A rule's ports: numeric (protocol, port prefix) keys expanded once, and named ports to resolve later. */
export function expandPorts(ports: PortSpec[] | 'all'): { numeric: CompiledRule['ports']; named: CompiledRule['named'] } {
  const numeric: CompiledRule['ports'] = [];
  const named: CompiledRule['named'] = [];
  if (ports === 'all') numeric.push({ protocol: 0, port: 0, prefixLength: 0 });
  else {
    for (const ps of ports) {
      switch (ps.kind) {
        case 'protocol':
          numeric.push({ protocol: PROTOCOL_NUMBER[ps.protocol], port: 0, prefixLength: 0 });
          break;
        case 'number':
          for (const pp of portRangeToPrefixes(ps.port, ps.endPort)) {
            numeric.push({ protocol: PROTOCOL_NUMBER[ps.protocol], port: pp.port, prefixLength: pp.prefixLength });
          }
          break;
        case 'named':
          named.push({ protocol: ps.protocol, name: ps.name });
          break;
        default: {
          const never: never = ps;
          throw new Error(`unknown port ${String(never)}`);
        }
      }
    }
  }
  return { numeric, named };
}

function resolveNamed(ports: ContainerPort[], named: CompiledRule['named'][number]): ContainerPort[] {
  return ports.filter((cp) => cp.name === named.name && (named.protocol === undefined || named.protocol === cp.protocol));
}

/**
 * Entries of one rule for an endpoint whose own named ports are `ownPorts`; with `only`, just those
 * for that one remote identity (an identity that appeared: compile.ts patches it in).
 */
export function emitRule(
  out: PolicyEntry[], r: CompiledRule, direction: Direction, ownPorts: ContainerPort[], peers: PeerPorts, only?: number,
): void {
  const { tier, verdict, precedence, ruleId } = r;
  // Audit rules go to their own keyspace; `out` gets plain objects either way (no spread in this hot loop).
  const push = r.audit === true
    ? (e: PolicyEntry): void => { e.audit = 'rule'; out.push(e); }
    : (e: PolicyEntry): void => { out.push(e); };
  const remotes: Iterable<number> =
    only === undefined
      ? r.peers === undefined ? [ANY_IDENTITY] : [...r.peers, ...r.classes]
      : r.peers !== undefined && r.peers.has(only) ? [only] : [];
  // Named ports on ingress resolve on this (destination) pod, once for all peers.
  let ports = r.ports;
  if (direction === 'ingress' && r.named.length > 0) {
    ports = [...ports];
    for (const n of r.named) {
      for (const cp of resolveNamed(ownPorts, n)) ports.push({ protocol: PROTOCOL_NUMBER[cp.protocol], port: cp.port, prefixLength: 16 });
    }
  }
  for (const identity of remotes) {
    for (const pt of ports) {
      push({ tier, direction, identity, protocol: pt.protocol, port: pt.port, portPrefixLength: pt.prefixLength, verdict, precedence, ruleId });
    }
  }
  if (direction === 'egress' && r.named.length > 0) {
    // Named ports on egress resolve on each destination: per peer identity, and for "any peer"
    // over every pod identity (a non-pod destination has no named ports, so it never matches).
    const targets =
      only !== undefined
        ? r.peers === undefined || r.peers.has(only) ? [only] : []
        : r.peers === undefined ? [...peers.allIdentities()] : [...r.peers];
    for (const id of targets) {
      const namedPorts = peers.namedPortsOf(id);
      if (namedPorts === undefined) continue;
      for (const n of r.named) {
        for (const cp of resolveNamed(namedPorts, n)) {
          push({ tier, direction, identity: id, protocol: PROTOCOL_NUMBER[cp.protocol], port: cp.port, portPrefixLength: 16, verdict, precedence, ruleId });
        }
      }
    }
  }
}

/**
 * An audit NetworkPolicy / MultiNetworkPolicy does not isolate the endpoint; each direction it
 * would isolate is one 'isolation' entry instead, whose rule names the policy, so the datapath's
 * what-if evaluation denies what no rule allows and says which audit policy it would have been.
 */
export function auditIsolation(out: PolicyEntry[], p: NetworkPolicy, rules: RuleTable): void {
  const policy = `${p.namespace}/${p.name}`;
  for (const direction of ['ingress', 'egress'] as const) {
    if (direction === 'ingress' ? !p.affectsIngress : !p.affectsEgress) continue;
    const ruleId = rules.intern({ kind: p.kind, policy, direction, audit: true });
    out.push({ tier: 'network', direction, identity: ANY_IDENTITY, protocol: 0, port: 0, portPrefixLength: 0, verdict: 'deny', precedence: 0, ruleId, audit: 'isolation' });
  }
}
