import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { fakeWatch, until } from '../../../common/src/kube/fake-watch.js';
import { parseCoordinator, parseNad, parseNamespace, startClusterCache, type CacheSources } from './cluster.js';

const logger = pino({ level: 'silent' });
const ns = (name: string, rv: string, labels: Record<string, string> = {}) => ({ metadata: { name, resourceVersion: rv, labels } });

describe('ClusterView over the three caches', () => {
  it('answers namespace/NAD/coordinator lookups and reports readiness per cache', async () => {
    const w = fakeWatch();
    let coordinatorFails = true;
    const sources: CacheSources = {
      namespaces: { watchPath: '/ns', list: async () => ({ items: [ns('team', '1', { 'weir.dev/inject': 'enabled' })], resourceVersion: '1' }) },
      nads: {
        watchPath: '/nads',
        list: async () => ({
          items: [{ metadata: { name: 'macvlan1', namespace: 'team', annotations: { 'weir.dev/chain': 'enabled' } }, spec: { config: '{"cniVersion":"1.0.0"}' } }],
          resourceVersion: '1',
        }),
      },
      coordinators: {
        watchPath: '/coord',
        list: async () => {
          if (coordinatorFails) throw new Error('forbidden');
          return { items: [{ metadata: { name: 'default' }, status: { phase: 'NotReady', reason: 'no podCIDR' } }], resourceVersion: '1' };
        },
      },
      watch: w.fn,
    };
    const c = startClusterCache(sources, logger, { backoffInitialMs: 20 });
    await until(() => c.readiness().reasons.length === 1);
    expect(c.readiness().ready).toBe(false);
    expect(c.readiness().reasons[0]).toMatch(/spidercoordinators cache not synced: list spidercoordinators: forbidden/);
    coordinatorFails = false;
    await c.waitForSync(2000);
    expect(c.readiness()).toEqual({ ready: true, reasons: [] });
    expect(c.view.namespace('team')).toEqual({ name: 'team', labels: { 'weir.dev/inject': 'enabled' }, annotations: {} });
    expect(c.view.nad('team', 'macvlan1')).toEqual({ namespace: 'team', name: 'macvlan1', annotations: { 'weir.dev/chain': 'enabled' }, config: '{"cniVersion":"1.0.0"}' });
    expect(c.view.nad('other', 'macvlan1')).toBeUndefined();
    expect(c.view.coordinator('default')).toEqual({ name: 'default', phase: 'NotReady', reason: 'no podCIDR' });
    await c.stop();
  });

  it.each([
    [parseNamespace, { metadata: {} }],
    [parseNad, { metadata: { name: 'x' } }],
    [parseCoordinator, 'junk'],
  ] as const)('parsers ignore unreadable objects (%#)', (parse, obj) => {
    expect(parse(obj)).toBeUndefined();
  });
});
