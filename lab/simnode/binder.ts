import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { startWatchedCache, type WatchedCache } from '../../common/src/kube/watched-cache.js';

/**
 * The lab's scheduler: binds every pod without `spec.nodeName` to the simulated nodes in turn.
 * A pod that names its node is left alone (the test suites pin pods to nodes that way).
 */
export class RoundRobinBinder {
  private readonly core: CoreV1Api;
  private cache: WatchedCache<V1Pod> | undefined;
  private next = 0;
  private readonly inFlight = new Set<string>();

  constructor(private readonly kubeconfig: KubeConfig, private readonly nodes: string[], private readonly log: (line: string) => void) {
    this.core = kubeconfig.makeApiClient(CoreV1Api);
  }

  async start(): Promise<void> {
    this.cache = startWatchedCache<V1Pod>({
      kubeconfig: this.kubeconfig,
      path: '/api/v1/pods',
      list: () => this.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=' }),
      onChange: (kind, pod) => { if (kind !== 'delete') void this.bind(pod); },
      onError: (error, retry) => this.log(`binder watch error (${String(error)}); retrying in ${retry} ms`),
    });
    await this.cache.waitForSync(30_000);
  }

  private async bind(pod: V1Pod): Promise<void> {
    const name = pod.metadata?.name;
    const namespace = pod.metadata?.namespace;
    const uid = pod.metadata?.uid;
    if (!name || !namespace || !uid || pod.spec?.nodeName || pod.metadata?.deletionTimestamp || this.inFlight.has(uid)) return;
    const node = this.nodes[this.next % this.nodes.length];
    if (node === undefined) return;
    this.next++;
    this.inFlight.add(uid);
    try {
      await this.core.createNamespacedBinding({
        namespace,
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid }, target: { apiVersion: 'v1', kind: 'Node', name: node } },
      });
    } catch (error) {
      this.log(`binding ${namespace}/${name} to ${node} failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.inFlight.delete(uid);
    }
  }

  async stop(): Promise<void> {
    await this.cache?.stop();
  }
}
