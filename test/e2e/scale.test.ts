/**
 * Issue 7: a lab of 2 nodes × 50 pods comes up (pods placed by the lab's round-robin binder),
 * converges, takes a policy change, and tears down leaving nothing. Prints the time to converge
 * after the pods are created and after the policy change. Traffic is sampled without servers:
 * an allowed SYN is answered by a reset ("refused"), a dropped one times out.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePrivileged } from '../support/privileged.js';
import { E2eCluster } from './cluster.js';
import { alternatingPlacement } from './model.js';

const PODS_PER_NODE = 50;
const NODES = 2;
const TOTAL = PODS_PER_NODE * NODES;
const BOUND_MS = 60_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const say = (line: string) => process.stdout.write(`[e2e scale] ${line}\n`);

interface AgentStatus { pods: number; endpoints: Array<{ pod: string; programmed: boolean; isolation: { ingress: boolean } }> }

function parseStatus(body: unknown): AgentStatus {
  if (typeof body !== 'object' || body === null || !('pods' in body) || !('endpoints' in body) || !Array.isArray(body.endpoints)) {
    throw new Error(`unexpected agent status: ${JSON.stringify(body).slice(0, 200)}`);
  }
  const endpoints = body.endpoints.flatMap((e: unknown) => {
    if (typeof e !== 'object' || e === null || !('pod' in e) || typeof e.pod !== 'string') return [];
    const programmed = 'programmed' in e && e.programmed === true;
    const iso = 'isolation' in e && typeof e.isolation === 'object' && e.isolation !== null && 'ingress' in e.isolation && e.isolation.ingress === true;
    return [{ pod: e.pod, programmed, isolation: { ingress: iso } }];
  });
  return { pods: typeof body.pods === 'number' ? body.pods : 0, endpoints };
}

describePrivileged('e2e scale: 2 nodes × 50 pods', () => {
  const dir = join(tmpdir(), `weir-e2e-scale-${process.pid}`, 'lab');
  const cluster = new E2eCluster({ nodes: NODES, dir, prefix: `esc${process.pid}`, placement: alternatingPlacement(NODES), log: () => undefined });
  const names = Array.from({ length: TOTAL }, (_, i) => `p${String(i).padStart(3, '0')}`);

  const statuses = async (): Promise<AgentStatus[]> =>
    Promise.all(cluster.lab.labState.nodes.map(async (n) => parseStatus(await (await fetch(`${n.agentUrl}/v1/status`)).json())));

  // `lastSeen` says what the condition saw on its last poll, so a timeout names what was missing.
  let lastSeen = '';
  const until = async (what: string, done: () => Promise<boolean>): Promise<number> => {
    const started = performance.now();
    lastSeen = '';
    while (!(await done())) {
      if (performance.now() - started > BOUND_MS) throw new Error(`${what}: not reached within ${BOUND_MS} ms; last seen: ${lastSeen}`);
      await sleep(250);
    }
    return performance.now() - started;
  };

  beforeAll(async () => {
    await cluster.up({ model: false });
    say(`lab of ${NODES} nodes up in ${cluster.labUpMs.toFixed(0)} ms`);
    await cluster.core.createNamespace({
      body: { metadata: { name: 'scale', labels: { 'weir.dev/inject': 'enabled' }, annotations: { 'weir.dev/default-network': 'scale/underlay' } } },
    });
    await cluster.createNad('scale', 'underlay', cluster.defaultNet, { type: 'host-local', ranges: [[{ subnet: '10.77.0.0/16' }]] });
  }, 240_000);

  afterAll(async () => {
    const started = performance.now();
    const left = await cluster.down();
    say(`lab down with ${TOTAL} pods in ${(performance.now() - started).toFixed(0)} ms; left behind: ${left.length === 0 ? 'nothing' : left.join(', ')}`);
    expect(left).toEqual([]);
  }, 180_000);

  it(`${TOTAL} pods come up and converge; a policy change converges on both nodes`, async () => {
    const created = performance.now();
    for (let i = 0; i < names.length; i += 10) {
      await Promise.all(names.slice(i, i + 10).map((name, j) => cluster.core.createNamespacedPod({
        namespace: 'scale',
        body: { metadata: { name, labels: { app: 'scale', group: (i + j) % 2 === 0 ? 'even' : 'odd' } }, spec: { containers: [{ name: 'c', image: 'none' }] } },
      })));
    }
    const upMs = await until('all pods Running and programmed', async () => {
      const list = await cluster.core.listNamespacedPod({ namespace: 'scale' });
      const running = list.items.filter((p) => p.status?.phase === 'Running').length;
      const phases = list.items.map((p) => p.status?.phase ?? 'none').reduce<Record<string, number>>((acc, ph) => ({ ...acc, [ph]: (acc[ph] ?? 0) + 1 }), {});
      const why = list.items.filter((p) => p.status?.phase !== 'Running').map((p) => `${p.metadata?.name ?? '?'}: ${p.status?.conditions?.find((c) => c.status === 'False')?.message ?? 'no condition'}`);
      lastSeen = `pod phases ${JSON.stringify(phases)}; not running: ${why.slice(0, 3).join('; ')}`;
      if (running < TOTAL) return false;
      const st = await statuses();
      lastSeen = st.map((s, i) => `node ${i + 1}: agent pods=${s.pods}, scale endpoints=${s.endpoints.filter((e) => e.pod.startsWith('scale/')).length}, unprogrammed=${s.endpoints.filter((e) => !e.programmed).map((e) => e.pod).slice(0, 5).join(' ')}`).join('; ');
      return st.every((s) => s.pods >= TOTAL && s.endpoints.filter((e) => e.pod.startsWith('scale/')).length === PODS_PER_NODE && s.endpoints.every((e) => e.programmed));
    });
    const convergeUp = performance.now() - created;
    for (const name of names) await cluster.waitRunning({ ns: 'scale', pod: name });
    const perNode = new Map<string, number>();
    for (const info of cluster.pods.values()) perNode.set(info.node, (perNode.get(info.node) ?? 0) + 1);
    say(`${TOTAL} pods created, Running and programmed on both agents ${convergeUp.toFixed(0)} ms after the first create (waited ${upMs.toFixed(0)} ms after the last create); per node ${JSON.stringify(Object.fromEntries(perNode))}`);
    expect([...perNode.values()]).toEqual([PODS_PER_NODE, PODS_PER_NODE]);

    // Sample: sources = one even and one odd pod per node; targets = 5 pods per node.
    const infos = [...cluster.pods.values()];
    const byNode = (node: string) => infos.filter((p) => p.node === node);
    const group = (key: string) => (Number(key.slice('scale/p'.length)) % 2 === 0 ? 'even' : 'odd');
    const sources = ['node-1', 'node-2'].flatMap((n) => ['even', 'odd'].map((g) => byNode(n).find((p) => group(p.key) === g))).flatMap((p) => (p ? [p] : []));
    const targets = ['node-1', 'node-2'].flatMap((n) => byNode(n).slice(10, 15));
    const sample = async (policy: boolean): Promise<boolean> => {
      const results = await Promise.all(sources.map(async (s) => {
        const lines = await cluster.runProbe(s.key, ['probe', '700', ...targets.filter((t) => t.key !== s.key).map((t) => `tcp:${t.ips.eth0}:80`)], 10_000);
        const reached = (l: { ok: boolean; why: string }) => l.why === 'refused';
        return lines.every((l) => reached(l) === (!policy || group(s.key) === 'even'));
      }));
      return results.every(Boolean);
    };
    expect(await sample(false)).toBe(true);

    const policyAt = performance.now();
    await cluster.apply({ kind: 'NetworkPolicy', namespace: 'scale', name: 'even-only', spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { group: 'even' } } }] }] } });
    const mapsMs = await until('every endpoint isolated on both agents', async () => (await statuses()).every((s) => s.endpoints.every((e) => e.isolation.ingress)));
    await until('sampled traffic follows the policy', () => sample(true));
    say(`policy change: both agents report every endpoint isolated after ${mapsMs.toFixed(0)} ms; sampled traffic (${sources.length} sources × ${targets.length} targets) matches ${(performance.now() - policyAt).toFixed(0)} ms after the create`);
  }, 240_000);
});
