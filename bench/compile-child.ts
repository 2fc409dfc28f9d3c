/**
 * One size of bench/compile.ts, in a process of its own (its peak RSS is this size's alone):
 * builds the synthetic cluster (bench/cluster-model.ts) with <namespaces> × 100 pods on <nodes> nodes,
 * times the full compile of node0 and the incremental paths, and prints one JSON line.
 * Args: <namespaces> <nodes> [naive | heap]: `naive` also times the baseline (every policy's selectors
 * against every pod, what the label-set indexes avoid); `heap` only writes a heap snapshot after the
 * full compile and prints its path.
 *
 * Knobs for investigation: PHASES=1 prints load/compile/heap for three fresh compiles and exits,
 * ONLY=<0..9> keeps one NetworkPolicy shape and drops the ANPs, SERVICES=1 adds 10 ClusterIP Services
 * per namespace with their EndpointSlices (bench/cluster-model.ts).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { PolicyCompiler } from '../agent/src/policy/compile.js';
import { parseNetworkPolicy, parsePod, type ClusterState } from '../agent/src/policy/model.js';
import { matchesSelector } from '../agent/src/policy/selector.js';
import { parseEndpointSlice } from '../agent/src/policy/service-model.js';
import { buildCluster, must, podIp, rawPod, type ClusterShape } from './cluster-model.js';

const NS = Number(process.argv[2] ?? 100);
const NODES = Number(process.argv[3] ?? 20);
const NAIVE = process.argv[4] === 'naive';
const HEAP = process.argv[4] === 'heap';
/** Timed runs of each incremental loop that come first and are reported apart (JIT warm-up). */
const WARMUP = 50;
const SHAPE: ClusterShape = {
  namespaces: NS, nodes: NODES, ...(process.env.ONLY === undefined ? {} : { only: Number(process.env.ONLY) }), ...(process.env.SERVICES === '1' ? { services: true } : {}),
};

export interface CompileResult {
  /** The first `warmup` samples of podAdded / policyChanged ran first (JIT warm-up). */
  warmup: number;
  pods: number;
  networkPolicies: number;
  endpoints: number;
  entries: number;
  ipcache: number;
  rssBeforeMb: number;
  fullCompileMs: number;
  rssAfterCompileMb: number;
  heapAfterCompileMb: number;
  podAdded: number[];
  /** CPU time (user + system, every thread of the process) of each pod added: wall clock minus time the shared machine took away. */
  podAddedCpu: number[];
  policyChanged: number[];
  policyChangedCpu: number[];
  widePolicyChanged: number[];
  /** SERVICES=1: an EndpointSlice changed (a backend from another namespace added or taken out again), node0 recomputed. */
  sliceChanged?: number[];
  sliceChangedCpu?: number[];
  peakRssMb: number;
  naiveMs?: number;
  naiveEvaluations?: number;
}

const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);
const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

function naiveSelectorBaseline(state: ClusterState): { time: number; evaluations: number } {
  // What a compiler without label-set indexes does: every policy's subject and peer selectors
  // against every pod, for every policy.
  const nsLabels = new Map(state.namespaces.map((n) => [n.name, n.labels]));
  const t0 = performance.now();
  let evaluations = 0;
  let hits = 0;
  for (const p of state.networkPolicies) {
    for (const pod of state.pods) {
      evaluations++;
      if (pod.namespace === p.namespace && matchesSelector(p.podSelector, pod.labels)) hits++;
      for (const r of p.ingress) {
        if (r.peers === 'all') continue;
        for (const peer of r.peers) {
          if (peer.kind !== 'pods') continue;
          evaluations++;
          const nsOk = peer.namespaces.kind === 'name' ? pod.namespace === peer.namespaces.name : matchesSelector(peer.namespaces.selector, nsLabels.get(pod.namespace) ?? {});
          if (nsOk && matchesSelector(peer.pods, pod.labels)) hits++;
        }
      }
    }
  }
  return { time: performance.now() - t0 + (hits < 0 ? 1 : 0), evaluations };
}

function phases(state: ClusterState): void {
  for (let i = 0; i < 3; i++) {
    const a = performance.now();
    const cc = new PolicyCompiler().load(state);
    const b = performance.now();
    const o = cc.compileNode({ name: 'node0' });
    const d = performance.now();
    const mu = process.memoryUsage();
    console.error(`heap ${mb(mu.heapUsed)} MB rss ${mb(mu.rss)} MB`);
    console.error(`load ${(b - a).toFixed(1)} compile ${(d - b).toFixed(1)} endpoints ${o.endpoints.length} entries ${o.endpoints.reduce((x, e) => x + e.entries.length, 0)}`);
  }
}

