import { describe, expect, it, vi } from 'vitest';
import type { ClusterView, Decider, Decision } from './contract.js';
import type { AdmissionRequest } from './review.js';
import { ENDPOINTS, podUpdateIsIrrelevant, routeReview, type Endpoint } from './route.js';

const view: ClusterView = { namespace: () => undefined, nad: () => undefined, coordinator: () => undefined };
const opts = { coordinatorName: 'default' };
const patch = [{ op: 'add' as const, path: '/metadata/annotations/x', value: 'y' }];

function decider(d: Decision): Decider & { calls: string[] } {
  const calls: string[] = [];
  const rec = (n: string) => () => {
    calls.push(n);
    return d;
  };
  return {
    calls,
    mutatePod: vi.fn(rec('mutatePod')),
    validatePod: vi.fn(rec('validatePod')),
    mutateNad: vi.fn(rec('mutateNad')),
    validateNad: vi.fn(rec('validateNad')),
    denialMessage: (rs) => rs.map((r) => `${r.field}: ${r.message}`).join('\n'),
  };
}

function ep(path: string): Endpoint {
  const e = ENDPOINTS.get(path);
  if (e === undefined) throw new Error(path);
  return e;
}

const podRes = { group: '', version: 'v1', resource: 'pods' };
const nadRes = { group: 'k8s.cni.cncf.io', version: 'v1', resource: 'network-attachment-definitions' };
function req(over: Partial<AdmissionRequest>): AdmissionRequest {
  return {
    uid: 'u',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: podRes,
    subResource: '',
    operation: 'CREATE',
    namespace: 'ns',
    name: 'p',
    object: { metadata: { annotations: {} } },
    oldObject: undefined,
    dryRun: false,
    ...over,
  };
}
const allowD: Decision = { kind: 'allow', patch, warnings: ['w'] };
const denyD: Decision = {
  kind: 'deny',
  refusals: [
    { code: 'nad-missing', field: 'a', message: 'a: m1' },
    { code: 'bw-range', field: 'b', message: 'm2' },
  ],
  warnings: [],
};

