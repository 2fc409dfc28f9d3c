import { describe, expect, it } from 'vitest';
import type { ClusterView, NadInfo, NamespaceInfo } from './contract.js';
import { awaitReferences, catchUpFor, DEFAULT_CATCH_UP, MAX_CATCH_UP_MS, missingReferences } from './catch-up.js';
import type { AdmissionRequest } from './review.js';

/** A cache that fills while the review waits, as an informer does a moment after a create. */
class FillingCache implements ClusterView {
  readonly namespaces = new Map<string, NamespaceInfo>();
  readonly nads = new Map<string, NadInfo>();
  namespace(name: string): NamespaceInfo | undefined {
    return this.namespaces.get(name);
  }
  nad(namespace: string, name: string): NadInfo | undefined {
    return this.nads.get(`${namespace}/${name}`);
  }
  coordinator(): undefined {
    return undefined;
  }
}

const nad = (name: string): NadInfo => ({ namespace: 'shop', name, annotations: {}, config: '{"cniVersion":"1.0.0","name":"x","plugins":[{"type":"macvlan","ipam":{"type":"host-local"}},{"type":"weir"}]}' });
const ns = (annotations: Record<string, string> = {}): NamespaceInfo => ({ name: 'shop', labels: { 'weir.dev/inject': 'enabled' }, annotations });

function podReview(annotations: Record<string, string>, resource = 'pods'): AdmissionRequest {
  return {
    uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource }, subResource: '',
    operation: 'CREATE', namespace: 'shop', name: 'web', object: { metadata: { name: 'web', namespace: 'shop', annotations } }, oldObject: null, dryRun: false,
  };
}

describe('missingReferences', () => {
  it('names the namespace first when the cache lacks it', () => {
    expect(missingReferences(podReview({}), new FillingCache())).toEqual(['namespace shop']);
  });

  it('names every NAD the pod or its namespace defaults refer to that the cache lacks', () => {
    const cache = new FillingCache();
    cache.namespaces.set('shop', ns({ 'weir.dev/default-network': 'shop/underlay' }));
    cache.nads.set('shop/present', nad('present'));
    expect(missingReferences(podReview({ 'k8s.v1.cni.cncf.io/networks': 'present,absent' }), cache)).toEqual(['NAD shop/absent', 'NAD shop/underlay']);
  });

  it('asks nothing of reviews that are not pods', () => {
    expect(missingReferences(podReview({}, 'network-attachment-definitions'), new FillingCache())).toEqual([]);
  });
});

describe('awaitReferences', () => {
  it('waits until the informer delivers the NAD created just before the pod, then decides', async () => {
    const cache = new FillingCache();
    cache.namespaces.set('shop', ns());
    let polls = 0;
    const sleep = async (): Promise<void> => {
      polls++;
      if (polls === 3) cache.nads.set('shop/underlay', nad('underlay'));
    };
    const result = await awaitReferences(podReview({ 'v1.multus-cni.io/default-network': 'shop/underlay' }), cache, { timeoutMs: 60_000, pollMs: 1 }, sleep);
    expect(result.missing).toEqual([]);
    expect(polls).toBe(3);
  });

  it('gives up after the bound and reports what is still missing (the decision then refuses it)', async () => {
    const cache = new FillingCache();
    cache.namespaces.set('shop', ns());
    const result = await awaitReferences(podReview({ 'k8s.v1.cni.cncf.io/networks': 'never' }), cache, { timeoutMs: 30, pollMs: 5 });
    expect(result.missing).toEqual(['NAD shop/never']);
    expect(result.waitedMs).toBeGreaterThanOrEqual(30);
  });
});

describe('catchUpFor: the wait fits inside the API server\'s webhook timeout', () => {
  it.each([
    [1, 500],
    [2, 1_000],
    [3, 2_000],
    [4, 3_000],
    [5, 3_000],
    [30, 3_000],
  ])('timeoutSeconds %i waits at most %i ms', (seconds, waitMs) => {
    expect(catchUpFor(seconds).timeoutMs).toBe(waitMs);
  });

  it('leaves a margin under every timeout the API server allows (1..30 s)', () => {
    for (let seconds = 1; seconds <= 30; seconds++) {
      const { timeoutMs } = catchUpFor(seconds);
      expect(timeoutMs, `${seconds} s`).toBeLessThanOrEqual(seconds * 1_000 - 500);
      expect(timeoutMs, `${seconds} s`).toBeLessThanOrEqual(MAX_CATCH_UP_MS);
      expect(timeoutMs, `${seconds} s`).toBeGreaterThan(0);
    }
  });

  it('without a configured timeout assumes Kubernetes\' default of 10 s (a 3 s wait)', () => {
    expect(DEFAULT_CATCH_UP.timeoutMs).toBe(3_000);
  });
});