function main(): void {
  const state = buildCluster(SHAPE);
  if (process.env.PHASES !== undefined) return phases(state);
  const rssBeforeMb = mb(process.memoryUsage().rss);

  const t0 = performance.now();
  const c = new PolicyCompiler().load(state);
  const out = c.compileNode({ name: 'node0' });
  const fullCompileMs = performance.now() - t0;
  // Counted now: later loops patch these shared entry arrays in place (compile.ts compileNode).
  const entries = out.endpoints.reduce((s, e) => s + e.entries.length, 0);
  const mu = process.memoryUsage();
  if (HEAP) {
    // Only the snapshot: the caller (bench/compile.ts) reads it in its own process.
    process.stdout.write(`${JSON.stringify({ snapshot: writeHeapSnapshot(join(tmpdir(), `weir-bench-compile-${process.pid}.heapsnapshot`)), endpoints: out.endpoints.length })}\n`);
    return;
  }

  // One pod added (a new Deployment's first pod: new labels, new identity), then the node's state
  // recomputed (cached endpoints reused).
  // The first WARMUP of each loop are timed apart: the JIT compiles these paths on their first
  // runs, once per agent process (bench/compile.ts reports them separately).
  const podAdded: number[] = [];
  const podAddedCpu: number[] = [];
  for (let k = 0; k < WARMUP + 200; k++) {
    const pod = must(parsePod(rawPod(SHAPE, k % NS, 1000 + k, `new${k}`)));
    const cpu = process.cpuUsage();
    const s = performance.now();
    c.upsertPod({ ...pod, nodeName: 'node0' });
    c.compileNode({ name: 'node0' });
    podAdded.push(performance.now() - s);
    podAddedCpu.push(cpuMs(process.cpuUsage(cpu)));
  }

  const policyChanged: number[] = [];
  const policyChangedCpu: number[] = [];
  for (let k = 0; k < WARMUP + 200; k++) {
    const changed = must(parseNetworkPolicy({
      metadata: { namespace: `ns${k % NS}`, name: 'fe-to-be' },
      spec: { podSelector: { matchLabels: { app: 'app1' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'app0' } } }], ports: [{ port: 8000 + k }] }] },
    }));
    const cpu = process.cpuUsage();
    const s = performance.now();
    c.upsertPolicy(changed);
    c.compileNode({ name: 'node0' });
    policyChanged.push(performance.now() - s);
    policyChangedCpu.push(cpuMs(process.cpuUsage(cpu)));
  }

  const widePolicyChanged: number[] = [];
  for (let k = 0; k < 50; k++) {
    const changed = must(parseNetworkPolicy({
      metadata: { namespace: `ns${k % NS}`, name: 'monitoring' },
      spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'monitoring' } } }], ports: [{ port: 9000 + k }] }] },
    }));
    const s = performance.now();
    c.upsertPolicy(changed);
    c.compileNode({ name: 'node0' });
    widePolicyChanged.push(performance.now() - s);
  }

  // SERVICES=1: an EndpointSlice of app7 in a namespace with pods on node0 changes, as endpoints
  // come and go: a backend of another namespace added, then taken out again (the app8 pods' egress
  // rule allows app7 of its own namespace: their ClusterIP entry goes, then comes back).
  const sliceChanged: number[] = [];
  const sliceChangedCpu: number[] = [];
  for (let k = 0; SHAPE.services === true && k < WARMUP + 200; k++) {
    const ns = k % NS;
    const addresses = Array.from({ length: 10 }, (_, j) => podIp(ns, 7 + 10 * j));
    if (k % 2 === 0) addresses.push(podIp((ns + 1) % NS, 7));
    const slice = must(parseEndpointSlice({
      metadata: { namespace: `ns${ns}`, name: 'app7-1', labels: { 'kubernetes.io/service-name': 'app7' } }, addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }],
      endpoints: addresses.map((a) => ({ addresses: [a] })),
    }));
    const cpu = process.cpuUsage();
    const s = performance.now();
    c.upsertEndpointSlice(slice);
    c.compileNode({ name: 'node0' });
    sliceChanged.push(performance.now() - s);
    sliceChangedCpu.push(cpuMs(process.cpuUsage(cpu)));
  }

  const result: CompileResult = {
    warmup: WARMUP,
    pods: state.pods.length,
    networkPolicies: state.networkPolicies.length,
    endpoints: out.endpoints.length,
    entries,
    ipcache: out.ipcache.length,
    rssBeforeMb,
    fullCompileMs,
    rssAfterCompileMb: mb(mu.rss),
    heapAfterCompileMb: mb(mu.heapUsed),
    podAdded,
    podAddedCpu,
    policyChanged,
    policyChangedCpu,
    widePolicyChanged,
    ...(SHAPE.services === true ? { sliceChanged, sliceChangedCpu } : {}),
    peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
  };
  if (NAIVE) {
    const naive = naiveSelectorBaseline(state);
    result.naiveMs = naive.time;
    result.naiveEvaluations = naive.evaluations;
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
