/**
 * Admission benchmark: Weir's webhook against the Go webhook the field would write instead
 * (bench/go-webhook: controller-runtime's admission package, the same decision shape, the same kind
 * of TLS certificate) and against an allow-all handler behind Weir's own server, all in one run.
 *
 *   node --import tsx bench/webhook.ts [--seconds 10] [--connections 4] [--rate 1000]
 *
 * Each server is pinned to CPU 1 (taskset) and this load generator to CPU 0, so "reviews/s at
 * saturation" is throughput per core. Per server: closed-loop saturation over keep-alive TLS
 * connections (as the API server keeps them), then an open loop at a fixed rate whose latency counts
 * from each request's scheduled time, and the server's CPU ms per review from /proc.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import https from 'node:https';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { writeFileAtomicSync } from '../common/src/files.js';
import { generateCa, issueServingCert } from '../webhook/src/tls/certs.js';
import { fmt, report, verdict } from './report.js';
import { closedLoop, openLoop, post, quantile, type Run, type Target } from './webhook-load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER_CPU = '1';
const LOAD_CPU = '0';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const SECONDS = arg('seconds', 10);
const CONNECTIONS = arg('connections', 4);
const RATE = arg('rate', 1000);
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

interface Server extends Target {
  readonly proc: ChildProcess;
}

/** Waits for the child's "PORT <n> [ca]" line. */
async function portLine(name: string, proc: ChildProcess): Promise<string> {
  const stdout = proc.stdout;
  if (stdout === null) throw new Error(`${name}: no stdout`);
  return new Promise<string>((resolve, reject) => {
    createInterface(stdout).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`${name} exited with ${String(code)} before listening`)));
  });
}

