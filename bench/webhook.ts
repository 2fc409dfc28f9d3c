/**
 * Admission benchmark: AdmissionReviews per second and p50/p99 latency over TLS on loopback, one
 * webhook child process, a pod with three networks and bandwidth in both directions, against a
 * plain allow-all handler behind the same server measured in the same run.
 *
 *   node --import tsx bench/webhook.ts [--seconds 10] [--connections 4]
 *
 * Load comes from this process over keep-alive HTTPS agents (a few concurrent connections, as the
 * API server keeps them). The machine has 2 cores shared by the load generator and the webhook, so
 * the numbers are a floor for a dedicated node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { fmt, report, verdict } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const SECONDS = arg('seconds', 10);
const CONNECTIONS = arg('connections', 4);
const WARMUP_SECONDS = 2;

function review(uid: number): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `bench-${uid}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: 'bench',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          generateName: 'web-7d9f8-',
          namespace: 'bench',
          labels: { app: 'web', 'pod-template-hash': '7d9f8' },
          annotations: {
            'v1.multus-cni.io/default-network': 'bench/underlay-a',
            'k8s.v1.cni.cncf.io/networks': 'underlay-b,underlay-c@data0',
            'kubernetes.io/ingress-bandwidth': '100M',
            'kubernetes.io/egress-bandwidth': '50M',
            'ipam.spidernet.io/default-route-nic': 'eth0',
          },
        },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'registry.example/web:1.2.3',
              ports: [{ containerPort: 8080, protocol: 'TCP' }],
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
            },
          ],
          restartPolicy: 'Always',
          dnsPolicy: 'ClusterFirst',
        },
      },
      dryRun: false,
    },
  });
}

interface Child {
  proc: ChildProcess;
  port: number;
  ca: string;
}

async function startChild(mode: 'weir' | 'allow-all'): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'webhook-child.ts'), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stdout = proc.stdout;
  if (stdout === null) throw new Error('no stdout');
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface(stdout);
    rl.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`${mode} webhook exited with ${String(code)}`)));
  });
  const m = /^PORT (\d+) (\S+)$/.exec(line);
  if (m === null) throw new Error(`unexpected child output: ${line}`);
  return { proc, port: Number(m[1]), ca: Buffer.from(m[2] ?? '', 'base64').toString('utf8') };
}

function post(agent: https.Agent, port: number, body: string): Promise<{ status: number; body: string }> {
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
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After "pid (comm) ", utime and stime are the 12th and 13th fields, in clock ticks (100 Hz).
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

interface Result {
  handler: string;
  cpuMsPerReview: number;
  reviews: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

async function measure(name: string, child: Child, check: (body: string) => void): Promise<Result> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: CONNECTIONS, ca: child.ca });
  const first = await post(agent, child.port, review(0));
  if (first.status !== 200) throw new Error(`${name}: HTTP ${first.status}: ${first.body}`);
  check(first.body);
  let uid = 1;
  const run = async (seconds: number, record: boolean): Promise<{ latencies: number[]; elapsed: number }> => {
    const latencies: number[] = [];
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round(seconds * 1e9));
    const worker = async () => {
      while (process.hrtime.bigint() < end) {
        const t0 = process.hrtime.bigint();
        const r = await post(agent, child.port, review(uid++));
        const t1 = process.hrtime.bigint();
        if (r.status !== 200) throw new Error(`${name}: HTTP ${r.status}`);
        if (record) latencies.push(Number(t1 - t0) / 1e6);
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
    return { latencies, elapsed: Number(process.hrtime.bigint() - start) / 1e9 };
  };
  await run(WARMUP_SECONDS, false);
  const cpu0 = cpuSeconds(child.proc.pid);
  const { latencies, elapsed } = await run(SECONDS, true);
  const cpu = cpuSeconds(child.proc.pid) - cpu0;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return {
    handler: name,
    cpuMsPerReview: (cpu * 1000) / Math.max(1, latencies.length),
    reviews: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? 0,
  };
}

async function stopChild(c: Child): Promise<void> {
  await new Promise<void>((resolve) => {
    c.proc.once('exit', () => resolve());
    c.proc.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const results: Result[] = [];
  for (const mode of ['allow-all', 'weir'] as const) {
    const child = await startChild(mode);
    try {
      results.push(
        await measure(mode === 'weir' ? 'weir (3 networks + bandwidth)' : 'allow-all', child, (body) => {
          const r = (JSON.parse(body) as { response: { allowed: boolean; patch?: string } }).response;
          if (!r.allowed) throw new Error(`${mode}: the benchmark pod was denied: ${body}`);
          if (mode === 'weir' && r.patch === undefined) throw new Error('weir: expected a patch (weir.dev/intent)');
        }),
      );
    } finally {
      await stopChild(child);
    }
  }
  const base = results[0];
  const weir = results[1];
  const rows = results.map((r) => [
    r.handler,
    String(r.reviews),
    r.perSecond.toFixed(0),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    r.max.toFixed(2),
    r.cpuMsPerReview.toFixed(3),
    fmt.ratio(base === undefined ? 1 : r.perSecond / base.perSecond),
  ]);
  report({
    title: 'Webhook: AdmissionReviews over loopback TLS',
    notes: [
      `${SECONDS} s per handler after ${WARMUP_SECONDS} s warm-up, ${CONNECTIONS} keep-alive TLS connections, 1 webhook process; load generator on the same 2 cores`,
      'pod with 3 networks + bandwidth both ways (POST /mutate-pods); baseline: allow-all decider behind the same server',
      'cpu ms/rev: webhook process CPU (user+sys, from /proc) per review, the load-independent cost',
      weir === undefined ? '' : `weir CPU per review ${weir.cpuMsPerReview.toFixed(3)} ms ≈ ${Math.round(1000 / Math.max(weir.cpuMsPerReview, 1e-6))} reviews/s per fully available core`,
    ].filter((n) => n !== ''),
    columns: ['handler', 'reviews', 'rev/s', 'p50 ms', 'p99 ms', 'max ms', 'cpu ms/rev', 'rate vs allow-all'],
    rows,
    verdicts:
      weir === undefined
        ? []
        : [
            verdict('≥ 3000 reviews/s', weir.perSecond >= 3000, `${weir.perSecond.toFixed(0)}/s`),
            verdict('p99 ≤ 5 ms', weir.p99 <= 5, `${weir.p99.toFixed(2)} ms`),
          ],
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
