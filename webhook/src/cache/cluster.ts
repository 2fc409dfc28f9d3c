/**
 * The webhook's picture of the cluster: Namespaces, NetworkAttachmentDefinitions (all namespaces)
 * and SpiderCoordinators (cluster-scoped), each a Reflector, exposed as the ClusterView the
 * decisions read. Reviews never call the API server; they read these maps.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Readiness } from '../server/app.js';
import type { ClusterView, CoordinatorInfo, NadInfo, NamespaceInfo } from '../server/contract.js';
import { kubeWatch, rawList } from '../../../common/src/kube/kube-source.js';
import { Reflector, type ListFn, type WatchFn } from '../../../common/src/kube/reflector.js';

function rec(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(rec(v) ?? {})) if (typeof x === 'string') out[k] = x;
  return out;
}

function optString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function parseNamespace(obj: unknown): { key: string; value: NamespaceInfo } | undefined {
  const meta = rec(rec(obj)?.metadata);
  const name = optString(meta?.name);
  if (name === undefined || name === '') return undefined;
  return { key: name, value: { name, labels: stringMap(meta?.labels), annotations: stringMap(meta?.annotations) } };
}

export function parseNad(obj: unknown): { key: string; value: NadInfo } | undefined {
  const o = rec(obj);
  const meta = rec(o?.metadata);
  const name = optString(meta?.name);
  const namespace = optString(meta?.namespace);
  if (name === undefined || namespace === undefined || name === '' || namespace === '') return undefined;
  const config = optString(rec(o?.spec)?.config) ?? '';
  return { key: `${namespace}/${name}`, value: { namespace, name, annotations: stringMap(meta?.annotations), config } };
}

export function parseCoordinator(obj: unknown): { key: string; value: CoordinatorInfo } | undefined {
  const o = rec(obj);
  const name = optString(rec(o?.metadata)?.name);
  if (name === undefined || name === '') return undefined;
  const status = rec(o?.status);
  return { key: name, value: { name, phase: optString(status?.phase), reason: optString(status?.reason) } };
}

export interface CacheSources {
  namespaces: { list: ListFn; watchPath: string };
  nads: { list: ListFn; watchPath: string };
  coordinators: { list: ListFn; watchPath: string };
  watch: WatchFn;
}

export interface CacheTuning {
  now?: () => number;
  watchTimeoutSeconds?: number;
  maxStalenessMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

export interface ClusterCache {
  view: ClusterView;
  readiness(): Readiness;
  /** Resolves when every cache has listed once, rejects after timeoutMs. */
  waitForSync(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export function startClusterCache(sources: CacheSources, logger: Logger, tuning: CacheTuning = {}): ClusterCache {
  const common = { watch: sources.watch, logger, ...tuning };
  const namespaces = new Reflector<NamespaceInfo>({ resource: 'namespaces', ...sources.namespaces, parse: parseNamespace, ...common });
  const nads = new Reflector<NadInfo>({ resource: 'network-attachment-definitions', ...sources.nads, parse: parseNad, ...common });
  const coordinators = new Reflector<CoordinatorInfo>({
    resource: 'spidercoordinators',
    ...sources.coordinators,
    parse: parseCoordinator,
    ...common,
  });
  const all = [namespaces, nads, coordinators] as const;
  for (const r of all) r.start();
  const names = ['namespaces', 'network-attachment-definitions', 'spidercoordinators'];

  const readiness = (): Readiness => {
    const reasons: string[] = [];
    all.forEach((r, i) => {
      const s = r.status();
      const n = names[i] ?? '?';
      if (!s.synced) reasons.push(`${n} cache not synced${s.lastError === undefined ? '' : `: ${s.lastError}`}`);
      else if (s.stale) {
        reasons.push(
          `${n} cache stale: API server not heard from for ${Math.round((s.sinceContactMs ?? 0) / 1000)} s${s.lastError === undefined ? '' : ` (${s.lastError})`}`,
        );
      }
    });
    return { ready: reasons.length === 0, reasons };
  };

  return {
    view: {
      namespace: (name) => namespaces.get(name),
      nad: (namespace, name) => nads.get(`${namespace}/${name}`),
      coordinator: (name) => coordinators.get(name),
    },
    readiness,
    async waitForSync(timeoutMs: number): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!all.every((r) => r.status().synced)) {
        if (Date.now() > deadline) throw new Error(`caches not synced after ${timeoutMs} ms: ${readiness().reasons.join('; ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(): Promise<void> {
      await Promise.all(all.map((r) => r.stop()));
    },
  };
}

/**
 * The real sources: wire-JSON lists (rawList: resourceVersion=0, paged; a CRD that is not
 * installed lists as "not served", an empty and synced cache) and client-node's Watch.
 */
export function kubeCacheSources(kc: KubeConfig): CacheSources {
  const source = (watchPath: string): { list: ListFn; watchPath: string } => ({ watchPath, list: rawList(kc, watchPath) });
  return {
    namespaces: source('/api/v1/namespaces'),
    nads: source('/apis/k8s.cni.cncf.io/v1/network-attachment-definitions'),
    coordinators: source('/apis/spiderpool.spidernet.io/v2beta1/spidercoordinators'),
    watch: kubeWatch(kc),
  };
}
