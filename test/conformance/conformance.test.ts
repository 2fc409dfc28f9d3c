// The network-policy-api v0.3.0 conformance suite, on a simulated cluster, against Weir's policy
// engine (the parsers, compiler and evaluator `weir explain` and the agent use). Manifests and
// expectations are the suite's own files, read from the Go module; see docs/conformance/README.md.
//
// Standard profile: tests whose features are all in StandardFeatures; experimental: the rest. No
// test is skipped, every PokeServer of every test is checked, and a statement the interpreter does
// not know fails the test rather than being ignored.
import { describe, expect, it } from 'vitest';
import { readConstants, readPlans, type TestPlan } from './go-plan.js';
import { Interpreter, type Poke } from './interpret.js';
import { moduleDir, readFeatures, readGoTests, readManifest } from './upstream.js';
import { World } from './world.js';

const dir = await moduleDir();
const goTests = await readGoTests(dir);
const features = await readFeatures(dir);
const constants = readConstants(goTests.values());
const plans: TestPlan[] = [...goTests].flatMap(([file, source]) => readPlans(file, source, features.names));
const base = await readManifest(dir, 'base/manifests.yaml');

async function runPlan(plan: TestPlan): Promise<Poke[]> {
  const world = new World();
  world.apply(base, 'base/manifests.yaml');
  for (const m of plan.manifests) world.apply(await readManifest(dir, m), m);
  const interpreter = new Interpreter(world, plan, constants);
  interpreter.run();
  return interpreter.pokes;
}

const describePoke = (p: Poke): string =>
  `${p.test} [${p.subtest}] line ${p.line}: ${p.client} -> ${p.server} ${p.port}/${p.protocol}: suite expects ${p.expected ? 'connect' : 'no connect'}, ` +
  `Weir ${p.connected ? 'connects' : p.listening ? 'denies' : 'nothing listens'} (${p.rule})`;

const isStandard = (p: TestPlan): boolean => p.features.every((f) => features.standard.includes(f));

describe('network-policy-api v0.3.0 conformance suite (simulated cluster, Weir policy engine)', () => {
  it('reads every ConformanceTest and every PokeServer of the suite', () => {
    const declared = [...goTests.values()].reduce((n, s) => n + (s.match(/^var \w+ = suite\.ConformanceTest\{$/gm)?.length ?? 0), 0);
    expect(plans.length).toBe(declared);
    const pokesInSource = [...goTests.values()].reduce((n, s) => n + (s.match(/kubernetes\.PokeServer\(/g)?.length ?? 0), 0);
    const pokesInPlans = plans.reduce((n, p) => n + p.body.filter((s) => s.text.startsWith('kubernetes.PokeServer(')).length, 0);
    expect(pokesInPlans).toBe(pokesInSource);
    expect(plans.every((p) => p.features.every((f) => features.experimental.includes(f)))).toBe(true);
  });

  describe.each([
    ['standard', plans.filter(isStandard)],
    ['experimental', plans.filter((p) => !isStandard(p))],
  ])('%s profile', (_profile, selected) => {
    it.each(selected.map((p) => [p.shortName, p] as const))('%s', async (_name, plan) => {
      const pokes = await runPlan(plan);
      expect(pokes.length, 'probes run').toBe(plan.body.filter((s) => s.text.startsWith('kubernetes.PokeServer(')).length);
      const wrong = pokes.filter((p) => p.expected !== p.connected).map(describePoke);
      expect(wrong).toEqual([]);
      // A "no connect" that only holds because nothing listens would not test policy at all.
      expect(pokes.filter((p) => !p.listening).map(describePoke)).toEqual([]);
    });
  });
});
