/**
 * Runs every benchmark in bench/ one after another (each a separate Node process, so one
 * failing or leaking cannot skew the next), after starting bench/results/latest.md afresh.
 * Benchmarks are the top-level bench/*.ts files other than this runner and its helpers.
 *
 *   npm run bench            all of them
 *   npm run bench -- shaping datapath-prog    only those (file names without .ts)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { RESULTS_FILE, startResults } from './report.js';

/** Modules in bench/ that are not benchmarks. */
const HELPERS = new Set(['run.ts', 'report.ts', 'traffic.ts', 'cluster-model.ts', 'qdisc.ts', 'heap-top.ts']);

function benchmarks(only: readonly string[]): string[] {
  const all = readdirSync('bench')
    .filter((f) => f.endsWith('.ts') && !f.startsWith('.') && !f.startsWith('_') && !HELPERS.has(f) && !f.endsWith('.test.ts') && !f.endsWith('-child.ts'))
    .sort();
  if (only.length === 0) return all;
  const unknown = only.filter((o) => !all.includes(`${o}.ts`));
  if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(', ')}; have ${all.join(', ')}`);
  return all.filter((f) => only.includes(f.replace(/\.ts$/, '')));
}

function main(): void {
  const files = benchmarks(process.argv.slice(2));
  startResults();
  const failed: string[] = [];
  for (const f of files) {
    process.stdout.write(`\n### bench/${f}\n`);
    const started = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', `bench/${f}`], { stdio: 'inherit', timeout: 10 * 60_000 });
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (r.status !== 0) failed.push(`${f} (${r.status ?? r.signal ?? 'error'})`);
    process.stdout.write(`### bench/${f}: ${r.status === 0 ? 'ok' : 'FAILED'} in ${secs} s\n`);
  }
  process.stdout.write(`\nresults appended to ${RESULTS_FILE}\n`);
  if (failed.length > 0) {
    process.stderr.write(`failed: ${failed.join(', ')}\n`);
    process.exitCode = 1;
  }
}

main();
