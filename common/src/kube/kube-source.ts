/**
 * The thin adapter between the Reflector and a real API server: client-node's Watch as a WatchFn,
 * a list response as a ListResult, and the small helpers callers share (object keys, line loggers).
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { request, type RequestOptions } from 'node:https';
import { isRecord } from '../records.js';
import type { ListFn, ListResult, ReflectorLogger, WatchFn } from './reflector.js';

/** client-node's Watch bound to a kubeconfig. */
export function kubeWatch(kc: KubeConfig): WatchFn {
  const watcher = new Watch(kc);
  return (path, query, onEvent, onDone) => watcher.watch(path, query, onEvent, onDone);
}

export interface RawListOptions {
  timeoutMs?: number;
  /** Objects per page (`limit`); default 500, as client-go's reflector. */
  pageSize?: number;
  /** Hears every request URL (tests, debugging). */
  onRequest?: (url: URL) => void;
}

/**
 * A list as the API server sends it (wire JSON), not client-node's typed models: those rename
 * fields (a NetworkPolicy peer list is `_from`), so a parser reading them as JSON would silently
 * see no peers, i.e. "allow from everyone". Watch events are wire JSON too, so list and watch agree.
 *
 * Like client-go's reflector, the first page asks for `resourceVersion=0` (the API server may answer
 * from its watch cache instead of a quorum read of etcd) with a `limit`, and later pages follow
 * `continue`. A continue token that expired (410) restarts the list without resourceVersion=0 and
 * without paging, which the API server always answers in one consistent piece.
 *
 * A 404 means the API server does not serve the resource type (its CRD is not installed): the
 * list resolves `undefined`, which the Reflector keeps as an empty, synced cache and looks at
 * again later. Any other failure rejects and is retried.
 */
export function rawList(kc: KubeConfig, path: string, options: RawListOptions = {}): ListFn {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pageSize = options.pageSize ?? 500;
  return async (selectors) => {
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new Error('kubeconfig has no current cluster');
    const get = async (query: Record<string, string>): Promise<{ status: number; text: string }> => {
      const url = new URL(path, cluster.server);
      if (selectors.fieldSelector !== undefined) url.searchParams.set('fieldSelector', selectors.fieldSelector);
      if (selectors.labelSelector !== undefined) url.searchParams.set('labelSelector', selectors.labelSelector);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      options.onRequest?.(url);
      const req: RequestOptions = { method: 'GET', timeout: timeoutMs, headers: { accept: 'application/json' } };
      await kc.applyToHTTPSOptions(req);
      return httpsGet(url, req, `GET ${path}`, timeoutMs);
    };
    const fail = (r: { status: number; text: string }): Error => new Error(`GET ${path}: HTTP ${r.status}: ${statusMessage(r.text)}`);

    let page = await get({ resourceVersion: '0', limit: String(pageSize) });
    if (page.status === 404) return undefined;
    const items: unknown[] = [];
    let resourceVersion = '';
    for (;;) {
      if (page.status < 200 || page.status >= 300) throw fail(page);
      const body: unknown = JSON.parse(page.text);
      const listed = toListResult(body);
      items.push(...listed.items);
      if (resourceVersion === '') resourceVersion = listed.resourceVersion;
      const meta = isRecord(body) && isRecord(body['metadata']) ? body['metadata'] : {};
      const token = meta['continue'];
      if (typeof token !== 'string' || token === '') return { items, resourceVersion };
      page = await get({ limit: String(pageSize), continue: token });
      if (page.status === 410) {
        // The snapshot the pages came from was compacted away: one unpaged, consistent list.
        const whole = await get({});
        if (whole.status < 200 || whole.status >= 300) throw fail(whole);
        return toListResult(JSON.parse(whole.text));
      }
    }
  };
}

function httpsGet(url: URL, options: RequestOptions, what: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${what}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function statusMessage(text: string): string {
  try {
    const status: unknown = JSON.parse(text);
    if (isRecord(status) && typeof status['message'] === 'string') return status['message'];
  } catch {
    // not a Status object
  }
  return text.slice(0, 200);
}

/** Items and resourceVersion of a list response body (typed or custom-object list). */
export function toListResult(body: unknown): ListResult {
  const o = isRecord(body) ? body : {};
  const items: unknown[] = Array.isArray(o['items']) ? (o['items'] as unknown[]) : [];
  const meta = isRecord(o['metadata']) ? o['metadata'] : {};
  const rv = meta['resourceVersion'];
  return { items, resourceVersion: typeof rv === 'string' ? rv : '' };
}

/** "namespace/name" (or "name" when cluster-scoped) of an API object; undefined without a name. */
export function objectKey(obj: unknown): string | undefined {
  if (!isRecord(obj) || !isRecord(obj['metadata'])) return undefined;
  const { name, namespace } = obj['metadata'];
  if (typeof name !== 'string' || name === '') return undefined;
  return typeof namespace === 'string' && namespace !== '' ? `${namespace}/${name}` : name;
}

/** A parse that keeps the object as sent; for callers that read the raw object themselves. */
export function rawObject(obj: unknown): { key: string; value: unknown } | undefined {
  const key = objectKey(obj);
  return key === undefined ? undefined : { key, value: obj };
}

/** A ReflectorLogger writing one line per message, for callers that log lines (the lab). */
export function lineLogger(log: (line: string) => void): ReflectorLogger {
  const line = (obj: object, msg: string): void => log(`${msg} ${JSON.stringify(obj)}`);
  return { info: line, warn: line };
}
