/**
 * The load side of bench/webhook.ts: POST an AdmissionReview over keep-alive TLS, run closed-loop
 * (saturation) or open-loop (a fixed rate, latency measured from each request's scheduled time so a
 * stall is not hidden by the generator waiting for it), and read a process's CPU time from /proc.
 */
import https from 'node:https';
import { readFileSync } from 'node:fs';

export interface Target {
  readonly name: string;
  readonly port: number;
  readonly ca: string;
  readonly pid: number;
}

export function post(agent: https.Agent, port: number, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/mutate-pods',
        method: 'POST',
        agent,
        servername: 'localhost',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** CPU seconds (user + system) a process has used, from /proc: load-independent cost. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After "pid (comm) ", utime and stime are the 12th and 13th fields, in clock ticks (100 Hz).
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

export interface Run {
  readonly latencies: Float64Array; // sorted, ms
  readonly elapsed: number; // s
  readonly cpuMsPerReview: number;
}

function sortedRun(latencies: number[], elapsed: number, cpu: number): Run {
  return { latencies: Float64Array.from(latencies).sort(), elapsed, cpuMsPerReview: (cpu * 1000) / Math.max(1, latencies.length) };
}

export function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** `connections` workers, each sending the next review as soon as the last is answered. */
export async function closedLoop(t: Target, agent: https.Agent, body: (uid: number) => string, seconds: number, connections: number): Promise<Run> {
  const latencies: number[] = [];
  let uid = 0;
  const cpu0 = cpuSeconds(t.pid);
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  const worker = async (): Promise<void> => {
    while (process.hrtime.bigint() < end) {
      const t0 = process.hrtime.bigint();
      const r = await post(agent, t.port, body(uid++));
      if (r.status !== 200) throw new Error(`${t.name}: HTTP ${r.status}`);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  return sortedRun(latencies, Number(process.hrtime.bigint() - start) / 1e9, cpuSeconds(t.pid) - cpu0);
}

/** Requests at a fixed rate whatever the answers do; latency counts from each scheduled send time. */
export async function openLoop(t: Target, agent: https.Agent, body: (uid: number) => string, seconds: number, perSecond: number): Promise<Run> {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const cpu0 = cpuSeconds(t.pid);
  const start = process.hrtime.bigint();
  const total = Math.round(seconds * perSecond);
  const intervalNs = 1e9 / perSecond;
  for (let i = 0; i < total; i++) {
    const scheduled = start + BigInt(Math.round(i * intervalNs));
    const waitMs = Number(scheduled - process.hrtime.bigint()) / 1e6;
    if (waitMs > 1) await new Promise((resolve) => setTimeout(resolve, waitMs));
    pending.push(
      post(agent, t.port, body(i)).then((r) => {
        if (r.status !== 200) throw new Error(`${t.name}: HTTP ${r.status}`);
        latencies.push(Number(process.hrtime.bigint() - scheduled) / 1e6);
      }),
    );
  }
  await Promise.all(pending);
  return sortedRun(latencies, Number(process.hrtime.bigint() - start) / 1e9, cpuSeconds(t.pid) - cpu0);
}
