import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { fakeWatch, until, type FakeWatch } from './fake-watch.js';
import { rawObject } from './kube-source.js';
import { Reflector, type CacheChange, type ListResult, type ReflectorOptions } from './reflector.js';

const logger = pino({ level: 'silent' });
const ns = (name: string, rv: string, labels: Record<string, string> = {}) => ({ metadata: { name, resourceVersion: rv, labels } });

/** The test's typed view of a namespace: its name and labels. */
type Ns = { name: string; labels: Record<string, string> };
function parseNs(obj: unknown): { key: string; value: Ns } | undefined {
  const meta = (obj as { metadata?: { name?: unknown; labels?: Record<string, string> } } | null)?.metadata;
  if (typeof meta?.name !== 'string' || meta.name === '') return undefined;
  return { key: meta.name, value: { name: meta.name, labels: meta.labels ?? {} } };
}

/** A namespaces Reflector over the given watch (and an empty list unless `extra` has one). */
function nsReflector(w: FakeWatch, extra: Partial<ReflectorOptions<Ns>> = {}): Reflector<Ns> {
  return new Reflector({ resource: 'namespaces', watchPath: '/x', list: async () => ({ items: [], resourceVersion: '1' }), watch: w.fn, parse: parseNs, logger, ...extra });
}

describe('Reflector', () => {
  it('lists, then applies watch events from the list resourceVersion with bookmarks and a server timeout', async () => {
    const w = fakeWatch();
    const r = new Reflector({
      resource: 'namespaces',
      watchPath: '/api/v1/namespaces',
      list: async () => ({ items: [ns('a', '1')], resourceVersion: '10' }),
      watch: w.fn,
      parse: parseNs,
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
    const r = nsReflector(w, {
      list: async (): Promise<ListResult> => {
        lists++;
        return { items: lists === 1 ? [ns('old', '1')] : [ns('new', '5')], resourceVersion: String(lists * 10) };
      },
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

  it('keeps retrying a failing list and reports it; never synced meanwhile, waitForSync times out with the error', async () => {
    let calls = 0;
    const r = new Reflector({
      resource: 'nads',
      watchPath: '/x',
      list: async () => {
        calls++;
        throw new Error('connect ECONNREFUSED');
      },
      watch: fakeWatch().fn,
      parse: parseNs,
      logger,
      backoffInitialMs: 5,
    });
    r.start();
    await until(() => calls >= 3);
    expect(r.status()).toMatchObject({ synced: false, lastError: 'list nads: connect ECONNREFUSED' });
    await expect(r.waitForSync(60)).rejects.toThrow(/nads cache not synced after 60 ms: list nads: connect ECONNREFUSED/);
    await r.stop();
  });

  it('an absent resource type (CRD not installed) is an empty, synced cache', async () => {
    const r = new Reflector({ resource: 'spidercoordinators', watchPath: '/x', list: async () => undefined, watch: fakeWatch().fn, parse: parseNs, logger });
    r.start();
    await until(() => r.status().synced);
    expect(r.size()).toBe(0);
    await r.stop();
  });

  it('goes stale when the API server has not been heard from for longer than the bound', async () => {
    let now = 1_000_000;
    const w = fakeWatch();
    const r = nsReflector(w, { now: () => now, maxStalenessMs: 60_000 });
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

  it('a watch silent beyond the staleness bound is abandoned and the resource re-listed', async () => {
    const w = fakeWatch();
    let lists = 0;
    const errors: string[] = [];
    const r = nsReflector(w, {
      list: async () => ({ items: [ns(`n${++lists}`, String(lists))], resourceVersion: String(lists) }),
      maxStalenessMs: 150,
      staleCheckMs: 10,
      onError: (m) => errors.push(m),
    });
    r.start();
    await until(() => w.opened.length === 2, 3000);
    expect(lists).toBe(2);
    expect(w.opened[1]?.query).toMatchObject({ resourceVersion: '2' });
    expect(r.values().map((v) => v.name)).toEqual(['n2']);
    expect(errors[0]).toBe('watch namespaces: nothing heard for more than 150 ms (no event, bookmark or close); re-listing');
    await r.stop();
  });

  it('a watch that keeps sending bookmarks is kept', async () => {
    const w = fakeWatch();
    const r = nsReflector(w, { maxStalenessMs: 150, staleCheckMs: 10 });
    r.start();
    await until(() => w.opened.length === 1);
    for (let i = 0; i < 12; i++) {
      await new Promise((res) => setTimeout(res, 40));
      w.emit('BOOKMARK', { metadata: { resourceVersion: String(10 + i) } });
    }
    expect(w.opened).toHaveLength(1);
    await r.stop();
  });

  it('applies field and label selectors to the list and to every watch', async () => {
    const w = fakeWatch();
    const seen: unknown[] = [];
    const r = new Reflector({
      resource: 'pods',
      watchPath: '/api/v1/pods',
      fieldSelector: 'spec.nodeName=node-a',
      labelSelector: 'app=x',
      list: async (selectors) => {
        seen.push(selectors);
        return { items: [], resourceVersion: '3' };
      },
      watch: w.fn,
      parse: rawObject,
      logger,
    });
    r.start();
    await until(() => w.opened.length === 1);
    expect(seen).toEqual([{ fieldSelector: 'spec.nodeName=node-a', labelSelector: 'app=x' }]);
    expect(w.opened[0]?.query).toMatchObject({ fieldSelector: 'spec.nodeName=node-a', labelSelector: 'app=x', resourceVersion: '3' });
    await r.stop();
  });

  it('reports every change, including what a re-list finds added, changed or gone', async () => {
    const w = fakeWatch();
    const changes: string[] = [];
    let lists = 0;
    const r = nsReflector(w, {
      list: async (): Promise<ListResult> => {
        lists++;
        return lists === 1
          ? { items: [ns('keep', '1'), ns('gone', '2'), ns('edit', '3')], resourceVersion: '3' }
          : { items: [ns('keep', '1'), ns('edit', '9'), ns('new', '8')], resourceVersion: '9' };
      },
      onChange: (c: CacheChange<Ns>) => {
        // The store is already updated when the handler runs.
        expect(r.get(c.key)).toEqual(c.type === 'upsert' ? c.value : undefined);
        changes.push(`${c.type}:${c.key}`);
      },
    });
    r.start();
    await r.waitForSync(2000);
    expect(changes).toEqual(['upsert:keep', 'upsert:gone', 'upsert:edit']);
    changes.length = 0;
    w.emit('ADDED', ns('w', '4'));
    w.emit('DELETED', ns('w', '5'));
    w.emit('DELETED', ns('never-seen', '6'));
    expect(changes).toEqual(['upsert:w', 'delete:w']);
    changes.length = 0;
    w.emit('ERROR', { kind: 'Status', code: 410 });
    await until(() => lists === 2 && w.opened.length === 2);
    expect(changes.sort()).toEqual(['delete:gone', 'upsert:edit', 'upsert:new']);
    expect(r.values().map((v) => v.name).sort()).toEqual(['edit', 'keep', 'new']);
    await r.stop();
  });

  it('a throwing change handler does not stop the cache', async () => {
    const w = fakeWatch();
    const r = nsReflector(w, {
      onChange: () => {
        throw new Error('consumer bug');
      },
    });
    r.start();
    await until(() => w.opened.length === 1);
    w.emit('ADDED', ns('a', '2'));
    w.emit('ADDED', ns('b', '3'));
    expect(r.size()).toBe(2);
    expect(w.opened).toHaveLength(1);
    await r.stop();
  });
});
