/**
 * The agent's wire contract: what its loopback API (agent/src/http.ts) sends, and all the `weir` CLI
 * may import from the agent. Only types, their one-line text form, and guards for reading them back
 * (the CLI takes the agent's JSON as `unknown`, so an agent of another version is named, not trusted).
 *
 *   GET /v1/status  → AgentStatus (JSON)
 *   GET /v1/flows   → FlowRecord per line (NDJSON), query pod=ns/name, verdict=allowed|dropped|audit
 *   GET /v1/audit   → AuditFlowEntry[] (JSON), query since=<seconds>: the audited flows the agent kept
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

/**
 * Kubernetes' generated name suffixes use an alphabet without vowels (and without 0, 1, 3), so a
 * hand-chosen name part like "proxy" is not mistaken for one.
 */
const SAFE = '[bcdfghjklmnpqrstvwxz2456789]';
const DEPLOYMENT_POD = new RegExp(`-${SAFE}{6,10}-${SAFE}{5}$`); // <name>-<pod-template-hash>-<random>
const GENERATED_POD = new RegExp(`-${SAFE}{5}$`); // DaemonSet / Job / ReplicaSet: <name>-<random>

/** "ns/web-7d4b9c8f5d-x2k9q" → "ns/web"; "ns/agent-x7k2p" → "ns/agent"; "ns/db-0", "ns/my-proxy", addresses unchanged. */
export function workloadOf(podOrAddress: string): string {
  const slash = podOrAddress.indexOf('/');
  if (slash < 0) return podOrAddress;
  const name = podOrAddress.slice(slash + 1).replace(DEPLOYMENT_POD, '').replace(GENERATED_POD, '');
  return `${podOrAddress.slice(0, slash)}/${name}`;
}

/**
 * One distinct audited flow: AUDIT records reduced to what `weir audit report` lists, so replicas of
 * a workload and the source ports of its connections count as one flow.
 */
export interface AuditFlow {
  /** Namespace of the endpoint that judged the flow (`weir audit report -n`). */
  namespace: string;
  policy: string;
  would: 'drop' | 'allow';
  source: string;
  destination: string;
  /** "80/TCP", or the protocol alone when it has no ports. */
  port: string;
}

/** An AuditFlow as an agent keeps it (GET /v1/audit): how often and when it was seen on that node. */
export interface AuditFlowEntry extends AuditFlow {
  events: number;
  /** ISO times of the first and the last event. */
  firstSeen: string;
  lastSeen: string;
}

/** The AuditFlow an AUDIT record stands for; undefined for any other record. */
export function auditFlowOf(r: FlowRecord): AuditFlow | undefined {
  if (r.verdict !== 'AUDIT') return undefined;
  const src = splitFlowEnd(r.source, r.protocol);
  const dst = splitFlowEnd(r.destination, r.protocol);
  return {
    namespace: r.endpoint.split('/')[0] ?? '',
    policy: r.policy,
    would: r.reason === 'policy-allow' || r.reason === 'default-allow' ? 'allow' : 'drop',
    source: workloadOf(src.host),
    destination: workloadOf(dst.host),
    port: dst.port === undefined ? r.protocol : `${dst.port}/${r.protocol}`,
  };
}

/** One key per distinct AuditFlow (the fields cannot contain NUL). */
export const auditFlowKey = (f: AuditFlow): string => [f.namespace, f.policy, f.would, f.source, f.destination, f.port].join('\u0000');

/** /v1/audit, or the first entry that is wrong. */
export function parseAuditFlowEntries(value: unknown): { ok: true; entries: AuditFlowEntry[] } | { ok: false; error: string } {
  if (!Array.isArray(value)) return { ok: false, error: 'the audit history must be a JSON list' };
  for (const [i, e] of value.entries()) {
    if (!isRecord(e) || !(['namespace', 'policy', 'source', 'destination', 'port', 'firstSeen', 'lastSeen'] as const).every((k) => typeof e[k] === 'string')
      || (e.would !== 'drop' && e.would !== 'allow') || typeof e.events !== 'number') {
      return { ok: false, error: `audit history entry [${i}] is not an audited flow (namespace, policy, would, source, destination, port, events, firstSeen, lastSeen)` };
    }
  }
  return { ok: true, entries: value as AuditFlowEntry[] };
}
