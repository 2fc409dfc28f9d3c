/**
 * Issue 17 end to end: rolling out a policy in audit first (weir.dev/enforcement: audit on the
 * policy object), on the lab with real packets. For each policy kind the same five steps:
 *   1. with traffic running, the audit policy breaks nothing (the full matrix stays allowed);
 *   2. `weir observe --verdict audit` shows AUDIT would-drop events naming the policy;
 *   3. `weir audit report` lists exactly the pairs the truth table denies, no more, both from the
 *      live events (--for) and from what the agents kept (--since, GET /v1/audit);
 *   4. the WeirAuditWouldDrop Event appears on the policy object;
 *   5. removing the annotation enforces it: the same pairs are dropped within the usual bound.
 * The pairs come from the hand-written truth table of each scenario, never from Weir's compiler.
 */
import { parseAuditFlowEntries, splitFlowEnd, type AuditFlowEntry, type FlowRecord } from '../../agent/src/api.js';
import { auditReport, entriesOfRecords } from '../../cli/src/audit-report.js';
import type { Network, PolicyObject } from './cluster.js';
import { PODS, expectedMatrix, podKey, type Truth } from './model.js';
import type { Scenario, ScenarioContext } from './scenarios.js';

const ENFORCEMENT = 'weir.dev/enforcement';
const AUDIT_EVENT = 'WeirAuditWouldDrop';
/** How long the audit events for every denied cell may take to show up (probe rounds repeat). */
const AUDIT_BOUND_MS = 15_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const sel = (labels: Record<string, string>) => ({ matchLabels: labels });

interface AuditRollout {
  /** The policy as it will be enforced; the scenario applies it with the audit annotation first. */
  policy: PolicyObject;
  /** What the policy does once enforced (and so which cells the audit must report). */
  truth: Truth;
  network: Network;
  /** The name flow events and the report give the policy: "ns/name" for the namespaced kinds, "ClusterNetworkPolicy name". */
  policyName: string;
  /** Where the agents put the Event: the policy's namespace, or undefined for a cluster-scoped policy. */
  eventNamespace: string | undefined;
  objectName: string;
}

/** The cells (from>to>PROTO/port) the truth table denies: what enforcing the policy would drop. */
function deniedCells(truth: Truth): Set<string> {
  return new Set([...expectedMatrix(truth)].filter(([, allowed]) => !allowed).map(([cell]) => cell));
}

/** A flow record as a matrix cell, naming pods by their key (the agents name pods; addresses as a fallback). */
function cellOf(r: FlowRecord, podOfAddress: Map<string, string>): string {
  const src = splitFlowEnd(r.source, r.protocol).host;
  const dst = splitFlowEnd(r.destination, r.protocol);
  const who = (host: string): string => podOfAddress.get(host) ?? host;
  return `${who(src)}>${who(dst.host)}>${r.protocol}/${dst.port ?? ''}`;
}

