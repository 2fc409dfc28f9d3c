import type { FlowEvent } from '../datapath/codec.js';
import type { RuleOrigin } from '../datapath/desired.js';

import type { FlowRecord } from '../api.js';

// The record and its one-line form are wire types (agent/src/api.ts); re-exported for the agent's own modules.
export { formatFlow, type FlowRecord } from '../api.js';

export interface FlowNames {
  node: string;
  /** endpoint id → "ns/pod" (with "/ifname" when not the default interface). */
  endpoint(endpointId: number): string | undefined;
  /** address → "ns/pod" if a known pod holds it ("service ns/name" for a Service ClusterIP). */
  podByIp(ip: string): string | undefined;
  rule(ruleId: number): RuleOrigin | undefined;
  /** The policies that isolate an endpoint in a direction (named on default-deny drops). */
  isolatedBy?(endpointId: number, direction: 'ingress' | 'egress'): string[];
}

const PROTOCOLS: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP' };

export function protocolName(protocol: number): string {
  return PROTOCOLS[protocol] ?? `proto-${protocol}`;
}

function hostPort(ip: string, port: number, protocol: number, names: FlowNames): string {
  const host = names.podByIp(ip) ?? (ip.includes(':') ? `[${ip}]` : ip);
  const hasPorts = protocol === 6 || protocol === 17 || protocol === 132;
  return hasPorts ? `${host}:${port}` : host;
}

export function describePolicy(event: Pick<FlowEvent, 'ruleId' | 'verdict' | 'reason' | 'endpointId' | 'direction'>, names: Pick<FlowNames, 'rule' | 'isolatedBy'>): string {
  const origin = event.ruleId === undefined ? undefined : names.rule(event.ruleId);
  const isDefaultDeny = origin?.kind === 'DefaultDeny' || (origin === undefined && event.reason === 'default-deny');
  if (isDefaultDeny) {
    // "default deny" alone does not say which object to look at: name what isolates the endpoint.
    const isolating = names.isolatedBy?.(event.endpointId, event.direction) ?? [];
    return isolating.length > 0 ? `${isolating.join(', ')} (default deny)` : 'default deny';
  }
  if (origin) return origin.audit === true ? `${origin.policy} (audit policy)` : origin.policy;
  switch (event.reason) {
    case 'revoked': return 'revoked by a policy change';
    case 'default-allow': return 'no policy selects it';
    default: return event.reason;
  }
}

export function toFlowRecord(event: FlowEvent, names: FlowNames, now: Date = new Date()): FlowRecord {
  return {
    time: now.toISOString(),
    node: names.node,
    endpoint: names.endpoint(event.endpointId) ?? `endpoint-${event.endpointId}`,
    direction: event.direction,
    verdict: event.verdict === 'allow' ? 'ALLOWED' : event.verdict === 'audit' || event.verdict === 'audit-allow' ? 'AUDIT' : 'DROPPED',
    reason: event.reason,
    protocol: protocolName(event.protocol),
    source: hostPort(event.source, event.sourcePort, event.protocol, names),
    destination: hostPort(event.destination, event.destinationPort, event.protocol, names),
    policy: describePolicy(event, names),
    remoteIdentity: event.remoteIdentity,
  };
}
