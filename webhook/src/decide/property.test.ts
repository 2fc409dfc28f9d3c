/**
 * Property tests: over random annotations and NAD configs the decisions never throw, are
 * deterministic, keep warnings short, and mutation is idempotent under reinvocation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { denialMessage, mutateNad, mutatePod, validateNad, validatePod } from './index.js';
import { applyPatch, fakeView } from './testing.js';

const pluginTypes = ['macvlan', 'ipvlan', 'weir', 'cilium-cni', 'coordinator', 'coordinattor', 'bandwidth', 'ifacer', 'tuning', 'sriov', 'x-custom', 'Macvlan', ''];
const plugin = fc.record(
  {
    type: fc.constantFrom(...pluginTypes),
    mode: fc.constantFrom('bridge', 'l2', 'l3s', 'disabled', 'auto', 'vepa', '', 'x'),
    ipam: fc.oneof(fc.constant({ type: 'spiderpool' }), fc.constant({}), fc.constant({ type: 'spiderpol' }), fc.constant('x')),
  },
  { requiredKeys: ['type'] },
);
const config = fc.oneof(
  fc.record(
    {
      cniVersion: fc.constantFrom('0.3.1', '1.0.0', '0.9.9'),
      name: fc.constantFrom('spidernet-chainer', 'terway-chainer', 'net'),
      plugins: fc.array(plugin, { maxLength: 5 }),
    },
    { requiredKeys: ['plugins'] },
  ).map((o) => JSON.stringify(o)),
  plugin.map((p) => JSON.stringify({ cniVersion: '0.3.1', ...p })),
  fc.constantFrom('', '{', '[]', 'null', '{"plugins":7}'),
  fc.string({ maxLength: 40 }),
);

const nadNames = ['a', 'b', 'c'];
const view = (configs: string[], phase: string | undefined) =>
  fakeView({
    namespaces: [
      { name: 'team', labels: { 'weir.dev/inject': 'enabled' }, annotations: { 'weir.dev/networks': 'a', 'weir.dev/max-ingress-bandwidth': '1G' } },
    ],
    nads: configs.map((c, i) => ({ namespace: 'team', name: nadNames[i] ?? 'z', config: c })),
    coordinators: phase === undefined ? [] : [{ name: 'default', phase, reason: 'r' }],
  });

const selection = fc.oneof(
  fc.constantFrom('a', 'b', 'team/c', 'a@eth0', 'b@net1', 'a@' + 'x'.repeat(16), 'A', 'x/y/z', '', ' b '),
  fc.string({ maxLength: 12 }),
);
const networksValue = fc.oneof(
  fc.array(selection, { maxLength: 4 }).map((xs) => xs.join(',')),
  fc
    .array(fc.record({ name: fc.constantFrom('a', 'b', 'c', ''), interface: fc.constantFrom('net1', 'eth0', 'd0', 'a b') }, { requiredKeys: ['name'] }), { maxLength: 3 })
    .map((xs) => JSON.stringify(xs)),
  fc.string({ maxLength: 30 }),
);
const annotations = fc.record(
  {
    'k8s.v1.cni.cncf.io/networks': networksValue,
    'v1.multus-cni.io/default-network': fc.oneof(fc.constantFrom('team/a', 'team/b', 'a', 'team/a,team/b', ''), fc.string({ maxLength: 10 })),
    'kubernetes.io/ingress-bandwidth': fc.oneof(fc.constantFrom('10M', '100m', '2P', '1Ki', 'x', ''), fc.string({ maxLength: 8 })),
    'kubernetes.io/egress-bandwidth': fc.constantFrom('1G', '1e3', '5K'),
    'ipam.spidernet.io/default-route-nic': fc.constantFrom('eth0', 'net1', 'net9'),
    'weir.dev/intent': fc.oneof(fc.constant('{"version":1}'), fc.string({ maxLength: 10 })),
  },
  { requiredKeys: [] },
);
const containers = fc.array(
  fc.record({ name: fc.constant('c'), securityContext: fc.record({ privileged: fc.boolean(), capabilities: fc.record({ add: fc.array(fc.constantFrom('NET_ADMIN', 'CHOWN', 'ALL')) }) }) }),
  { maxLength: 2 },
);

describe('decisions: properties', () => {
  it('pods: never throw, deterministic, idempotent, short warnings', () => {
    fc.assert(
      fc.property(annotations, containers, fc.array(config, { minLength: 3, maxLength: 3 }), fc.constantFrom('Synced', 'NotReady', undefined), (ann, cs, configs, phase) => {
        const v = view(configs, phase);
        const pod = { metadata: { name: 'p', annotations: ann }, spec: { containers: cs } };
        const opts = { coordinatorName: 'default' };
        const m1 = mutatePod(pod, 'team', v, opts);
        const m2 = mutatePod(structuredClone(pod), 'team', v, opts);
        expect(m2).toEqual(m1);
        for (const w of m1.warnings) expect(w.length).toBeLessThan(120);
        const object = m1.kind === 'allow' ? applyPatch(pod, m1.patch) : pod;
        if (m1.kind === 'allow') {
          const again = mutatePod(object, 'team', v, opts);
          expect(again.kind === 'allow' && again.patch).toEqual([]);
        }
        const v1 = validatePod(object, 'team', v, opts);
        expect(validatePod(structuredClone(object), 'team', v, opts)).toEqual(v1);
        for (const w of v1.warnings) expect(w.length).toBeLessThan(120);
        if (v1.kind === 'deny') {
          expect(v1.refusals.length).toBeGreaterThan(0);
          expect(denialMessage(v1.refusals).length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('NADs: never throw, deterministic, weir insertion idempotent', () => {
    fc.assert(
      fc.property(config, fc.boolean(), (cfg, chain) => {
        const v = view([], 'Synced');
        const nad = { metadata: { name: 'n', namespace: 'team', annotations: chain ? { 'weir.dev/chain': 'enabled' } : {} }, spec: { config: cfg } };
        const m1 = mutateNad(nad);
        expect(mutateNad(structuredClone(nad))).toEqual(m1);
        const object = m1.kind === 'allow' ? applyPatch(nad, m1.patch) : nad;
        const again = mutateNad(object);
        expect(again.kind === 'allow' && again.patch).toEqual([]);
        const d = validateNad(object, v);
        expect(validateNad(structuredClone(object), v)).toEqual(d);
        for (const w of d.warnings) expect(w.length).toBeLessThan(120);
      }),
      { numRuns: 600 },
    );
  });

  it('arbitrary JSON never throws', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (j) => {
        const v = view([], 'Synced');
        const opts = { coordinatorName: 'default' };
        mutatePod(j, 'team', v, opts);
        validatePod(j, 'team', v, opts);
        mutateNad(j);
        validateNad(j, v);
      }),
      { numRuns: 300 },
    );
  });
});
