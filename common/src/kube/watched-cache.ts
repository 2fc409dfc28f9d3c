import { KubeConfig, makeInformer, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';

/**
 * An informer that keeps itself alive. client-node's ListWatch stops for good on a watch error;
 * this wrapper restarts it with capped exponential backoff, reports whether the first list has
 * completed (`synced`) and when the API server was last heard from (`lastContactMs`), so a
 * readiness probe can refuse to serve decisions from a cache that has gone stale.
 */
export interface WatchedCache<T extends KubernetesObject> {
  readonly synced: boolean;
  /** performance.now() of the last list, event or successful reconnect. */
  readonly lastContactMs: number;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  /** Resolves once the first list has completed. */
  waitForSync(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export interface WatchedCacheOptions<T extends KubernetesObject> {
  kubeconfig: KubeConfig;
  /** Watch path, e.g. /api/v1/namespaces or /apis/k8s.cni.cncf.io/v1/network-attachment-definitions */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  onChange?: (kind: 'add' | 'update' | 'delete', object: T) => void;
  onError?: (error: unknown, retryInMs: number) => void;
  maxBackoffMs?: number;
}

export function startWatchedCache<T extends KubernetesObject>(options: WatchedCacheOptions<T>): WatchedCache<T> {
  const informer = makeInformer<T>(options.kubeconfig, options.path, async () => {
    const list = await options.list();
    state.synced = true;
    state.lastContactMs = performance.now();
    for (const resolve of syncWaiters.splice(0)) resolve();
    return list;
  }, options.labelSelector);
  const state = { synced: false, lastContactMs: 0, stopped: false, backoffMs: 250 };
  const syncWaiters: Array<() => void> = [];
  let retryTimer: NodeJS.Timeout | undefined;
  const maxBackoffMs = options.maxBackoffMs ?? 10_000;

  const touch = (kind: 'add' | 'update' | 'delete') => (object: T) => {
    state.lastContactMs = performance.now();
    state.backoffMs = 250;
    options.onChange?.(kind, object);
  };
  informer.on('add', touch('add'));
  informer.on('update', touch('update'));
  informer.on('delete', touch('delete'));
  informer.on('connect', () => { state.lastContactMs = performance.now(); });
  informer.on('error', (error: unknown) => {
    if (state.stopped) return;
    const delay = state.backoffMs;
    state.backoffMs = Math.min(state.backoffMs * 2, maxBackoffMs);
    options.onError?.(error, delay);
    retryTimer = setTimeout(() => { if (!state.stopped) void restart(); }, delay);
    retryTimer.unref();
  });

  async function restart(): Promise<void> {
    try {
      await informer.start();
    } catch (error) {
      // start() rejects when the initial list fails; the 'error' handler above schedules the retry
      // only for watch errors, so schedule it here as well.
      if (state.stopped) return;
      const delay = state.backoffMs;
      state.backoffMs = Math.min(state.backoffMs * 2, maxBackoffMs);
      options.onError?.(error, delay);
      retryTimer = setTimeout(() => { if (!state.stopped) void restart(); }, delay);
      retryTimer.unref();
    }
  }
  void restart();

  return {
    get synced() { return state.synced; },
    get lastContactMs() { return state.lastContactMs; },
    get: (name, namespace) => informer.get(name, namespace),
    list: (namespace) => informer.list(namespace),
    waitForSync(timeoutMs) {
      if (state.synced) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`cache for ${options.path} did not sync within ${timeoutMs} ms`)), timeoutMs);
        timer.unref();
        syncWaiters.push(() => { clearTimeout(timer); resolve(); });
      });
    },
    async stop() {
      state.stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      await informer.stop();
    },
  };
}
