/**
 * `weir audit report`: what the audit policies (and audit namespaces) would change. Per audit policy
 * and verdict ("would drop" / "would allow"), the distinct (source workload, destination workload,
 * port) flows and the workloads they came from: the list a team reads before flipping a policy to
 * enforce.
 *
 * Two sources. `--since 1h` (the default) reads the distinct audited flows each agent kept
 * (GET /v1/audit, agent/src/flows/audit-history.ts: bounded, lost on an agent restart). `--for 30s`
 * listens to the agents' live AUDIT flow events for that long instead. Pod names are reduced to their
 * workload (agent/src/api.ts workloadOf) so one row stands for every replica.
 */
import { auditFlowKey, auditFlowOf, parseAuditFlowEntries, type AuditFlow, type AuditFlowEntry, type FlowRecord } from '../../agent/src/api.js';
import { findAgents, getAgentJson, type AgentTarget } from './agents.js';
import { streamAgentFlows } from './observe.js';
import type { Cluster } from './kube.js';
import type { OutputFormat } from './args.js';
import { CommandError } from './errors.js';
import { toYaml } from './output.js';

export interface AuditReportFlow {
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
  flows: AuditReportFlow[];
  /** Distinct source workloads, sorted. */
  sources: string[];
}

/** Live AUDIT records as entries of one event each (other records are skipped). */
export function entriesOfRecords(records: Iterable<FlowRecord>): AuditFlowEntry[] {
  const out: AuditFlowEntry[] = [];
  for (const r of records) {
    const flow: AuditFlow | undefined = auditFlowOf(r);
    if (flow !== undefined) out.push({ ...flow, events: 1, firstSeen: r.time, lastSeen: r.time });
  }
  return out;
}

/**
 * Groups audited flows by policy and verdict, adding up the events of the same flow (seen by
 * several agents, or as several records). `namespace` keeps only flows whose endpoint (the pod
 * interface that judged the flow) is in it.
 */
export function auditReport(entries: Iterable<AuditFlowEntry>, namespace?: string): AuditPolicyReport[] {
  const byPolicy = new Map<string, { policy: string; would: 'drop' | 'allow'; flows: Map<string, AuditReportFlow> }>();
  for (const e of entries) {
    if (namespace !== undefined && e.namespace !== namespace) continue;
    const key = `${e.would}\u0000${e.policy}`;
    let entry = byPolicy.get(key);
    if (entry === undefined) byPolicy.set(key, (entry = { policy: e.policy, would: e.would, flows: new Map() }));
    const fk = auditFlowKey({ ...e, namespace: '' });
    const cur = entry.flows.get(fk);
    if (cur === undefined) entry.flows.set(fk, { source: e.source, destination: e.destination, port: e.port, events: e.events });
    else cur.events += e.events;
  }
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...byPolicy.values()]
    .map((e) => {
      const flows = [...e.flows.values()].sort((a, b) => cmp(a.source, b.source) || cmp(a.destination, b.destination) || cmp(a.port, b.port));
      return { policy: e.policy, would: e.would, flows, sources: [...new Set(flows.map((f) => f.source))].sort(cmp) };
    })
    .sort((a, b) => cmp(a.policy, b.policy) || cmp(a.would, b.would));
}

/** How the flows were gathered: the agents' kept history over a window, or listening live. */
export type AuditSource = { since: number } | { listen: number };

function windowText(source: AuditSource): string {
  return 'since' in source ? `the last ${source.since}s` : `${source.listen}s of listening`;
}

export function reportLines(report: AuditPolicyReport[], source: AuditSource): string[] {
  if (report.length === 0) return [`no AUDIT flow events in ${windowText(source)}: no audit policy or audit namespace would change a new flow in that time`];
  const lines: string[] = [];
  for (const p of report) {
    lines.push(`${p.policy}: would ${p.would} ${p.flows.length} distinct flow${p.flows.length === 1 ? '' : 's'} (from ${p.sources.join(', ')})`);
    for (const f of p.flows) lines.push(`  ${f.source} -> ${f.destination} ${f.port}  (${f.events} event${f.events === 1 ? '' : 's'})`);
  }
  const kept = 'since' in source ? '; each agent keeps its last 10,000 distinct flows for a day, and nothing across a restart' : '';
  lines.push(`(AUDIT flow events of ${windowText(source)}; events are budgeted per endpoint: counts are lower bounds, and a flow whose only event was over budget is missing${kept})`);
  return lines;
}

