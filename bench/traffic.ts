/**
 * Traffic tools for the benchmarks, run inside network namespaces as argv arrays: iperf3
 * (JSON output, parsed from unknown), ping (RTT summary) and the connrate C probe (compiled
 * here at bench time).
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { execInNetns, type NetLab } from '../test/support/netns.js';

const execFileP = promisify(execFile);

export interface IperfResult {
  /** Receiver-side average over the whole run. */
  averageBps: number;
  /** Per-interval (1 s) rates as the client reports them. */
  intervalsBps: number[];
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

/** iperf3 -J output → IperfResult, or an error naming the missing field. */
export function parseIperf(json: unknown): IperfResult {
  const avg = field(json, ['end', 'sum_received', 'bits_per_second']);
  if (typeof avg !== 'number') throw new Error('iperf3 JSON: end.sum_received.bits_per_second missing');
  const intervals = field(json, ['intervals']);
  if (!Array.isArray(intervals)) throw new Error('iperf3 JSON: intervals missing');
  const intervalsBps = intervals.map((iv: unknown, i) => {
    const b = field(iv, ['sum', 'bits_per_second']);
    if (typeof b !== 'number') throw new Error(`iperf3 JSON: intervals[${i}].sum.bits_per_second missing`);
    return b;
  });
  const rt = field(json, ['end', 'sum_sent', 'retransmits']);
  return { averageBps: avg, intervalsBps, retransmits: typeof rt === 'number' ? rt : undefined };
}

export async function iperf(ns: string, server: string, seconds: number, opts: { reverse?: boolean } = {}): Promise<IperfResult> {
  const args = ['iperf3', '-c', server, '-t', String(seconds), '-i', '1', '-J', ...(opts.reverse === true ? ['-R'] : [])];
  const r = await execInNetns(ns, args, (seconds + 30) * 1000);
  if (r.code !== 0) throw new Error(`iperf3 in ${ns} failed (${r.code}): ${r.stderr || r.stdout.slice(0, 400)}`);
  return parseIperf(JSON.parse(r.stdout));
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

/** `count` pings at 0.2 s intervals. */
export async function ping(ns: string, target: string, count: number): Promise<PingResult> {
  const r = await execInNetns(ns, ['ping', '-q', '-i', '0.2', '-W', '2', '-c', String(count), target], (count * 0.2 + 10) * 1000);
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
