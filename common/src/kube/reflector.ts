/**
 * The one list+watch cache (informer) of the repo, used by the webhook, the agent and the lab.
 * Written over client-node's `Watch` rather than its `ListWatch`, because ListWatch stops for good on
 * a watch error and gives no signal of how stale it is; callers need both re-listing with backoff and
 * a bound on staleness.
 *
 * Staleness: every watch is opened with a server-side `timeoutSeconds` and bookmarks, so a healthy
 * connection proves itself at least once per timeout (an event, a bookmark or the server's clean
 * close). `lastContact` is the time of the last such proof or successful list; the cache reports
 * itself stale when that is older than `maxStalenessMs`. A watch that stays silent beyond that bound
 * (a half-open connection the kernel has not noticed) is abandoned and the resource re-listed.
 *
 * Changes: `onChange` sees every upsert and delete, including the difference a re-list makes (an
 * object deleted while the watch was down is reported as a delete), so a consumer that keeps its own
 * state (the agent's policy model) never misses one. The store is updated before `onChange` runs.
 */

export interface ListResult {
  items: unknown[];
  resourceVersion: string;
}

/** Selectors applied to the list and to every watch, so both see the same set of objects. */
export interface Selectors {
  fieldSelector?: string;
  labelSelector?: string;
}

/** Lists the resource; resolves `undefined` when the resource type does not exist (CRD absent). */
export type ListFn = (selectors: Selectors) => Promise<ListResult | undefined>;

/** client-node Watch.watch, narrowed. */
export type WatchFn = (
  path: string,
  query: Record<string, string | number | boolean | undefined>,
  onEvent: (type: string, obj: unknown) => void,
  onDone: (err: unknown) => void,
) => Promise<AbortController>;

/** The part of a pino Logger the cache uses; anything with these two methods will do. */
export interface ReflectorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export type CacheChange<T> = { type: 'upsert'; key: string; value: T } | { type: 'delete'; key: string; value: T };

export interface ReflectorOptions<T> extends Selectors {
  resource: string;
  watchPath: string;
  list: ListFn;
  watch: WatchFn;
  /** Key and typed value of an object, or undefined to ignore it (logged). */
  parse: (obj: unknown) => { key: string; value: T } | undefined;
  logger: ReflectorLogger;
  onChange?: (change: CacheChange<T>) => void;
  /** Hears each failed list or watch (also logged at warn); it is retried after `retryMs`. */
  onError?: (message: string, retryMs: number) => void;
  now?: () => number;
  watchTimeoutSeconds?: number;
  maxStalenessMs?: number;
  /** How often an open watch checks the staleness bound; default a quarter of it, at most 10 s. */
  staleCheckMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** How often to look again for a resource type that did not exist. */
  absentRecheckMs?: number;
}

export interface ReflectorStatus {
  synced: boolean;
  /** ms since the API server was last heard from; undefined before the first list. */
  sinceContactMs: number | undefined;
  stale: boolean;
  lastError: string | undefined;
}

type WatchEnd = { kind: 'closed' } | { kind: 'gone' } | { kind: 'stale' } | { kind: 'error'; err: unknown } | { kind: 'stopped' };

interface Entry<T> {
  value: T;
  /** resourceVersion of the object the value came from: a re-list reports only what changed. */
  rv: string | undefined;
}

export function resourceVersionOf(obj: unknown): string | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const meta = (obj as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const rv = (meta as { resourceVersion?: unknown }).resourceVersion;
  return typeof rv === 'string' ? rv : undefined;
}

