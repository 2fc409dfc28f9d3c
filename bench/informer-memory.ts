/**
 * Memory of the agent's pod cache with 10,000 pods, before and after slimming cached objects
 * (agent/src/kube/slim.ts: managedFields, kubectl's last-applied copy, env, volumes, probes and
 * container statuses dropped as each object arrives). Baseline, in the same run: the same
 * Reflector keeping the objects as sent. Each variant runs in a process of its own
 * (bench/informer-memory-child.ts); the pods are a Deployment replica as the API server sends it
 * (agent/src/kube/testkit.ts), delivered as watch events.
 *
 *   node --import tsx bench/informer-memory.ts [pods=10000]
 */
import { execFileSync } from 'node:child_process';
import { fmt, report, verdict } from './report.js';

const PODS = Number(process.argv[2] ?? 10_000);

interface Sample {
  variant: string;
  wireBytes: number;
  heapBytes: number;
  rssBefore: number;
  rssAfter: number;
  ingestMs: number;
}

function run(variant: 'raw' | 'slim'): Sample {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/informer-memory-child.ts', variant, String(PODS)], {
    encoding: 'utf8', timeout: 5 * 60_000,
  });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Sample;
}

const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const raw = run('raw');
const slim = run('slim');
const row = (name: string, s: Sample): string[] => [
  name, mib(s.heapBytes), `${fmt.int(s.heapBytes / PODS)} B`, mib(s.rssBefore), mib(s.rssAfter), mib(s.rssAfter - s.rssBefore), `${(s.ingestMs / 1000).toFixed(1)} s`,
];
report({
  title: `Agent pod cache memory, ${fmt.int(PODS)} pods`,
  notes: [
    `Each pod ${fmt.int(raw.wireBytes / PODS)} bytes of wire JSON (managedFields of 3 managers, last-applied, 2 containers with env/probes/mounts, statuses).`,
    'Heap: V8 heap used after the pods arrived minus before, after 3 forced GCs. RSS: the process before and after, in its own process per variant.',
    'Baseline "as sent" is the same Reflector keeping the objects unchanged (the agent before slimming).',
  ],
  columns: ['cache keeps', 'heap held', 'per pod', 'RSS before', 'RSS after', 'RSS growth', 'ingest time'],
  rows: [row('objects as sent (baseline)', raw), row('slimmed (agent/src/kube/slim.ts)', slim)],
  verdicts: [verdict('slimmed cache holds ≤ 1/2 of the baseline heap', slim.heapBytes <= raw.heapBytes / 2, fmt.ratio(slim.heapBytes / raw.heapBytes))],
});
