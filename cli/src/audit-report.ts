/**
 * `weir audit report`: what the audit policies (and audit namespaces) would change, from the AUDIT
 * flow events the agents stream while the command listens. Per audit policy and verdict ("would
 * drop" / "would allow"), the distinct (source workload, destination workload, port) flows and the
 * workloads they came from: the list a team reads before flipping a policy to enforce.
 *
 * The agents keep no history of flows, so the report covers the listening window (--for, default
 * 30s), not the past. Pod names are reduced to their workload (a Deployment's pod-template hash and
 * random suffix dropped) so one row stands for every replica.
 */
import { splitFlowEnd, type FlowRecord } from '../../agent/src/api.js';
import { streamAgentFlows } from './observe.js';
import type { Cluster } from './kube.js';
import type { OutputFormat } from './args.js';
import { CommandError } from './errors.js';
import { toYaml } from './output.js';

export interface AuditFlow {
  source: string;
  destination: string;
  /** "80/TCP", or the protocol alone when it has no ports. */
  port: string;
  /** Flow events seen for this (source, destination, port). */
  events: number;
}

export interface AuditPolicyReport {
  policy: string;
  would: 'drop' | 'allow';
  flows: AuditFlow[];
  /** Distinct source workloads, sorted. */
  sources: string[];
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
 * Groups AUDIT records by policy and verdict. `namespace` keeps only records whose endpoint (the pod
 * interface that judged the flow) is in it.
 */
export function auditReport(records: Iterable<FlowRecord>, namespace?: string): AuditPolicyReport[] {
  const byPolicy = new Map<string, { policy: string; would: 'drop' | 'allow'; flows: Map<string, AuditFlow> }>();
  for (const r of records) {
    if (r.verdict !== 'AUDIT') continue;
    if (namespace !== undefined && !r.endpoint.startsWith(`${namespace}/`)) continue;
    const would = r.reason === 'policy-allow' || r.reason === 'default-allow' ? 'allow' : 'drop';
    const src = splitFlowEnd(r.source, r.protocol);
    const dst = splitFlowEnd(r.destination, r.protocol);
    const flow = { source: workloadOf(src.host), destination: workloadOf(dst.host), port: dst.port === undefined ? r.protocol : `${dst.port}/${r.protocol}` };
    const key = `${would}\u0000${r.policy}`;
    let entry = byPolicy.get(key);
    if (entry === undefined) byPolicy.set(key, (entry = { policy: r.policy, would, flows: new Map() }));
    const fk = `${flow.source}\u0000${flow.destination}\u0000${flow.port}`;
    const cur = entry.flows.get(fk);
    if (cur === undefined) entry.flows.set(fk, { ...flow, events: 1 });
    else cur.events++;
  }
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...byPolicy.values()]
    .map((e) => {
      const flows = [...e.flows.values()].sort((a, b) => cmp(a.source, b.source) || cmp(a.destination, b.destination) || cmp(a.port, b.port));
      return { policy: e.policy, would: e.would, flows, sources: [...new Set(flows.map((f) => f.source))].sort(cmp) };
    })
    .sort((a, b) => cmp(a.policy, b.policy) || cmp(a.would, b.would));
}

export function reportLines(report: AuditPolicyReport[], seconds: number): string[] {
  if (report.length === 0) return [`no AUDIT flow events in ${seconds}s: no audit policy or audit namespace would change a new flow in that time`];
  const lines: string[] = [];
  for (const p of report) {
    lines.push(`${p.policy}: would ${p.would} ${p.flows.length} distinct flow${p.flows.length === 1 ? '' : 's'} (from ${p.sources.join(', ')})`);
    for (const f of p.flows) lines.push(`  ${f.source} -> ${f.destination} ${f.port}  (${f.events} event${f.events === 1 ? '' : 's'})`);
  }
  lines.push(`(${seconds}s of AUDIT flow events from the agents; events are budgeted per endpoint: counts are lower bounds, and a flow whose only event was over budget is missing)`);
  return lines;
}

export interface AuditReportOptions {
  selector: string;
  namespace: string | undefined;
  seconds: number;
  format: OutputFormat;
}

export async function auditReportCommand(cluster: Cluster, opts: AuditReportOptions, out: (line: string) => void, warn: (line: string) => void): Promise<number> {
  const records: FlowRecord[] = [];
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), opts.seconds * 1000);
  let reached: number;
  try {
    reached = await streamAgentFlows(cluster, opts.selector, new URLSearchParams({ verdict: 'audit' }), (r) => records.push(r), warn, stop.signal);
  } finally {
    clearTimeout(timer);
  }
  // An empty report must mean "nothing would change", never "nobody was listening".
  if (reached === 0) throw new CommandError(`no agent could be reached within ${opts.seconds}s: the report would be empty for the wrong reason`);
  const report = auditReport(records, opts.namespace);
  if (opts.format === 'json') out(JSON.stringify(report, null, 2));
  else if (opts.format === 'yaml') out(toYaml(report).trimEnd());
  else for (const line of reportLines(report, opts.seconds)) out(line);
  return 0;
}

/** "30s", "5m", "1h" or plain seconds → seconds; undefined when it does not parse. */
export function parseWindow(text: string): number | undefined {
  const m = /^(\d+)(s|m|h)?$/.exec(text);
  if (m === null) return undefined;
  const n = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  return n > 0 ? n : undefined;
}
