/**
 * The agent's view of the cluster: self-healing watched caches for every resource the policy
 * compiler needs, reported to the agent as raw (untrusted) object changes. The agent parses them
 * (agent/src/agent.ts); this module only moves objects. Pods are watched cluster-wide: remote
 * pods' IPs and labels give the identities that cross-node policy needs (issue 7).
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { startWatchedCache, type WatchedCache } from '../../../common/src/kube/watched-cache.js';

export const RESOURCES = [
  'namespace',
  'pod',
  'networkpolicy',
  'multinetworkpolicy',
  'adminnetworkpolicy',
  'baselineadminnetworkpolicy',
  'nad',
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
  list: () => Promise<KubernetesListObject<KubernetesObject>>;
}

function asList(body: unknown): KubernetesListObject<KubernetesObject> {
  const o = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const items = Array.isArray(o['items']) ? (o['items'] as KubernetesObject[]) : [];
  const meta = typeof o['metadata'] === 'object' && o['metadata'] !== null ? (o['metadata'] as Record<string, unknown>) : {};
  const resourceVersion = typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : undefined;
  return { apiVersion: 'v1', kind: 'List', items, metadata: resourceVersion === undefined ? {} : { resourceVersion } };
}

function errorCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number' ? err.code : undefined;
}

export class KubeSources implements ClusterSource {
  private readonly core: CoreV1Api;
  private readonly caches = new Map<Resource, WatchedCache<KubernetesObject>>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly onWatchError: (resource: Resource, error: unknown, retryInMs: number) => void = () => undefined,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  private specs(): Record<Resource, ResourceSpec> {
    const core = this.core;
    const net = this.kc.makeApiClient(NetworkingV1Api);
    const custom = this.kc.makeApiClient(CustomObjectsApi);
    const crd = (group: string, version: string, plural: string): ResourceSpec => ({
      path: `/apis/${group}/${version}/${plural}`,
      list: async () => asList(await custom.listClusterCustomObject({ group, version, plural })),
    });
    return {
      namespace: { path: '/api/v1/namespaces', list: async () => asList(await core.listNamespace()) },
      pod: { path: '/api/v1/pods', list: async () => asList(await core.listPodForAllNamespaces()) },
      networkpolicy: {
        path: '/apis/networking.k8s.io/v1/networkpolicies',
        list: async () => asList(await net.listNetworkPolicyForAllNamespaces()),
      },
      multinetworkpolicy: crd('k8s.cni.cncf.io', 'v1beta1', 'multi-networkpolicies'),
      adminnetworkpolicy: crd('policy.networking.k8s.io', 'v1alpha1', 'adminnetworkpolicies'),
      baselineadminnetworkpolicy: crd('policy.networking.k8s.io', 'v1alpha1', 'baselineadminnetworkpolicies'),
      nad: crd('k8s.cni.cncf.io', 'v1', 'network-attachment-definitions'),
    };
  }

  async start(onChange: (change: SourceChange) => void, syncTimeoutMs: number): Promise<void> {
    const specs = this.specs();
    for (const resource of RESOURCES) {
      const spec = specs[resource];
      this.caches.set(resource, startWatchedCache<KubernetesObject>({
        kubeconfig: this.kc,
        path: spec.path,
        list: spec.list,
        onChange: (kind, object) => onChange({ resource, type: kind === 'delete' ? 'delete' : 'upsert', object }),
        onError: (error, retryInMs) => this.onWatchError(resource, error, retryInMs),
      }));
    }
    // A missing CRD keeps its cache unsynced and the agent unready: enforcing without knowing the
    // AdminNetworkPolicies would silently allow what they deny.
    await Promise.all([...this.caches.values()].map((c) => c.waitForSync(syncTimeoutMs)));
  }

  get synced(): boolean {
    return this.caches.size === RESOURCES.length && [...this.caches.values()].every((c) => c.synced);
  }

  unsynced(): Resource[] {
    return RESOURCES.filter((r) => this.caches.get(r)?.synced !== true);
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