function statusCodeOf(obj: unknown): number | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const code = (obj as { code?: unknown; statusCode?: unknown }).code ?? (obj as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' ? code : undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

export class Reflector<T> {
  private store = new Map<string, Entry<T>>();
  private synced = false;
  private stopped = false;
  private lastContact: number | undefined;
  private lastError: string | undefined;
  private controller: AbortController | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private syncWaiters: Array<() => void> = [];
  private readonly now: () => number;

  constructor(private readonly o: ReflectorOptions<T>) {
    this.now = o.now ?? Date.now;
  }

  get(key: string): T | undefined {
    return this.store.get(key)?.value;
  }

  /** Every cached value (a snapshot). */
  values(): T[] {
    return [...this.store.values()].map((e) => e.value);
  }

  size(): number {
    return this.store.size;
  }

  status(): ReflectorStatus {
    const since = this.lastContact === undefined ? undefined : this.now() - this.lastContact;
    return { synced: this.synced, sinceContactMs: since, stale: since === undefined || since > this.bound(), lastError: this.lastError };
  }

  private bound(): number {
    return this.o.maxStalenessMs ?? 300_000;
  }

  start(): void {
    if (this.loop !== undefined) return;
    this.loop = this.run();
  }

  /** Resolves once the first list has completed; rejects after timeoutMs. */
  waitForSync(timeoutMs: number): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
        reject(new Error(`${this.o.resource} cache not synced after ${timeoutMs} ms${this.lastError === undefined ? '' : `: ${this.lastError}`}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.syncWaiters.push(done);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.controller?.abort();
    this.wake?.();
    await this.loop;
  }

  private contact(): void {
    this.lastContact = this.now();
  }

  private markSynced(): void {
    this.synced = true;
    this.lastError = undefined;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private emit(change: CacheChange<T>): void {
    if (this.o.onChange === undefined) return;
    try {
      this.o.onChange(change);
    } catch (err) {
      // A consumer's bug must not tear down the watch (and with it every later change).
      this.o.logger.warn({ resource: this.o.resource, key: change.key, err: describe(err) }, 'change handler threw');
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Replaces the store with a fresh list and reports the difference. */
  private replace(items: unknown[]): void {
    const next = new Map<string, Entry<T>>();
    for (const item of items) {
      const p = this.o.parse(item);
      if (p === undefined) {
        this.o.logger.warn({ resource: this.o.resource }, 'ignoring an object the cache cannot read');
        continue;
      }
      next.set(p.key, { value: p.value, rv: resourceVersionOf(item) });
    }
    const previous = this.store;
    this.store = next;
    for (const [key, e] of next) {
      const before = previous.get(key);
      if (before === undefined || before.rv === undefined || before.rv !== e.rv) this.emit({ type: 'upsert', key, value: e.value });
    }
    for (const [key, e] of previous) if (!next.has(key)) this.emit({ type: 'delete', key, value: e.value });
  }

  private selectorQuery(): Selectors {
    const q: Selectors = {};
    if (this.o.fieldSelector !== undefined) q.fieldSelector = this.o.fieldSelector;
    if (this.o.labelSelector !== undefined) q.labelSelector = this.o.labelSelector;
    return q;
  }

  /**
   * `stopped`, read after an await: stop() may have set it meanwhile. A call, because TypeScript
   * keeps the field narrowed to the value it had before the await.
   */
  private stoppedMeanwhile(): boolean {
    return this.stopped;
  }

  private async run(): Promise<void> {
    let backoff = this.o.backoffInitialMs ?? 500;
    const backoffMax = this.o.backoffMaxMs ?? 30_000;
    let absentOnce = false;
    /** Whether the last list found the type not served: said once per change, not per recheck. */
    let absent = false;
    while (!this.stopped) {
      let rv: string;
      try {
        const listed = await this.o.list(this.selectorQuery());
        if (this.stoppedMeanwhile()) return;
        this.contact();
        if (listed === undefined) {
          const recheckMs = this.o.absentRecheckMs ?? 30_000;
          if (this.store.size > 0 && !absentOnce) {
            // Served until now: one 404 (an API server still starting, a CRD being replaced) must
            // not wipe what the cache holds; only a second one, recheckMs later, says it is gone.
            absentOnce = true;
            this.lastError = `list ${this.o.resource}: the API server says the type is not served (404); keeping the cache until that is confirmed in ${recheckMs} ms`;
            this.o.logger.warn({ resource: this.o.resource, err: this.lastError }, 'resource type no longer served?');
            await this.sleep(recheckMs);
            continue;
          }
          // The CRD is not installed: an empty cache is the truth; look again later.
          absentOnce = false;
          this.replace([]);
          this.markSynced();
          if (!absent) this.o.logger.info({ resource: this.o.resource, recheckMs }, 'resource type not served by the API server (CRD not installed?); cache empty, looking again periodically');
          absent = true;
          await this.sleep(recheckMs);
          continue;
        }
        absentOnce = false;
        if (absent) this.o.logger.info({ resource: this.o.resource }, 'resource type now served; watching it');
        absent = false;
        this.replace(listed.items);
        rv = listed.resourceVersion;
        this.markSynced();
        backoff = this.o.backoffInitialMs ?? 500;
      } catch (err) {
        this.lastError = `list ${this.o.resource}: ${describe(err)}`;
        this.o.logger.warn({ resource: this.o.resource, err: this.lastError, retryMs: backoff }, 'list failed; retrying');
        this.o.onError?.(this.lastError, backoff);
        await this.sleep(backoff + Math.floor(Math.random() * backoff * 0.2));
        backoff = Math.min(backoff * 2, backoffMax);
        continue;
      }
      // Watch from rv until the watch is gone (relist) or fails (backoff, relist).
      for (;;) {
        const end = await this.watchOnce(rv, (next) => {
          rv = next;
        });
        if (end.kind === 'stopped' || this.stoppedMeanwhile()) return;
        if (end.kind === 'closed') {
          this.contact();
          continue;
        }
        if (end.kind === 'gone') {
          this.o.logger.info({ resource: this.o.resource }, 'watch expired (410); re-listing');
          break;
        }
        if (end.kind === 'stale') {
          this.lastError = `watch ${this.o.resource}: nothing heard for more than ${this.bound()} ms (no event, bookmark or close); re-listing`;
          this.o.logger.warn({ resource: this.o.resource, err: this.lastError }, 'watch silent beyond the staleness bound; re-listing');
          this.o.onError?.(this.lastError, 0);
          break;
        }
        this.lastError = `watch ${this.o.resource}: ${describe(end.err)}`;
        this.o.logger.warn({ resource: this.o.resource, err: this.lastError, retryMs: backoff }, 'watch failed; re-listing after backoff');
        this.o.onError?.(this.lastError, backoff);
        await this.sleep(backoff + Math.floor(Math.random() * backoff * 0.2));
        backoff = Math.min(backoff * 2, backoffMax);
        break;
      }
    }
  }

  private watchOnce(rv: string, setRv: (rv: string) => void): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let settled = false;
      const staleCheck = setInterval(() => {
        if (this.status().stale) finish({ kind: 'stale' });
      }, this.o.staleCheckMs ?? Math.max(10, Math.min(Math.floor(this.bound() / 4), 10_000)));
      const finish = (e: WatchEnd) => {
        if (settled) return;
        settled = true;
        clearInterval(staleCheck);
        this.controller?.abort();
        this.controller = undefined;
        resolve(e);
      };
      const onEvent = (type: string, obj: unknown) => {
        if (settled) return;
        this.contact();
        const next = resourceVersionOf(obj);
        switch (type) {
          case 'ADDED':
          case 'MODIFIED': {
            const p = this.o.parse(obj);
            if (p !== undefined) {
              this.store.set(p.key, { value: p.value, rv: next });
              this.emit({ type: 'upsert', key: p.key, value: p.value });
            }
            break;
          }
          case 'DELETED': {
            const p = this.o.parse(obj);
            if (p !== undefined && this.store.delete(p.key)) this.emit({ type: 'delete', key: p.key, value: p.value });
            break;
          }
          case 'BOOKMARK':
            break;
          case 'ERROR':
            finish(statusCodeOf(obj) === 410 ? { kind: 'gone' } : { kind: 'error', err: obj });
            return;
          default:
            return;
        }
        if (next !== undefined && next !== '') setRv(next);
      };
      const onDone = (err: unknown): void => {
        if (this.stopped) return finish({ kind: 'stopped' });
        if (err === null || err === undefined) return finish({ kind: 'closed' });
        return finish(statusCodeOf(err) === 410 ? { kind: 'gone' } : { kind: 'error', err });
      };
      this.o
        .watch(
          this.o.watchPath,
          { ...this.selectorQuery(), resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: this.o.watchTimeoutSeconds ?? 120 },
          onEvent,
          onDone,
        )
        .then((c) => {
          if (settled || this.stopped) c.abort();
          else this.controller = c;
          if (this.stopped) finish({ kind: 'stopped' });
        })
        .catch((err: unknown) => finish({ kind: 'error', err }));
    });
  }
}
