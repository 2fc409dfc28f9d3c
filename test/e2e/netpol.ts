/**
 * Declares the NetworkPolicy scenario suite over a lab of N nodes: one lab, the 3×3 pods, then
 * every scenario in turn (apply → converge → full TCP+UDP matrix → remove → all allowed again).
 * The same truth tables run on 1 node and on 2 nodes (pods pinned so most pairs cross nodes).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { E2eCluster, type Convergence, type PolicyObject } from './cluster.js';
import { PODS, allowAll, alternatingPlacement, expectedMatrix, podKey } from './model.js';
import { SCENARIOS, type Scenario, type ScenarioContext } from './scenarios.js';

export interface SuiteHandle {
  cluster(): E2eCluster;
  timings: Array<{ scenario: string; steps: Convergence[] }>;
}

/** Registers beforeAll/afterAll and one `it` per scenario inside the caller's describe. */
export function netpolScenarios(nodes: number, tag: string, scenarios: Scenario[] = SCENARIOS): SuiteHandle {
  const dir = join(tmpdir(), `weir-e2e-${tag}-${process.pid}`, 'lab');
  const log: string[] = [];
  const cluster = new E2eCluster({ nodes, dir, prefix: `e${tag}${process.pid}`, placement: alternatingPlacement(nodes), log: (line) => log.push(line) });
  const timings: SuiteHandle['timings'] = [];
  let upOk = false;
  let failures = 0;

  beforeAll(async () => {
    const started = performance.now();
    try {
      await cluster.up();
    } catch (error) {
      process.stdout.write(`lab log tail:\n${log.slice(-40).join('\n')}\n`);
      throw error;
    }
    const initial = await cluster.baseline('initial');
    upOk = true;
    const crossing = PODS.flatMap((f) => PODS.filter((t) => podKey(t) !== podKey(f) && cluster.info(podKey(t)).node !== cluster.info(podKey(f)).node)).length;
    process.stdout.write(`[e2e ${tag}] lab of ${nodes} node(s) up in ${cluster.labUpMs.toFixed(0)} ms; 3x3 pods + servers ready in ${(performance.now() - started).toFixed(0)} ms; `
      + `${crossing}/72 ordered pairs cross nodes; initial all-allowed matrix in ${initial.map((c) => c.ms.toFixed(0)).join('/')} ms (eth0/net1)\n`);
  }, 240_000);

  afterAll(async () => {
    const rows = timings.map((t) => `  ${t.steps.map((s) => `${(s.ms / 1000).toFixed(1)}s`.padStart(6)).join(' ')}  ${t.scenario}`);
    process.stdout.write(`[e2e ${tag}] convergence per step (apply → matrix matches, incl. probe rounds):\n${rows.join('\n')}\n`);
    const left = await cluster.down(failures > 0);
    if (failures > 0) process.stdout.write(`[e2e ${tag}] ${failures} scenario(s) failed; lab logs kept in ${dir}\n`);
    expect(left).toEqual([]);
  }, 120_000);

  for (const scenario of scenarios) {
    it(scenario.name, async () => {
      if (!upOk) throw new Error('the lab did not come up');
      const applied: PolicyObject[] = [];
      const undo: Array<() => Promise<void>> = [];
      const steps: Convergence[] = [];
      const notes: string[] = [];
      const ctx: ScenarioContext = {
        cluster,
        async apply(...policies) {
          for (const p of policies) {
            await cluster.apply(p);
            applied.push(p);
          }
        },
        update: (p) => cluster.update(p),
        async remove(p) {
          await cluster.remove(p);
          const i = applied.indexOf(p);
          if (i >= 0) applied.splice(i, 1);
        },
        async expect(label, truth, network = 'eth0') {
          // An all-allowed expectation equals the state before: re-check so a stale match cannot pass.
          const stable = [...expectedMatrix(truth).values()].every((v) => v);
          steps.push(await cluster.converge(`${scenario.name} / ${label}`, truth, { network, stable }));
        },
        ip: (key, network = 'eth0') => cluster.info(key).ips[network],
        defer: (fn) => { undo.push(fn); },
        note: (line) => { notes.push(line); },
      };
      try {
        await scenario.run(ctx);
      } catch (error) {
        failures++;
        throw error;
      } finally {
        for (const fn of undo.reverse()) await fn().catch((e: unknown) => notes.push(`undo failed: ${String(e)}`));
        for (const p of applied.reverse()) await cluster.remove(p).catch(() => undefined);
        timings.push({ scenario: scenario.name, steps });
        for (const n of notes) process.stdout.write(`[e2e ${tag}] ${scenario.name}: ${n}\n`);
      }
      // Deleting the policies restores traffic: the next scenario starts from all allowed.
      steps.push(await cluster.converge(`${scenario.name}: policies deleted, all allowed`, allowAll));
      if (scenario.usesNet1 === true) steps.push(await cluster.converge(`${scenario.name}: policies deleted, all allowed`, allowAll, { network: 'net1' }));
    }, 90_000);
  }

  return { cluster: () => cluster, timings };
}
