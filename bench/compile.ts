/**
 * Policy compiler benchmark: 10,000 pods in 100 namespaces on 20 nodes, 1,000 NetworkPolicies
 * (10 shapes per namespace), 10 AdminNetworkPolicies and a BaselineAdminNetworkPolicy.
 * Prints full compile time, peak RSS, incremental p50/p99 (one pod added, one policy changed),
 * and a naive baseline measured in the same run: every policy's selectors evaluated against every
 * pod, which is what the label-set indexes avoid.
 *
 *   node --import tsx bench/compile.ts
 *
 * Knobs for investigation: NS=<n> namespaces (default 100), PHASES=1 prints load/compile/heap for
 * three fresh compiles and exits, ONLY=<0..9> keeps one NetworkPolicy shape and drops the ANPs.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { PolicyCompiler } from '../agent/src/policy/compile.js';
import { parseNetworkPolicy, parsePod, type ClusterState } from '../agent/src/policy/model.js';
import { matchesSelector } from '../agent/src/policy/selector.js';
import { buildCluster, must, PODS_PER_NS, rawPod as rawPodOf, type ClusterShape } from './cluster-model.js';

const NS = Number(process.env.NS ?? 100);
const NODES = 20;
const SHAPE: ClusterShape = { namespaces: NS, nodes: NODES, ...(process.env.ONLY === undefined ? {} : { only: Number(process.env.ONLY) }) };
const rawPod = (ns: number, i: number, app: string): unknown => rawPodOf(SHAPE, ns, i, app);
const buildState = (): ClusterState => buildCluster(SHAPE);

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const ms = (x: number): string => `${x.toFixed(2)} ms`;

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

function main(): void {
  const state = buildState();
  const rows: [string, string, string][] = [];
  const rss0 = process.memoryUsage().rss;

  if (process.env.PHASES !== undefined) {
    for (let i = 0; i < 3; i++) {
      const a = performance.now();
      const cc = new PolicyCompiler().load(state);
      const b = performance.now();
      const o = cc.compileNode({ name: 'node0' });
      const d = performance.now();
      const mu = process.memoryUsage();
      console.error(`heap ${(mu.heapUsed / 2 ** 20).toFixed(0)} MB rss ${(mu.rss / 2 ** 20).toFixed(0)} MB`);
      console.error(`load ${(b - a).toFixed(1)} compile ${(d - b).toFixed(1)} endpoints ${o.endpoints.length} entries ${o.endpoints.reduce((x, e) => x + e.entries.length, 0)}`);
    }
    return;
  }
  const t0 = performance.now();
  const c = new PolicyCompiler().load(state);
  const out = c.compileNode({ name: 'node0' });
  const fullNode = performance.now() - t0;
  const entries = out.endpoints.reduce((s, e) => s + e.entries.length, 0);
  rows.push(['full compile: load + node0 (500 endpoints)', ms(fullNode), '≤ 2000 ms']);
  rows.push(['  ipcache entries / node0 policy entries', `${out.ipcache.length} / ${entries}`, '']);
  const rssFull = process.resourceUsage().maxRSS * 1024;
  rows.push(['peak RSS after full compile (whole process)', `${(rssFull / 2 ** 20).toFixed(0)} MB`, '≤ 300 MB']);

  // Incremental: one pod added (a new Deployment's first pod: new labels, new identity), then the
  // node's state recomputed (cached endpoints reused).
  const addTimes: number[] = [];
  for (let k = 0; k < 200; k++) {
    const pod = must(parsePod(rawPod(k % NS, 1000 + k, `new${k}`)));
    const s = performance.now();
    c.upsertPod({ ...pod, nodeName: 'node0' });
    c.compileNode({ name: 'node0' });
    addTimes.push(performance.now() - s);
  }
  rows.push(['incremental: one pod added (p50 / p99)', `${ms(quantile(addTimes, 0.5))} / ${ms(quantile(addTimes, 0.99))}`, '≤ 20 ms p99']);

  const polTimes: number[] = [];
  for (let k = 0; k < 200; k++) {
    const ns = k % NS;
    const changed = must(parseNetworkPolicy({
      metadata: { namespace: `ns${ns}`, name: 'fe-to-be' },
      spec: { podSelector: { matchLabels: { app: 'app1' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'app0' } } }], ports: [{ port: 8000 + k }] }] },
    }));
    const s = performance.now();
    c.upsertPolicy(changed);
    c.compileNode({ name: 'node0' });
    polTimes.push(performance.now() - s);
  }
  rows.push(['incremental: one policy changed (p50 / p99)', `${ms(quantile(polTimes, 0.5))} / ${ms(quantile(polTimes, 0.99))}`, '≤ 20 ms p99']);

  const wideTimes: number[] = [];
  for (let k = 0; k < 50; k++) {
    const changed = must(parseNetworkPolicy({
      metadata: { namespace: `ns${k % NS}`, name: 'monitoring' },
      spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'monitoring' } } }], ports: [{ port: 9000 + k }] }] },
    }));
    const s = performance.now();
    c.upsertPolicy(changed);
    c.compileNode({ name: 'node0' });
    wideTimes.push(performance.now() - s);
  }
  rows.push(['incremental: namespace-wide policy changed (p50 / p99)', `${ms(quantile(wideTimes, 0.5))} / ${ms(quantile(wideTimes, 0.99))}`, '']);

  const naive = naiveSelectorBaseline(state);
  rows.push([`baseline: naive pod × policy selector evaluation (${(naive.evaluations / 1e6).toFixed(1)} M)`, ms(naive.time), 'same run']);
  const peak = process.resourceUsage().maxRSS * 1024;
  rows.push(['peak RSS over the whole run (incl. incremental loops)', `${(peak / 2 ** 20).toFixed(0)} MB`, '']);
  rows.push(['  RSS before compiling (state + runtime)', `${(rss0 / 2 ** 20).toFixed(0)} MB`, '']);

  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`load average at end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs (timings are wall clock)`);
  console.log(`policy compiler: ${NS * PODS_PER_NS} pods, ${state.networkPolicies.length} NetworkPolicies, ${state.adminNetworkPolicies.length} ANPs + BANP, ${NODES} nodes`);
  for (const [a, b, t] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${t}`);
}

main();