async function auditThenEnforce(ctx: ScenarioContext, s: AuditRollout): Promise<void> {
  const podOfAddress = new Map(PODS.map((p) => [ctx.ip(podKey(p), s.network), podKey(p)]));
  const predicted = deniedCells(s.truth);
  const flows = await ctx.cluster.watchFlows('verdict=audit');
  ctx.defer(async () => flows.stop());
  await ctx.apply({ ...s.policy, annotations: { [ENFORCEMENT]: 'audit' } });

  // 1 + 2: probe rounds keep every pair allowed while the audit events cover every denied cell.
  const ours = (): FlowRecord[] => flows.records.filter((r) => r.policy.includes(s.policyName) && r.policy.endsWith('(audit policy)'));
  const started = performance.now();
  for (let round = 1; ; round++) {
    await ctx.expect(`audit ${s.policyName}: nothing breaks (round ${round})`, () => true, s.network);
    const seen = new Set(ours().map((r) => cellOf(r, podOfAddress)));
    const missing = [...predicted].filter((c) => !seen.has(c));
    if (missing.length === 0) break;
    if (performance.now() - started > AUDIT_BOUND_MS) {
      throw new Error(`${missing.length} of ${predicted.size} cells the policy would deny had no AUDIT event after ${AUDIT_BOUND_MS} ms, e.g. ${missing.slice(0, 5).join(', ')}; `
        + `${flows.records.length} audit records, e.g. ${JSON.stringify(flows.records.slice(0, 2))}`);
    }
  }
  flows.stop();
  const records = ours();
  const wrongKind = records.filter((r) => r.verdict !== 'AUDIT' || r.reason === 'policy-allow' || r.reason === 'default-allow');
  if (wrongKind.length > 0) throw new Error(`a deny policy in audit produced other than would-drop events: ${JSON.stringify(wrongKind.slice(0, 3))}`);
  const extra = [...new Set(records.map((r) => cellOf(r, podOfAddress)))].filter((c) => !predicted.has(c));
  if (extra.length > 0) throw new Error(`AUDIT would-drop events for cells the truth table allows: ${extra.slice(0, 5).join(', ')}`);

  // 3: the report a team reads before enforcing: per policy, the distinct (source, destination, port).
  const reportedCells = (entries: AuditFlowEntry[], label: string): Set<string> => {
    const report = auditReport(entries);
    if (report.length !== 1 || report[0]?.would !== 'drop') throw new Error(`weir audit report ${label}: expected one would-drop entry, got ${JSON.stringify(report.map((p) => [p.policy, p.would]))}`);
    const cells = new Set(report[0].flows.map((f) => {
      const [port, protocol] = f.port.split('/');
      return `${podOfAddress.get(f.source) ?? f.source}>${podOfAddress.get(f.destination) ?? f.destination}>${protocol ?? ''}/${port ?? ''}`;
    }));
    const absent = [...predicted].filter((c) => !cells.has(c));
    const surplus = [...cells].filter((c) => !predicted.has(c));
    if (absent.length + surplus.length > 0) throw new Error(`weir audit report ${label} differs from the truth table: missing ${absent.slice(0, 5).join(', ')}; extra ${surplus.slice(0, 5).join(', ')}`);
    return cells;
  };
  const reported = reportedCells(entriesOfRecords(records), '--for (live events)');
  const kept: AuditFlowEntry[] = [];
  for (const node of ctx.cluster.lab.labState.nodes) {
    const parsed = parseAuditFlowEntries(await (await fetch(`${node.agentUrl}/v1/audit?since=600`, { signal: AbortSignal.timeout(5_000) })).json());
    if (!parsed.ok) throw new Error(`${node.name} /v1/audit: ${parsed.error}`);
    kept.push(...parsed.entries.filter((e) => e.policy.includes(s.policyName) && e.policy.endsWith('(audit policy)')));
  }
  reportedCells(kept, '--since (the agents\' history)');
  ctx.note(`${records.length} AUDIT events, ${reported.size} distinct flows reported (= the truth table's denied cells) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  // 4: the Event on the policy object (kubectl describe shows it).
  for (const deadline = Date.now() + 10_000; ;) {
    const fieldSelector = `reason=${AUDIT_EVENT},involvedObject.name=${s.objectName}`;
    const events = s.eventNamespace === undefined
      ? await ctx.cluster.core.listEventForAllNamespaces({ fieldSelector })
      : await ctx.cluster.core.listNamespacedEvent({ namespace: s.eventNamespace, fieldSelector });
    const event = events.items.find((e) => e.involvedObject.kind === s.policy.kind);
    if (event !== undefined) {
      if (!/would have been dropped by this audit policy/.test(event.message ?? '')) throw new Error(`unexpected ${AUDIT_EVENT} message: ${event.message ?? ''}`);
      break;
    }
    if (Date.now() > deadline) throw new Error(`no ${AUDIT_EVENT} Event on ${s.policy.kind} ${s.objectName} 10 s after the would-drops`);
    await sleep(300);
  }

  // 5: promotion. The annotation goes; the same cells are now dropped.
  await ctx.cluster.annotatePolicy(s.policy, { [ENFORCEMENT]: null });
  await ctx.expect(`${s.policyName} enforced`, s.truth, s.network);
}

export const AUDIT_SCENARIOS: Scenario[] = [
  {
    name: 'audit NetworkPolicy: deny-all ingress in x breaks nothing, is reported, then enforced',
    run: (ctx) => auditThenEnforce(ctx, {
      policy: { kind: 'NetworkPolicy', namespace: 'x', name: 'deny-ingress', spec: { podSelector: {}, policyTypes: ['Ingress'] } },
      truth: (_f, t) => t.ns !== 'x',
      network: 'eth0', policyName: 'x/deny-ingress', eventNamespace: 'x', objectName: 'deny-ingress',
    }),
  },
  {
    name: 'audit MultiNetworkPolicy on net1: deny-all ingress in y breaks nothing, is reported, then enforced',
    usesNet1: true,
    run: (ctx) => auditThenEnforce(ctx, {
      policy: { kind: 'MultiNetworkPolicy', namespace: 'y', name: 'net1-deny', policyFor: 'y/sec', spec: { podSelector: {}, policyTypes: ['Ingress'] } },
      truth: (_f, t) => t.ns !== 'y',
      network: 'net1', policyName: 'y/net1-deny', eventNamespace: 'y', objectName: 'net1-deny',
    }),
  },
  {
    name: 'audit ClusterNetworkPolicy Admin Deny y → z breaks nothing, is reported, then enforced',
    run: (ctx) => auditThenEnforce(ctx, {
      policy: {
        kind: 'ClusterNetworkPolicy', name: 'audit-deny-y-to-z',
        spec: { tier: 'Admin', priority: 20, subject: { namespaces: sel({ ns: 'z' }) }, ingress: [{ name: 'deny-y', action: 'Deny', from: [{ namespaces: sel({ ns: 'y' }) }] }] },
      },
      truth: (f, t) => !(f.ns === 'y' && t.ns === 'z'),
      network: 'eth0', policyName: 'ClusterNetworkPolicy audit-deny-y-to-z', eventNamespace: undefined, objectName: 'audit-deny-y-to-z',
    }),
  },
];
