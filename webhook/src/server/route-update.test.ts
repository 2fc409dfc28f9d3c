/**
 * A live bandwidth change on a running pod, through the route with the real decisions: the UPDATE
 * recomputes weir.dev/intent, says nothing misleading about it, and a change above the namespace
 * cap is refused. (The e2e twin is test/e2e/bandwidth.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { renderReason } from '../../../common/src/reasons.js';
import { denialMessage, mutateNad, mutatePod, validateNad, validatePod } from '../decide/index.js';
import { applyPatch, fakeView } from '../decide/testing.js';
import type { Decider } from './contract.js';
import type { AdmissionRequest } from './review.js';
import { ENDPOINTS, routeReview, type Endpoint, type Outcome } from './route.js';

const decider: Decider = { mutatePod, validatePod, mutateNad, validateNad, denialMessage };
const opts = { coordinatorName: 'default' };
const view = fakeView({
  namespaces: [{
    name: 'bw',
    labels: { 'weir.dev/inject': 'enabled' },
    annotations: { 'weir.dev/default-network': 'bw/underlay', 'weir.dev/max-egress-bandwidth': '100M' },
  }],
  nads: [{
    namespace: 'bw', name: 'underlay',
    config: { cniVersion: '1.0.0', name: 'u', plugins: [{ type: 'macvlan', master: 'uplink0', mode: 'bridge', ipam: { type: 'host-local' } }, { type: 'weir' }] },
  }],
});
const REPLACED = renderReason('W_INTENT_REPLACED', {});

type Pod = { metadata: { name: string; namespace: string; annotations: Record<string, string> }; spec: { containers: Array<{ name: string; image: string }> } };

function endpoint(path: string): Endpoint {
  const e = ENDPOINTS.get(path);
  if (e === undefined) throw new Error(path);
  return e;
}

function review(path: string, operation: 'CREATE' | 'UPDATE', object: Pod, oldObject?: Pod): Outcome {
  const req: AdmissionRequest = {
    uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
    subResource: '', operation, namespace: 'bw', name: object.metadata.name, object, oldObject, dryRun: false,
  };
  return routeReview(endpoint(path), req, decider, view, opts);
}

/** What the API server does: mutate, apply the patch, validate the result; returns the stored pod. */
function admit(operation: 'CREATE' | 'UPDATE', object: Pod, oldObject?: Pod): { pod: Pod; warnings: string[] } {
  const m = review('/mutate-pods', operation, object, oldObject);
  if (m.kind !== 'allow') throw new Error(`mutate refused: ${m.message}`);
  const pod = applyPatch(object, m.patch);
  const v = review('/validate-pods', operation, pod, oldObject);
  if (v.kind !== 'allow') throw new Error(`validate refused: ${v.message}`);
  return { pod, warnings: [...m.warnings, ...v.warnings] };
}

const bandwidthOf = (pod: Pod): unknown => (JSON.parse(pod.metadata.annotations['weir.dev/intent'] ?? 'null') as { bandwidth?: unknown } | null)?.bandwidth;

function running(): Pod {
  const created = admit('CREATE', {
    metadata: { name: 'a', namespace: 'bw', annotations: { 'kubernetes.io/egress-bandwidth': '20M', 'kubernetes.io/ingress-bandwidth': '30M' } },
    spec: { containers: [{ name: 'app', image: 'x' }] },
  });
  expect(bandwidthOf(created.pod)).toEqual({ ingressBitsPerSecond: 30e6, egressBitsPerSecond: 20e6 });
  return created.pod;
}

function withAnnotations(pod: Pod, change: Record<string, string | null>): Pod {
  const annotations = { ...pod.metadata.annotations };
  for (const [k, v] of Object.entries(change)) {
    if (v === null) Reflect.deleteProperty(annotations, k);
    else annotations[k] = v;
  }
  return { ...pod, metadata: { ...pod.metadata, annotations } };
}

describe('a live bandwidth change on a running pod (UPDATE)', () => {
  it('recomputes weir.dev/intent, without the client-supplied-intent warning', () => {
    const old = running();
    const { pod, warnings } = admit('UPDATE', withAnnotations(old, { 'kubernetes.io/egress-bandwidth': '60M' }), old);
    expect(bandwidthOf(pod)).toEqual({ ingressBitsPerSecond: 30e6, egressBitsPerSecond: 60e6 });
    expect(warnings).toEqual([]);
  });

  it('removing the annotation removes that direction from the intent', () => {
    const old = running();
    const { pod } = admit('UPDATE', withAnnotations(old, { 'kubernetes.io/egress-bandwidth': null }), old);
    expect(bandwidthOf(pod)).toEqual({ ingressBitsPerSecond: 30e6 });
  });

  it('still warns when the client itself rewrites the intent, and overwrites it', () => {
    const old = running();
    const forged = withAnnotations(old, { 'weir.dev/intent': '{"version":1,"networks":[],"bandwidth":{}}' });
    const { pod, warnings } = admit('UPDATE', forged, old);
    expect(bandwidthOf(pod)).toEqual({ ingressBitsPerSecond: 30e6, egressBitsPerSecond: 20e6 });
    expect(warnings).toContain(REPLACED);
  });

  it('still warns on CREATE with a client-supplied intent', () => {
    const m = review('/mutate-pods', 'CREATE', {
      metadata: { name: 'b', namespace: 'bw', annotations: { 'weir.dev/intent': 'forged' } },
      spec: { containers: [{ name: 'app', image: 'x' }] },
    });
    expect(m.kind === 'allow' && m.warnings).toContain(REPLACED);
  });

  it('refuses a change above the namespace cap with BANDWIDTH_ABOVE_CAP', () => {
    const old = running();
    const changed = withAnnotations(old, { 'kubernetes.io/egress-bandwidth': '200M' });
    const m = review('/mutate-pods', 'UPDATE', changed, old);
    if (m.kind !== 'allow') throw new Error('mutate should not refuse');
    const v = review('/validate-pods', 'UPDATE', applyPatch(changed, m.patch), old);
    expect(v.kind).toBe('deny');
    expect(v.kind === 'deny' && v.reasons).toEqual(['BANDWIDTH_ABOVE_CAP']);
    expect(v.kind === 'deny' && v.message).toMatch(/kubernetes\.io\/egress-bandwidth.*100M/);
  });
});
