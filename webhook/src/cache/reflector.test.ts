import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseCoordinator, parseNad, parseNamespace, startClusterCache, type CacheSources } from './cluster.js';
import { Reflector, type ListResult, type WatchFn } from './reflector.js';

const logger = pino({ level: 'silent' });
const ns = (name: string, rv: string, labels: Record<string, string> = {}) => ({ metadata: { name, resourceVersion: rv, labels } });

interface FakeWatch {
  fn: WatchFn;
  emit(type: string, obj: unknown): void;
  close(err?: unknown): void;
  opened: { path: string; query: Record<string, unknown> }[];
}

/** A scriptable API server: lists return `lists` in turn, watches stay open until closed. */
function fakeWatch(): FakeWatch {
  let cur: { onEvent: (t: string, o: unknown) => void; onDone: (e: unknown) => void } | undefined;
  const w: FakeWatch = {
    opened: [],
    fn: async (path, query, onEvent, onDone) => {
      w.opened.push({ path, query });
      cur = { onEvent, onDone };
      const c = new AbortController();
      c.signal.addEventListener('abort', () => onDone(new Error('aborted')));
      return c;
    },
    emit: (t, o) => cur?.onEvent(t, o),
    close: (err) => {
      const c = cur;
      cur = undefined;
      c?.onDone(err ?? null);
    },
  };
  return w;
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await tick();
  }
}

describe('Reflector', () => {
  it('lists, then applies watch events from the list resourceVersion with bookmarks and a server timeout', async () => {
    const w = fakeWatch();
    const r = new Reflector({
      resource: 'namespaces',
      watchPath: '/api/v1/namespaces',
      list: async () => ({ items: [ns('a', '1')], resourceVersion: '10' }),
      watch: w.fn,
      parse: parseNamespace,
      logger,
      watchTimeoutSeconds: 77,
    });
    r.start();
    await until(() => w.opened.length === 1);
    expect(r.status().synced).toBe(true);
    expect(w.opened[0]?.query).toEqual({ resourceVersion: '10', allowWatchBookmarks: true, timeoutSeconds: 77 });
    w.emit('ADDED', ns('b', '11', { 'weir.dev/inject': 'enabled' }));
    w.emit('DELETED', ns('a', '12'));
    w.emit('BOOKMARK', { metadata: { resourceVersion: '15' } });
    expect(r.get('a')).toBeUndefined();
    expect(r.get('b')?.labels).toEqual({ 'weir.dev/inject': 'enabled' });
    // A clean server-side close re-watches from the last seen resourceVersion, without a list.
    w.close();
    await until(() => w.opened.length === 2);
    expect(w.opened[1]?.query.resourceVersion).toBe('15');
    await r.stop();
  });

  it('re-lists after 410 Gone and after a watch error (with backoff)', async () => {
    const w = fakeWatch();
    let lists = 0;
    const r = new Reflector({
      resource: 'namespaces',
      watchPath: '/x',
      list: async (): Promise<ListResult> => {
        lists++;
        return { items: lists === 1 ? [ns('old', '1')] : [ns('new', '5')], resourceVersion: String(lists * 10) };
      },
      watch: w.fn,
      parse: parseNamespace,
      logger,
      backoffInitialMs: 10,
    });
    r.start();
    await until(() => w.opened.length === 1);
    w.emit('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' });
    await until(() => lists === 2 && w.opened.length === 2);
    expect(r.get('old')).toBeUndefined();
    expect(r.get('new')).toBeDefined();
    w.close(Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }));
    await until(() => lists === 3);
    await until(() => w.opened.length === 3);
    await r.stop();
  });

  it('keeps retrying a failing list and reports it; never synced meanwhile', async () => {
    let calls = 0;
    const r = new Reflector({
      resource: 'nads',
      watchPath: '/x',
      list: async () => {
        calls++;
        throw new Error('connect ECONNREFUSED');
      },
      watch: fakeWatch().fn,
      parse: parseNad,
      logger,
      backoffInitialMs: 5,
    });
    r.start();
    await until(() => calls >= 3);
    expect(r.status()).toMatchObject({ synced: false, lastError: 'list nads: connect ECONNREFUSED' });
    await r.stop();
  });

  it('an absent resource type (CRD not installed) is an empty, synced cache', async () => {
    const r = new Reflector({ resource: 'spidercoordinators', watchPath: '/x', list: async () => undefined, watch: fakeWatch().fn, parse: parseCoordinator, logger });
    r.start();
    await until(() => r.status().synced);
    expect(r.size()).toBe(0);
    await r.stop();
  });

  it('goes stale when the API server has not been heard from for longer than the bound', async () => {
    let now = 1_000_000;
    const w = fakeWatch();
    const r = new Reflector({
      resource: 'namespaces',
      watchPath: '/x',
      list: async () => ({ items: [], resourceVersion: '1' }),
      watch: w.fn,
      parse: parseNamespace,
      logger,
      now: () => now,
      maxStalenessMs: 60_000,
    });
    r.start();
    await until(() => w.opened.length === 1);
    now += 59_000;
    expect(r.status().stale).toBe(false);
    now += 2_000;
    expect(r.status().stale).toBe(true);
    w.emit('BOOKMARK', { metadata: { resourceVersion: '2' } });
    expect(r.status().stale).toBe(false);
    await r.stop();
  });
});

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