describe('routeReview', () => {
  const table: [string, string, Partial<AdmissionRequest>, Decision, string[], string][] = [
    ['pod create mutate', '/mutate-pods', {}, allowD, ['mutatePod'], 'allow'],
    ['pod create validate', '/validate-pods', {}, allowD, ['validatePod'], 'allow'],
    ['nad create mutate', '/mutate-nads', { resource: nadRes }, allowD, ['mutateNad'], 'allow'],
    ['nad update validate', '/validate-nads', { resource: nadRes, operation: 'UPDATE' }, denyD, ['validateNad'], 'deny'],
    ['pod delete', '/validate-pods', { operation: 'DELETE' }, denyD, [], 'allow'],
    ['pod connect', '/validate-pods', { operation: 'CONNECT' }, denyD, [], 'allow'],
    ['pods/status', '/validate-pods', { subResource: 'status', operation: 'UPDATE' }, denyD, [], 'allow'],
    ['pods/ephemeralcontainers validate', '/validate-pods', { subResource: 'ephemeralcontainers', operation: 'UPDATE' }, denyD, ['validatePod'], 'deny'],
    ['pods/ephemeralcontainers mutate', '/mutate-pods', { subResource: 'ephemeralcontainers', operation: 'UPDATE' }, allowD, ['mutatePod'], 'allow'],
    ['NAD with an unknown subresource', '/validate-nads', { resource: nadRes, subResource: 'ephemeralcontainers', operation: 'UPDATE' }, denyD, [], 'allow'],
    ['misrouted NAD to pod path', '/mutate-pods', { resource: nadRes }, allowD, [], 'deny'],
    ['misrouted pod to NAD path', '/validate-nads', {}, allowD, [], 'deny'],
    ['missing object', '/mutate-pods', { object: undefined }, allowD, [], 'deny'],
    [
      'pod update with unrelated change',
      '/validate-pods',
      { operation: 'UPDATE', object: { metadata: { labels: { a: 'b' } } }, oldObject: { metadata: {} } },
      denyD,
      [],
      'allow',
    ],
    [
      'pod update changing networks',
      '/validate-pods',
      {
        operation: 'UPDATE',
        object: { metadata: { annotations: { 'k8s.v1.cni.cncf.io/networks': 'a' } } },
        oldObject: { metadata: { annotations: {} } },
      },
      denyD,
      ['validatePod'],
      'deny',
    ],
  ];
  it.each(table)('%s', (_n, path, over, d, calls, kind) => {
    const dec = decider(d);
    const out = routeReview(ep(path), req(over), dec, view, opts);
    expect(dec.calls).toEqual(calls);
    expect(out.kind).toBe(kind);
  });

  it('a validating path never returns a patch', () => {
    const out = routeReview(ep('/validate-pods'), req({}), decider(allowD), view, opts);
    expect(out).toEqual({ kind: 'allow', patch: [], warnings: ['w'], reason: 'none' });
  });

  it('a mutating path passes the patch through', () => {
    const out = routeReview(ep('/mutate-pods'), req({}), decider(allowD), view, opts);
    expect(out.kind === 'allow' && out.patch).toEqual(patch);
  });

  it('denials carry every reason code, the joined message and one status cause per refusal', () => {
    const out = routeReview(ep('/validate-pods'), req({}), decider(denyD), view, opts);
    expect(out).toEqual({
      kind: 'deny',
      code: 403,
      message: 'a: a: m1\nb: m2',
      warnings: [],
      reasons: ['nad-missing', 'bw-range'],
      details: {
        name: 'p',
        kind: 'pods',
        causes: [
          { reason: 'nad-missing', field: 'a', message: 'm1' },
          { reason: 'bw-range', field: 'b', message: 'm2' },
        ],
      },
    });
    const nad = routeReview(ep('/validate-nads'), req({ resource: nadRes, name: '' }), decider(denyD), view, opts);
    expect(nad.kind === 'deny' && nad.details).toMatchObject({ group: 'k8s.cni.cncf.io', kind: 'network-attachment-definitions' });
    expect(nad.kind === 'deny' && nad.details !== undefined && 'name' in nad.details).toBe(false);
  });

  it('tells the pod decisions what the review is: creation, update, or added ephemeral containers', () => {
    const reviews: unknown[] = [];
    const d = decider(allowD);
    d.mutatePod = (_p, _n, _v, _o, review) => {
      reviews.push(review);
      return allowD;
    };
    const old = { metadata: {}, spec: { ephemeralContainers: [{ name: 'x' }] } };
    routeReview(ep('/mutate-pods'), req({}), d, view, opts);
    routeReview(ep('/mutate-pods'), req({ operation: 'UPDATE', object: { metadata: { annotations: { 'kubernetes.io/ingress-bandwidth': '1M' } } }, oldObject: { metadata: {} } }), d, view, opts);
    routeReview(ep('/mutate-pods'), req({ subResource: 'ephemeralcontainers', operation: 'UPDATE', oldObject: old }), d, view, opts);
    expect(reviews).toEqual([{ kind: 'create' }, { kind: 'update' }, { kind: 'ephemeral', oldPod: old }]);
  });

  it('skipped decisions report why in the metrics reason', () => {
    const out = routeReview(ep('/mutate-pods'), req({}), decider({ kind: 'allow', patch: [], warnings: [], skipped: 'namespace-not-enabled' }), view, opts);
    expect(out.kind === 'allow' && out.reason).toBe('namespace-not-enabled');
  });

  it('misrouting says what to fix', () => {
    const out = routeReview(ep('/mutate-pods'), req({ resource: nadRes }), decider(allowD), view, opts);
    expect(out.kind === 'deny' && out.message).toMatch(/handles pods but received k8s.cni.cncf.io\/network-attachment-definitions/);
  });
});

describe('podUpdateIsIrrelevant', () => {
  const cases: [unknown, unknown, boolean][] = [
    [{}, {}, true],
    [{ metadata: { annotations: { other: '1' } } }, { metadata: { annotations: { other: '2' } } }, true],
    [{ metadata: { annotations: { 'kubernetes.io/ingress-bandwidth': '10M' } } }, { metadata: {} }, false],
    [{ metadata: { annotations: { 'weir.dev/intent': 'x' } } }, { metadata: { annotations: { 'weir.dev/intent': 'y' } } }, false],
    [{ metadata: {} }, { metadata: { annotations: { 'v1.multus-cni.io/default-network': 'a' } } }, false],
    [{ metadata: { annotations: { 'ipam.spidernet.io/default-route-nic': 'net1' } } }, { metadata: { annotations: { 'ipam.spidernet.io/default-route-nic': 'net1' } } }, true],
    ['junk', null, true],
  ];
  it.each(cases)('%j vs %j → %s', (a, b, want) => {
    expect(podUpdateIsIrrelevant(a, b)).toBe(want);
  });
});
