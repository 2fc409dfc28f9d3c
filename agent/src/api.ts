/**
 * The agent's wire contract: what its loopback API (agent/src/http.ts) sends, and all the `weir` CLI
 * may import from the agent. Only types, their one-line text form, and guards for reading them back
 * (the CLI takes the agent's JSON as `unknown`, so an agent of another version is named, not trusted).
 *
 *   GET /v1/status  → AgentStatus (JSON)
 *   GET /v1/flows   → FlowRecord per line (NDJSON), query pod=ns/name, verdict=allowed|dropped|audit
 */
import { isRecord } from '../../common/src/records.js';
import type { Bandwidth, ShapingMode } from './datapath/shaping.js';
import type { Resource } from './kube/sources.js';

/** Loopback port of the agent's API (/healthz, /readyz, /v1/status, /v1/flows) unless WEIR_API_PORT says otherwise. */
export const DEFAULT_API_PORT = 9962;
/** Port of the read-only Prometheus endpoint on the node's address unless WEIR_METRICS_PORT says otherwise. */
export const DEFAULT_METRICS_PORT = 9963;

export interface EndpointStatus {
  endpointId: number;
  pod: string;
  interface: string;
  containerId: string;
  netnsPath: string;
  /** false until this process has (re-)programmed an adopted endpoint. */
  programmed: boolean;
  shaping: ShapingMode | 'unknown';
  bandwidth: Bandwidth | null;
  /** Entries the endpoint's policy compiles to (over policyQuota: none are programmed and it is isolated). */
  policyEntries: number;
  /** Entries the endpoint may hold (agent.policy.entriesPerEndpoint). Absent from older agents. */
  policyQuota?: number;
  isolation: { ingress: boolean; egress: boolean };
  /** true when the endpoint's namespace audits (weir.dev/enforcement: audit): policy drops pass. Absent from older agents. */
  audit?: boolean;
}

export interface AgentStatus {
  node: string;
  ready: boolean;
  unsynced: Resource[];
  endpoints: EndpointStatus[];
  maps: { ipcache: number; policy: number; endpoints: number };
  pods: number;
  malformedIntents: number;
}

/**
 * A flow event resolved to names: the shape `weir observe` prints and the agent logs.
 *   demo/client:40312 -> demo/server:80 TCP DROPPED (policy NetworkPolicy demo/deny-all, ingress)
 *   demo/client:40312 -> demo/server:80 TCP AUDIT would drop (policy demo/deny-all (default deny), ingress)
 *   demo/client:40312 -> demo/server:80 TCP AUDIT would allow (policy demo/allow-web (audit policy), ingress)
 * AUDIT would drop: the endpoint's namespace audits (weir.dev/enforcement: audit) and the flow
 * passed, or an audit policy would drop a flow that passes; `reason` and `policy` say the drop
 * enforcing would make. AUDIT would allow (reason policy-allow / default-allow): the flow is
 * dropped, and enforcing the audit policies would allow it.
 */
export interface FlowRecord {
  time: string;
  node: string;
  endpoint: string;
  direction: 'ingress' | 'egress';
  verdict: 'ALLOWED' | 'DROPPED' | 'AUDIT';
  reason: string;
  protocol: string;
  source: string;
  destination: string;
  /** What decided, e.g. "NetworkPolicy demo/deny-all" or "default deny". */
  policy: string;
  remoteIdentity: number;
}

/**
 * A FlowRecord's source or destination split into host ("ns/pod", an address, "[v6]") and port:
 * only TCP, UDP and SCTP ends carry ":port".
 */
export function splitFlowEnd(end: string, protocol: string): { host: string; port: string | undefined } {
  if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') return { host: end, port: undefined };
  const i = end.lastIndexOf(':');
  return i < 0 ? { host: end, port: undefined } : { host: end.slice(0, i), port: end.slice(i + 1) };
}

export function formatFlow(record: FlowRecord): string {
  const wouldAllow = record.reason === 'policy-allow' || record.reason === 'default-allow';
  const verdict = record.verdict === 'AUDIT' ? (wouldAllow ? 'AUDIT would allow' : 'AUDIT would drop') : record.verdict;
  return `${record.source} -> ${record.destination} ${record.protocol} ${verdict} (policy ${record.policy}, ${record.direction})`;
}

const STRING_FIELDS = ['time', 'node', 'endpoint', 'reason', 'protocol', 'source', 'destination', 'policy'] as const;

/** One line of /v1/flows, or the first field that is wrong. */
export function parseFlowRecord(value: unknown): { ok: true; record: FlowRecord } | { ok: false; error: string } {
  if (!isRecord(value)) return { ok: false, error: 'a flow record must be a JSON object' };
  for (const field of STRING_FIELDS) {
    if (typeof value[field] !== 'string') return { ok: false, error: `flow record field ${field} must be a string` };
  }
  if (value.direction !== 'ingress' && value.direction !== 'egress') return { ok: false, error: 'flow record field direction must be ingress or egress' };
  if (value.verdict !== 'ALLOWED' && value.verdict !== 'DROPPED' && value.verdict !== 'AUDIT') return { ok: false, error: 'flow record field verdict must be ALLOWED, DROPPED or AUDIT' };
  if (typeof value.remoteIdentity !== 'number') return { ok: false, error: 'flow record field remoteIdentity must be a number' };
  return { ok: true, record: value as unknown as FlowRecord };
}

/** /v1/status, or the first field that is wrong (an agent of an incompatible version says so here). */
export function parseAgentStatus(value: unknown): { ok: true; status: AgentStatus } | { ok: false; error: string } {
  if (!isRecord(value)) return { ok: false, error: 'the status must be a JSON object' };
  if (typeof value.node !== 'string') return { ok: false, error: 'status field node must be a string' };
  if (typeof value.ready !== 'boolean') return { ok: false, error: 'status field ready must be a boolean' };
  if (!Array.isArray(value.unsynced) || !value.unsynced.every((r) => typeof r === 'string')) return { ok: false, error: 'status field unsynced must be a list of resource names' };
  if (typeof value.pods !== 'number' || typeof value.malformedIntents !== 'number') return { ok: false, error: 'status fields pods and malformedIntents must be numbers' };
  const maps = value.maps;
  if (!isRecord(maps) || typeof maps.ipcache !== 'number' || typeof maps.policy !== 'number' || typeof maps.endpoints !== 'number') {
    return { ok: false, error: 'status field maps must hold the numbers ipcache, policy and endpoints' };
  }
  if (!Array.isArray(value.endpoints)) return { ok: false, error: 'status field endpoints must be a list' };
  for (const [i, e] of value.endpoints.entries()) {
    if (!isRecord(e) || typeof e.pod !== 'string' || typeof e.interface !== 'string' || typeof e.endpointId !== 'number' ||
      typeof e.programmed !== 'boolean' || typeof e.shaping !== 'string' || typeof e.policyEntries !== 'number' || !isRecord(e.isolation)) {
      return { ok: false, error: `status field endpoints[${i}] is not an endpoint (pod, interface, endpointId, programmed, shaping, policyEntries, isolation)` };
    }
  }
  return { ok: true, status: value as unknown as AgentStatus };
}
