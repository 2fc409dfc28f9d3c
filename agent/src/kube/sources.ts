/**
 * The agent's view of the cluster: one list+watch cache (common/src/kube/reflector.ts) for every
 * resource the policy compiler needs, reported to the agent as raw (untrusted) object changes. The agent parses them
 * (agent/src/agent.ts); this module only moves objects. Pods are watched cluster-wide: remote
 * pods' IPs and labels give the identities that cross-node policy needs (issue 7).
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { kubeWatch, rawList, rawObject } from '../../../common/src/kube/kube-source.js';
import { Reflector, type ListFn } from '../../../common/src/kube/reflector.js';
import { WEIR_ENDPOINT_PATH } from '../endpoints/weirendpoint.js';
import { slimObject } from './slim.js';

export const RESOURCES = [
  'namespace',
  'pod',
  'networkpolicy',
  'multinetworkpolicy',
  'adminnetworkpolicy',
  'baselineadminnetworkpolicy',
  'clusternetworkpolicy',
  'node',
  'nad',
  'weirendpoint',
  'service',
  'endpointslice',
] as const;
export type Resource = (typeof RESOURCES)[number];

export interface SourceChange {
  resource: Resource;
  type: 'upsert' | 'delete';
  /** The object as the API server sent it; parsed by the agent. */
  object: unknown;
}

/** What the agent needs from the cluster; KubeSources is the real one, tests script their own. */
export interface ClusterSource {
  /** Starts watching; resolves once every cache has completed its first list. */
  start(onChange: (change: SourceChange) => void, syncTimeoutMs: number): Promise<void>;
  /** Every cache has synced at least once. */
  readonly synced: boolean;
  /** Resources whose cache has not synced yet (readiness messages). */
  unsynced(): Resource[];
  /** A direct GET that bypasses the cache; undefined when the pod does not exist. */
  fetchPod(namespace: string, name: string): Promise<unknown>;
  stop(): Promise<void>;
}

interface ResourceSpec {
  path: string;
  list: ListFn;
}

export interface KubeSourcesTuning {
  /** How often a resource type the API server did not serve (CRD absent) is looked for again. */
  absentRecheckMs?: number;
  /** Hears the caches' info lines (a type not served, or served again); failures go to onWatchError. */
  info?: (obj: object, msg: string) => void;
}

/** Failures reach the caller through onWatchError (the agent logs them itself): the caches log nothing. */
const ignore = (): void => undefined;

function errorCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number' ? err.code : undefined;
}

export class KubeSources implements ClusterSource {
  private readonly core: CoreV1Api;
  private readonly caches = new Map<Resource, Reflector<unknown>>();

  /** `onWatchError` hears about each failed list or watch (each is retried with backoff). */
  constructor(
    private readonly kc: KubeConfig,
    private readonly onWatchError: (resource: Resource, error: unknown, retryInMs: number) => void = () => undefined,
    private readonly tuning: KubeSourcesTuning = {},
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  private specs(): Record<Resource, ResourceSpec> {
    // Every list is read as wire JSON (rawList), the same shape the watch events have.
    const spec = (path: string): ResourceSpec => ({ path, list: rawList(this.kc, path) });
    return {
      namespace: spec('/api/v1/namespaces'),
      pod: spec('/api/v1/pods'),
      networkpolicy: spec('/apis/networking.k8s.io/v1/networkpolicies'),
      multinetworkpolicy: spec('/apis/k8s.cni.cncf.io/v1beta1/multi-networkpolicies'),
      adminnetworkpolicy: spec('/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies'),
      baselineadminnetworkpolicy: spec('/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies'),
      clusternetworkpolicy: spec('/apis/policy.networking.k8s.io/v1beta1/clusternetworkpolicies'),
      // Nodes: the addresses of ClusterNetworkPolicy `nodes` peers.
      node: spec('/api/v1/nodes'),
      nad: spec('/apis/k8s.cni.cncf.io/v1/network-attachment-definitions'),
      weirendpoint: spec(WEIR_ENDPOINT_PATH),
      // Services and their EndpointSlices: egress to a ClusterIP (agent/src/policy/services.ts).
      service: spec('/api/v1/services'),
      endpointslice: spec('/apis/discovery.k8s.io/v1/endpointslices'),
    };
  }

  async start(onChange: (change: SourceChange) => void, syncTimeoutMs: number): Promise<void> {
    const specs = this.specs();
    const watch = kubeWatch(this.kc);
    for (const resource of RESOURCES) {
      const spec = specs[resource];
      const cache = new Reflector<unknown>({
        resource,
        watchPath: spec.path,
        list: spec.list,
        watch,
        // The cache and the agent keep only what the agent reads (slim.ts).
        parse: (obj) => rawObject(slimObject(resource, obj)),
        logger: { info: this.tuning.info ?? ignore, warn: ignore },
        onError: (message, retryMs) => this.onWatchError(resource, message, retryMs),
        backoffMaxMs: 10_000,
        ...(this.tuning.absentRecheckMs === undefined ? {} : { absentRecheckMs: this.tuning.absentRecheckMs }),
        onChange: (c) => onChange({ resource, type: c.type, object: c.value }),
      });
      this.caches.set(resource, cache);
      cache.start();
    }
    // Every policy type but NetworkPolicy is a CRD that may not be installed, and so is WeirEndpoint
    // (without it, remote pods are known by status.podIPs alone). A type the API server
    // does not serve (404) has no objects, so its empty cache is the truth and counts as synced; the
    // Reflector lists it again every absentRecheckMs (default 30 s) and watches it once it appears.
    // Any other list failure (unreachable, forbidden) keeps that cache unsynced and the agent unready.
    await Promise.all([...this.caches.values()].map((c) => c.waitForSync(syncTimeoutMs)));
  }

  get synced(): boolean {
    return this.caches.size === RESOURCES.length && [...this.caches.values()].every((c) => c.status().synced);
  }

  unsynced(): Resource[] {
    return RESOURCES.filter((r) => this.caches.get(r)?.status().synced !== true);
  }

  async fetchPod(namespace: string, name: string): Promise<unknown> {
    try {
      return await this.core.readNamespacedPod({ namespace, name });
    } catch (err) {
      if (errorCode(err) === 404) return undefined;
      throw err;
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.caches.values()].map((c) => c.stop()));
    this.caches.clear();
  }
}
