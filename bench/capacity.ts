/**
 * Policy state at cluster scale, as the node must hold it (issue: "policy state that fits the
 * kernel"). For 10,000 / 25,000 / 50,000 pods (bench/cluster-model.ts) and two layouts, a child
 * process (bench/capacity-child.ts) compiles node0's endpoints, programs them into real BPF maps
 * through the driver (each endpoint within its quota, agent/src/endpoints/capacity.ts), reads back
 * what the kernel holds, and times a new and an established flow on those maps.
 *   - worst case: 500 endpoints on node0 (nodes = pods / 500);
 *   - realistic:  100 endpoints per node (nodes = pods / 100), within the 30–110 of real clusters.
 * Baseline in the same run: the same cluster compiled without identity classes (every peer pod
 * named one by one, as before classes), at 10,000 pods; larger sizes of it need gigabytes.
 *
 *   node --import tsx bench/capacity.ts [namespaces…]   (default 100 250 500; 100 pods each)
 */
import { spawnSync } from 'node:child_process';
import { fmt, report, verdict } from './report.js';

interface Row {
  pods: number;
  endpoints: number;
  compileMs: number;
  rssAfterCompileMb: number;
  peakRssMb: number;
  compiledEntries: number;
  busiestCompiled: number;
  ipcache: number;
  programMs?: number;
  programmedEntries?: number;
  busiestProgrammed?: number;
  quota?: number;
  overQuota?: number;
  ipcacheUnwritten?: number;
  newFlowNs?: number;
  establishedNs?: number;
  subjectEntries?: number;
}

const SIZES = process.argv.slice(2).map(Number);
const namespaces = SIZES.length > 0 ? SIZES : [100, 250, 500];

function child(ns: number, nodes: number, mode: 'classes' | 'per-identity'): Row {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/capacity-child.ts', String(ns), String(nodes), mode], {
    encoding: 'utf8', timeout: 10 * 60_000, maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`capacity-child ${ns} ${nodes} ${mode} failed (${r.status ?? r.signal ?? '?'}): ${r.stderr.slice(-2000)}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Row;
}

const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(1)}%`;

function main(): void {
  const rows: string[][] = [];
  let at50k: Row | undefined;
  const baseline = child(100, 20, 'per-identity');
  rows.push([
    `${fmt.int(baseline.pods)} pods, ${baseline.endpoints} endpoints: baseline without classes (compile only)`,
    fmt.int(baseline.compiledEntries), fmt.int(baseline.busiestCompiled), '-', '-', fmt.ms(baseline.compileMs), `${baseline.rssAfterCompileMb} / ${baseline.peakRssMb} MB`, '-', '-', '-',
  ]);
  for (const ns of namespaces) {
    for (const [layout, perNode] of [['worst case', 500], ['realistic', 100]] as const) {
      const r = child(ns, Math.max(1, Math.round((ns * 100) / perNode)), 'classes');
      const quota = r.quota ?? 1;
      const programmed = r.programmedEntries ?? 0;
      rows.push([
        `${fmt.int(r.pods)} pods, ${r.endpoints} endpoints (${layout})`,
        fmt.int(programmed),
        `${fmt.int(r.busiestProgrammed ?? 0)} (${pct(r.busiestProgrammed ?? 0, quota)})`,
        pct(programmed, r.endpoints * quota),
        `${fmt.int(r.ipcache)} (${pct(r.ipcache, 131_072)})`,
        fmt.ms(r.compileMs),
        `${r.rssAfterCompileMb} / ${r.peakRssMb} MB`,
        `${((r.programMs ?? 0) / 1000).toFixed(2)} s`,
        fmt.ns(r.newFlowNs ?? NaN),
        fmt.ns(r.establishedNs ?? NaN),
      ]);
      if (r.programmedEntries !== r.compiledEntries || (r.overQuota ?? 0) > 0 || (r.ipcacheUnwritten ?? 0) > 0) {
        rows.push([`  ↑ compiled ${fmt.int(r.compiledEntries)}, ${r.overQuota ?? 0} endpoint(s) over quota, ${r.ipcacheUnwritten ?? 0} ipcache entries unwritten`, '', '', '', '', '', '', '', '', '']);
      }
      if (r.pods >= 50_000 && layout === 'worst case') at50k = r;
    }
  }
  const classes100 = rows[1]?.[1] ?? '?';
  const verdicts = at50k === undefined
    ? ['50,000 pods not measured in this run (pass 500 among the namespace counts)']
    : [
        verdict('busiest endpoint at 50,000 pods ≤ 50% of its quota', (at50k.busiestProgrammed ?? Infinity) <= 0.5 * (at50k.quota ?? 0),
          `${fmt.int(at50k.busiestProgrammed ?? 0)} of ${fmt.int(at50k.quota ?? 0)}`),
        verdict('node\'s policy entries at 50,000 pods ≤ 50% of its endpoints\' capacity', (at50k.programmedEntries ?? Infinity) <= 0.5 * at50k.endpoints * (at50k.quota ?? 0),
          pct(at50k.programmedEntries ?? 0, at50k.endpoints * (at50k.quota ?? 1))),
        verdict('full compile at 50,000 pods ≤ 5 s', at50k.compileMs <= 5000, fmt.ms(at50k.compileMs)),
        verdict('RSS after compile at 50,000 pods ≤ 600 MB', at50k.rssAfterCompileMb <= 600, `${at50k.rssAfterCompileMb} MB`),
      ];
  report({
    title: 'Policy state at cluster scale, programmed into real maps (bench/capacity.ts)',
    notes: [
      'Cluster: bench/cluster-model.ts (100 pods and 10 NetworkPolicy shapes per namespace, 10 ANPs, a BANP); node0 compiled and programmed by the driver into one pin root.',
      `Programmed = entries read back from the kernel's policy trie; capacity = endpoints × per-endpoint quota (${fmt.int(16_384)}, agent.policy.entriesPerEndpoint).`,
      `Baseline in the same run: the 10,000-pod cluster compiled without identity classes: ${fmt.int(baseline.compiledEntries)} entries on node0 against ${classes100} with them.`,
      'new flow / established: BPF_PROG_TEST_RUN (median of 3 × 200,000) on an app9 pod of node0 receiving TCP from a pod of its namespace (allowed by its namespace-class entry), on the programmed maps.',
      'Compile = load + compileNode(node0), wall clock; RSS of the child process after the compile / peak.',
    ],
    columns: ['cluster (node0)', 'entries programmed', 'busiest endpoint (of quota)', 'node occupancy', 'ipcache (of 131,072)', 'full compile', 'RSS after / peak', 'programming', 'new flow', 'established'],
    rows,
    verdicts,
  });
}

main();
