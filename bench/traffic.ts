/**
 * Traffic tools for the benchmarks, run inside network namespaces as argv arrays: iperf3
 * (JSON output, parsed from unknown), ping (RTT summary) and the connrate C probe (compiled
 * here at bench time).
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { execInNetns, type NetLab } from '../harness/support/netns.js';

const execFileP = promisify(execFile);

export interface IperfResult {
  /** Receiver-side average over the whole run. */
  averageBps: number;
  /** Per-interval (1 s) rates as the client reports them (the sender's writes unless reversed). */
  intervalsBps: number[];
  /** Per-interval rates at the receiver (the server's own report with --get-server-output; the client's when reversed). */
  receiverIntervalsBps: number[] | undefined;
  retransmits: number | undefined;
}

function field(v: unknown, path: readonly (string | number)[]): unknown {
  let cur = v;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

function intervalRates(intervals: unknown, what: string): number[] {
  if (!Array.isArray(intervals)) throw new Error(`iperf3 JSON: ${what} missing`);
  return intervals.map((iv: unknown, i) => {
    const b = field(iv, ['sum', 'bits_per_second']);
    if (typeof b !== 'number') throw new Error(`iperf3 JSON: ${what}[${i}].sum.bits_per_second missing`);
    return b;
  });
}

const UNIT: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9 };

/**
 * Per-interval rates from a server's text report (--get-server-output of a server without -J):
 * "[  5]   0.00-1.00   sec  1.14 MBytes  9.56 Mbits/sec", the [SUM] line when there are several
 * streams; the end-of-test lines (ending "receiver") are not intervals.
 */
export function serverIntervals(text: string): number[] {
  const byStart = new Map<string, { sum?: number; streams: number }>();
  for (const m of text.matchAll(/^\[\s*(\w+)\]\s+([\d.]+)-[\d.]+\s+sec\s+[\d.]+ \w?Bytes\s+([\d.]+) ([KMG]?)bits\/sec\s*$/gm)) {
    const [, id, start, value, unit] = m;
    if (id === undefined || start === undefined || value === undefined || unit === undefined) continue;
    const bps = Number(value) * (UNIT[unit] ?? NaN);
    const slot = byStart.get(start) ?? { streams: 0 };
    if (id === 'SUM') slot.sum = bps;
    else slot.streams += bps;
    byStart.set(start, slot);
  }
  return [...byStart.values()].map((s) => s.sum ?? s.streams);
}

/** iperf3 -J output → IperfResult, or an error naming the missing field. */
export function parseIperf(json: unknown, reversed = false): IperfResult {
  const avg = field(json, ['end', 'sum_received', 'bits_per_second']);
  if (typeof avg !== 'number') throw new Error('iperf3 JSON: end.sum_received.bits_per_second missing');
  const intervalsBps = intervalRates(field(json, ['intervals']), 'intervals');
  const server = field(json, ['server_output_text']);
  const receiverIntervalsBps = reversed ? intervalsBps : typeof server === 'string' ? serverIntervals(server) : undefined;
  const rt = field(json, ['end', 'sum_sent', 'retransmits']);
  return { averageBps: avg, intervalsBps, receiverIntervalsBps, retransmits: typeof rt === 'number' ? rt : undefined };
}

/** `streams` parallel TCP flows (-P); the figures are their sum. */
export async function iperf(ns: string, server: string, seconds: number, opts: { reverse?: boolean; streams?: number } = {}): Promise<IperfResult> {
  const reversed = opts.reverse === true;
  const args = ['iperf3', '-c', server, '-t', String(seconds), '-i', '1', '-J', '--get-server-output', '-P', String(opts.streams ?? 1), ...(reversed ? ['-R'] : [])];
  const r = await execInNetns(ns, args, (seconds + 30) * 1000);
  if (r.code !== 0) throw new Error(`iperf3 in ${ns} failed (${r.code}): ${r.stderr || r.stdout.slice(0, 400)}`);
  return parseIperf(JSON.parse(r.stdout), reversed);
}

/** Starts `iperf3 -s` in `serverNs` and waits until a client in `clientNs` gets through. */
export async function startIperfServer(lab: NetLab, serverNs: string, clientNs: string, serverIp: string): Promise<void> {
  lab.spawnInNetns(serverNs, ['iperf3', '-s']);
  for (let i = 0; i < 50; i++) {
    const probe = await execInNetns(clientNs, ['iperf3', '-c', serverIp, '-n', '1K']);
    if (probe.code === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`iperf3 server in ${serverNs} not reachable from ${clientNs}`);
}

export interface PingResult {
  avgMs: number;
  maxMs: number;
  sent: number;
  received: number;
}

/** ping's summary lines → PingResult. */
export function parsePing(out: string): PingResult {
  const counts = /(\d+) packets transmitted, (\d+) received/.exec(out);
  const rtt = /= [\d.]+\/([\d.]+)\/([\d.]+)\//.exec(out);
  if (counts === null) throw new Error(`ping: no summary in ${JSON.stringify(out.slice(-200))}`);
  return {
    sent: Number(counts[1]),
    received: Number(counts[2]),
    avgMs: rtt === null ? NaN : Number(rtt[1]),
    maxMs: rtt === null ? NaN : Number(rtt[2]),
  };
}

/** `count` pings at `intervalSeconds` (default 0.2; below 0.2 needs root, which the benchmarks are). */
export async function ping(ns: string, target: string, count: number, intervalSeconds = 0.2): Promise<PingResult> {
  const r = await execInNetns(ns, ['ping', '-q', '-i', String(intervalSeconds), '-W', '2', '-c', String(count), target], (count * intervalSeconds + 10) * 1000);
  return parsePing(r.stdout);
}

export const CONNRATE = 'build/bench/connrate';

export async function buildConnrate(): Promise<void> {
  mkdirSync('build/bench', { recursive: true });
  await execFileP('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', CONNRATE, 'bench/tools/connrate.c']);
}

export interface ConnRate {
  perSecond: number;
  failures: number;
}

export async function connectLoop(ns: string, server: string, port: number, seconds: number): Promise<ConnRate> {
  const r = await execInNetns(ns, [CONNRATE, 'connect', server, String(port), String(seconds)], (seconds + 20) * 1000);
  const m = /^(\d+) (\d+) ([\d.]+)/.exec(r.stdout.trim());
  if (r.code !== 0 || m === null) throw new Error(`connrate failed (${r.code}): ${r.stderr || r.stdout}`);
  return { perSecond: Number(m[1]) / Number(m[3]), failures: Number(m[2]) };
}

/** Starts the connrate server in `ns` and resolves once it listens. */
export async function startConnServer(lab: NetLab, ns: string, port: number): Promise<void> {
  const child = lab.spawnInNetns(ns, [CONNRATE, 'serve', String(port)]);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`connrate server exited ${code}`)));
  });
}
