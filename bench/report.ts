/**
 * Output of every benchmark: a plain-text table on stdout and the same table as markdown
 * appended to bench/results/latest.md (bench/run.ts starts that file afresh per run, stamped
 * with the date and kernel; a benchmark run on its own appends, adding the stamp if the file
 * is new).
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, release } from 'node:os';
import path from 'node:path';

export const RESULTS_FILE = 'bench/results/latest.md';

export interface Table {
  title: string;
  /** How it was measured, one line each (baseline, repetitions, setup). */
  notes: readonly string[];
  columns: readonly string[];
  rows: ReadonlyArray<readonly string[]>;
  /** Target verdict lines, e.g. "established ≤ 150 ns: met (92 ns)". */
  verdicts: readonly string[];
}

export function stamp(): string {
  return `${new Date().toISOString()} · kernel ${release()} · node ${process.version}`;
}

/** Truncates the results file and writes its header. */
export function startResults(file = RESULTS_FILE): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `# Weir benchmark results\n\n${stamp()}\n`);
}

function textTable(t: Table): string {
  const widths = t.columns.map((c, i) => Math.max(c.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(t.columns), line(widths.map((w) => '-'.repeat(w))), ...t.rows.map(line)].join('\n');
}

function markdownTable(t: Table): string {
  const esc = (s: string): string => s.replaceAll('|', '\\|');
  const head = `| ${t.columns.map(esc).join(' | ')} |`;
  const sep = `|${t.columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`;
  return [head, sep, ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

export function report(t: Table, file = RESULTS_FILE): void {
  // The machine is shared: the load when the table was taken says how much to trust it.
  const load = `load average when reported: ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min)`;
  t = { ...t, notes: [...t.notes, load] };
  const out = [`\n== ${t.title} ==`, ...t.notes, '', textTable(t), '', ...t.verdicts, ''].join('\n');
  process.stdout.write(out);
  if (!existsSync(file)) startResults(file);
  const md = [
    `\n## ${t.title}\n`,
    ...t.notes.map((n) => `- ${n}`),
    '',
    markdownTable(t),
    '',
    ...t.verdicts.map((v) => `- ${v}`),
    '',
  ].join('\n');
  appendFileSync(file, md);
}

/** "met" / "MISSED" with the measured figure, for verdict lines. */
export function verdict(label: string, ok: boolean, measured: string): string {
  return `target ${label}: ${ok ? 'met' : 'MISSED'} (${measured})`;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

export const fmt = {
  ns: (v: number): string => `${v.toFixed(1)} ns`,
  ratio: (v: number): string => `${v.toFixed(2)}×`,
  mbit: (bps: number): string => (bps >= 1e9 ? `${(bps / 1e9).toFixed(2)} Gbit/s` : `${(bps / 1e6).toFixed(1)} Mbit/s`),
  int: (v: number): string => Math.round(v).toLocaleString('en-US'),
  ms: (v: number): string => `${v.toFixed(2)} ms`,
};