async function startNode(mode: 'weir' | 'allow-all'): Promise<Server> {
  const proc = spawn('taskset', ['-c', SERVER_CPU, process.execPath, '--import', 'tsx', path.join(here, 'webhook-child.ts'), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const m = /^PORT (\d+) (\S+)$/.exec(await portLine(mode, proc));
  if (m === null || proc.pid === undefined) throw new Error(`${mode}: unexpected start-up output`);
  return { name: mode, proc, pid: proc.pid, port: Number(m[1]), ca: Buffer.from(m[2] ?? '', 'base64').toString('utf8') };
}

/** The Go baseline binary, built into the Weir cache when its source is newer than the binary. */
function goWebhookBinary(): string {
  const source = path.join(here, 'go-webhook');
  const binary = path.join(process.env.WEIR_CACHE ?? path.join(homedir(), '.cache', 'weir'), 'bin', 'bench-go-webhook');
  const newest = Math.max(...['main.go', 'go.mod', 'go.sum'].map((f) => statSync(path.join(source, f)).mtimeMs));
  if (!existsSync(binary) || statSync(binary).mtimeMs < newest) {
    process.stdout.write('building the Go baseline (bench/go-webhook; the first build takes minutes)\n');
    const built = spawnSync('go', ['build', '-o', binary, '.'], { cwd: source, stdio: 'inherit', env: { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' } });
    if (built.status !== 0) throw new Error('go build of bench/go-webhook failed');
  }
  return binary;
}

async function startGo(certDir: string): Promise<Server> {
  const now = new Date();
  const ca = generateCa('bench-ca', now, 86_400_000);
  const serving = issueServingCert(ca, { dns: ['localhost'], ips: ['127.0.0.1'] }, now, 86_400_000);
  writeFileAtomicSync(path.join(certDir, 'tls.crt'), serving.certPem);
  writeFileAtomicSync(path.join(certDir, 'tls.key'), serving.keyPem);
  const proc = spawn('taskset', ['-c', SERVER_CPU, goWebhookBinary(), '--cert-dir', certDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const m = /^PORT (\d+)$/.exec(await portLine('go', proc));
  if (m === null || proc.pid === undefined) throw new Error('go: unexpected start-up output');
  return { name: 'go (controller-runtime)', proc, pid: proc.pid, port: Number(m[1]), ca: ca.certPem };
}

async function stop(s: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    s.proc.once('exit', () => resolve());
    s.proc.kill('SIGTERM');
  });
}

interface Result {
  readonly name: string;
  readonly saturation: Run;
  readonly fixedRate: Run;
}

function checkFirst(name: string, status: number, body: string, wantPatch: boolean): void {
  if (status !== 200) throw new Error(`${name}: HTTP ${status}: ${body}`);
  const r = (JSON.parse(body) as { response: { allowed: boolean; patch?: string } }).response;
  if (!r.allowed) throw new Error(`${name}: the benchmark pod was denied: ${body}`);
  if (wantPatch && r.patch === undefined) throw new Error(`${name}: expected a patch (the intent annotation)`);
}

async function measure(server: Server, wantPatch: boolean): Promise<Result> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: Math.max(CONNECTIONS, 64), ca: server.ca });
  try {
    const first = await post(agent, server.port, review(0));
    checkFirst(server.name, first.status, first.body, wantPatch);
    await closedLoop(server, agent, review, WARMUP_SECONDS, CONNECTIONS);
    const saturation = await closedLoop(server, agent, review, SECONDS, CONNECTIONS);
    const fixedRate = await openLoop(server, agent, review, SECONDS, RATE);
    return { name: server.name, saturation, fixedRate };
  } finally {
    agent.destroy();
  }
}

async function main(): Promise<void> {
  const pinned = spawnSync('taskset', ['-pc', LOAD_CPU, String(process.pid)]);
  if (pinned.status !== 0) throw new Error(`taskset could not pin the load generator: ${pinned.stderr.toString()}`);
  const certDir = mkdtempSync(path.join(tmpdir(), 'weir-bench-go-'));
  const results: Result[] = [];
  try {
    const starts: Array<[() => Promise<Server>, boolean]> = [
      [() => startNode('allow-all'), false],
      [() => startNode('weir'), true],
      [() => startGo(certDir), true],
    ];
    for (const [start, wantPatch] of starts) {
      const server = await start();
      try {
        results.push(await measure(server, wantPatch));
      } finally {
        await stop(server);
      }
    }
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
  const [, weir, go] = results;
  if (weir === undefined || go === undefined) throw new Error('missing results');
  const perSecond = (r: Result): number => r.saturation.latencies.length / r.saturation.elapsed;
  const p99 = (r: Result): number => quantile(r.fixedRate.latencies, 0.99);
  report({
    title: 'Webhook: AdmissionReviews over loopback TLS, Weir against a Go (controller-runtime) webhook',
    notes: [
      `each server pinned to CPU ${SERVER_CPU}, the load generator to CPU ${LOAD_CPU} (taskset); ${SECONDS} s per phase after ${WARMUP_SECONDS} s warm-up`,
      `saturation: ${CONNECTIONS} keep-alive TLS connections, closed loop; fixed rate: ${RATE} reviews/s open loop, latency from each scheduled send`,
      'pod with 3 networks + bandwidth both ways (POST /mutate-pods); the Go webhook reads the namespace and NADs from a client-go indexer and answers one JSON patch, as Weir does from its caches',
      'cpu ms/rev: server process CPU (user+sys, from /proc) per review at saturation',
    ],
    columns: ['server', 'rev/s at saturation', 'cpu ms/rev', `p50 ms @${RATE}/s`, `p99 ms @${RATE}/s`, `max ms @${RATE}/s`, 'rev/s vs go'],
    rows: results.map((r) => [
      r.name,
      perSecond(r).toFixed(0),
      r.saturation.cpuMsPerReview.toFixed(3),
      quantile(r.fixedRate.latencies, 0.5).toFixed(2),
      p99(r).toFixed(2),
      (r.fixedRate.latencies[r.fixedRate.latencies.length - 1] ?? 0).toFixed(2),
      fmt.ratio(perSecond(r) / perSecond(go)),
    ]),
    verdicts: [
      verdict('Weir reviews/s per core ≥ Go', perSecond(weir) >= perSecond(go), `${perSecond(weir).toFixed(0)} vs ${perSecond(go).toFixed(0)}/s, ${fmt.ratio(perSecond(weir) / perSecond(go))}`),
      verdict(`Weir p99 at ${RATE}/s ≤ Go`, p99(weir) <= p99(go), `${p99(weir).toFixed(2)} vs ${p99(go).toFixed(2)} ms`),
      verdict('≥ 3000 reviews/s', perSecond(weir) >= 3000, `${perSecond(weir).toFixed(0)}/s`),
    ],
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