export interface AuditReportOptions {
  selector: string;
  namespace: string | undefined;
  source: AuditSource;
  format: OutputFormat;
}

/** One agent's kept audited flows of the last `seconds`. */
async function readHistory(target: AgentTarget, seconds: number): Promise<AuditFlowEntry[]> {
  if (target.problem !== undefined) throw new CommandError(target.problem);
  const conn = await target.open();
  try {
    const parsed = parseAuditFlowEntries(await getAgentJson(target, conn, `/v1/audit?since=${seconds}`));
    if (!parsed.ok) throw new CommandError(`unreadable audit history (${parsed.error}); are the CLI and the agent the same version?`);
    return parsed.entries;
  } finally {
    await conn.close();
  }
}

/** Every agent's history; an agent that cannot be read is named, and makes the report incomplete. */
async function gatherHistory(cluster: Cluster, selector: string, seconds: number, warn: (line: string) => void): Promise<{ entries: AuditFlowEntry[]; missed: number; agents: number }> {
  const targets = await findAgents(cluster, selector);
  const entries: AuditFlowEntry[] = [];
  let missed = 0;
  // A few at a time: each is a port-forward through the API server.
  for (let i = 0; i < targets.length; i += 8) {
    await Promise.all(targets.slice(i, i + 8).map(async (t) => {
      try {
        entries.push(...(await readHistory(t, seconds)));
      } catch (error) {
        missed++;
        warn(`weir: the agent on ${t.node} (${t.source}): ${error instanceof Error ? error.message : String(error)}`);
      }
    }));
  }
  return { entries, missed, agents: targets.length };
}

async function listenLive(cluster: Cluster, selector: string, seconds: number, warn: (line: string) => void): Promise<AuditFlowEntry[]> {
  const records: FlowRecord[] = [];
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), seconds * 1000);
  let reached: number;
  try {
    reached = await streamAgentFlows(cluster, selector, new URLSearchParams({ verdict: 'audit' }), (r) => records.push(r), warn, stop.signal);
  } finally {
    clearTimeout(timer);
  }
  // An empty report must mean "nothing would change", never "nobody was listening".
  if (reached === 0) throw new CommandError(`no agent could be reached within ${seconds}s: the report would be empty for the wrong reason`);
  return entriesOfRecords(records);
}

export async function auditReportCommand(cluster: Cluster, opts: AuditReportOptions, out: (line: string) => void, warn: (line: string) => void): Promise<number> {
  let entries: AuditFlowEntry[];
  let incomplete: string | undefined;
  if ('listen' in opts.source) entries = await listenLive(cluster, opts.selector, opts.source.listen, warn);
  else {
    const got = await gatherHistory(cluster, opts.selector, opts.source.since, warn);
    if (got.missed === got.agents) throw new CommandError(`no agent could be read (${got.agents} found): the report would be empty for the wrong reason`);
    entries = got.entries;
    if (got.missed > 0) incomplete = `the report is incomplete: ${got.missed} of ${got.agents} agent(s) could not be read (named above)`;
  }
  const report = auditReport(entries, opts.namespace);
  if (opts.format === 'json') out(JSON.stringify(report, null, 2));
  else if (opts.format === 'yaml') out(toYaml(report).trimEnd());
  else for (const line of reportLines(report, opts.source)) out(line);
  if (incomplete !== undefined) throw new CommandError(incomplete);
  return 0;
}

/** "30s", "5m", "1h" or plain seconds → seconds; undefined when it does not parse. */
export function parseWindow(text: string): number | undefined {
  const m = /^(\d+)(s|m|h)?$/.exec(text);
  if (m === null) return undefined;
  const n = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  return n > 0 ? n : undefined;
}
