/**
 * Policy compiler at cluster scale (issue 18 §2): 10,000 pods / 1,000 NetworkPolicies and
 * 50,000 pods / 5,000 NetworkPolicies (bench/cluster-model.ts: 100 pods and 10 policy shapes per
 * namespace, 10 AdminNetworkPolicies and a BaselineAdminNetworkPolicy). Each size runs in a child
 * process of its own (bench/compile-child.ts), so its peak RSS is that size's alone: full compile
 * (load + node0), one pod added, one policy changed (p50 / p99 of 200), a namespace-wide policy
 * changed (50).
 * Nodes: 20 at 10,000 pods (500 endpoints on node0), 100 at 50,000 (again 500 on node0, the worst
 * case of bench/capacity.ts); 50,000 pods on 20 nodes (2,500 endpoints on node0, 20× a kubelet's
 * default max-pods) is shown too, not judged.
 * Baseline in the same run: the naive pod × policy selector evaluation at 10,000 pods.
 *
 *   node --import tsx bench/compile.ts [namespaces…]   (default 100 500; 100 pods each)
 */
import { spawnSync } from 'node:child_process';
import type { CompileResult } from './compile-child.js';
import { fmt, report, verdict } from './report.js';

const SIZES = process.argv.slice(2).map(Number);
const namespaces = SIZES.length > 0 ? SIZES : [100, 500];

function child(ns: number, nodes: number, naive: boolean): CompileResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/compile-child.ts', String(ns), String(nodes), ...(naive ? ['naive'] : [])], {
    encoding: 'utf8', timeout: 10 * 60_000, maxBuffer: 1 << 22,
  });
  if (r.status !== 0) throw new Error(`compile-child ${ns} ${nodes} failed (${r.status ?? r.signal ?? '?'}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as CompileResult;
}

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const p50p99 = (xs: readonly number[]): string => `${fmt.ms(quantile(xs, 0.5))} / ${fmt.ms(quantile(xs, 0.99))}`;

/** Goals of issue 18 §2 per size (pods). */
const GOALS: Record<number, { compileMs: number; podAddedP99: number; policyChangedP99?: number; peakRssMb: number }> = {
  10_000: { compileMs: 1000, podAddedP99: 10, policyChangedP99: 10, peakRssMb: 250 },
  50_000: { compileMs: 5000, podAddedP99: 20, peakRssMb: 600 },
};

function main(): void {
  const rows: string[][] = [];
  const verdicts: string[] = [];
  let baseline: CompileResult | undefined;
  const runs: Array<{ r: CompileResult; nodes: number; judged: boolean }> = [];
  for (const ns of namespaces) {
    const pods = ns * 100;
    const nodes = Math.max(20, Math.round(pods / 500));
    const r = child(ns, nodes, ns === namespaces[0]);
    if (r.naiveMs !== undefined) baseline = r;
    runs.push({ r, nodes, judged: true });
    if (nodes !== 20) runs.push({ r: child(ns, 20, false), nodes: 20, judged: false });
  }
  for (const { r, nodes, judged } of runs) {
    rows.push([
      `${fmt.int(r.pods)} pods / ${fmt.int(r.networkPolicies)} policies, ${nodes} nodes${judged ? '' : ' (not judged)'}`,
      fmt.int(r.endpoints), fmt.int(r.entries), fmt.int(r.ipcache),
      fmt.ms(r.fullCompileMs), p50p99(r.podAdded), p50p99(r.policyChanged), p50p99(r.widePolicyChanged),
      `${r.rssBeforeMb} / ${r.rssAfterCompileMb} / ${r.peakRssMb} MB`,
    ]);
    const goal = GOALS[r.pods];
    if (!judged || goal === undefined) continue;
    const at = `${fmt.int(r.pods)} pods`;
    verdicts.push(verdict(`${at}: full compile ≤ ${goal.compileMs / 1000} s`, r.fullCompileMs <= goal.compileMs, fmt.ms(r.fullCompileMs)));
    const added = quantile(r.podAdded, 0.99);
    verdicts.push(verdict(`${at}: pod added p99 ≤ ${goal.podAddedP99} ms`, added <= goal.podAddedP99, fmt.ms(added)));
    if (goal.policyChangedP99 !== undefined) {
      const changed = quantile(r.policyChanged, 0.99);
      verdicts.push(verdict(`${at}: policy changed p99 ≤ ${goal.policyChangedP99} ms`, changed <= goal.policyChangedP99, fmt.ms(changed)));
    }
    verdicts.push(verdict(`${at}: peak RSS ≤ ${goal.peakRssMb} MB`, r.peakRssMb <= goal.peakRssMb, `${r.peakRssMb} MB`));
  }
  const naive = baseline === undefined ? 'not measured' : `${fmt.ms(baseline.naiveMs ?? NaN)} for ${((baseline.naiveEvaluations ?? 0) / 1e6).toFixed(1)} M selector evaluations at ${fmt.int(baseline.pods)} pods (the indexed full compile above: ${fmt.ms(baseline.fullCompileMs)})`;
  report({
    title: 'Policy compiler at cluster scale (bench/compile.ts)',
    notes: [
      'Cluster: bench/cluster-model.ts (100 pods and 10 NetworkPolicy shapes per namespace, 10 ANPs, a BANP); node0 compiled; each size in a child process of its own (bench/compile-child.ts).',
      'Full compile = load + compileNode(node0), wall clock. Pod added = upsertPod (a new Deployment\'s first pod, on node0: new labels, new identity) + compileNode, 200 times; policy changed = one NetworkPolicy\'s port edited + compileNode, 200 times; namespace-wide = a policy selecting every pod of a namespace with a cluster-wide peer, 50 times.',
      'RSS: before compiling (cluster state parsed + runtime) / after the full compile / peak of the child process over the whole size (incremental loops included).',
      `Baseline in the same run, naive pod × policy selector evaluation (no label-set indexes): ${naive}.`,
    ],
    columns: ['cluster', 'node0 endpoints', 'node0 entries', 'ipcache', 'full compile', 'pod added p50 / p99', 'policy changed p50 / p99', 'namespace-wide p50 / p99', 'RSS before / after / peak'],
    rows,
    verdicts,
  });
}

main();
