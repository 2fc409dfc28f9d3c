import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { kubeWatch, lineLogger, toListResult } from '../../common/src/kube/kube-source.js';
import { Reflector } from '../../common/src/kube/reflector.js';
import { podEntry } from './kubelet.js';

/**
 * The lab's scheduler: binds every pod without `spec.nodeName` to the simulated nodes in turn.
 * A pod that names its node is left alone (the test suites pin pods to nodes that way).
 */
export class RoundRobinBinder {
  private readonly core: CoreV1Api;
  private cache: Reflector<V1Pod> | undefined;
  private next = 0;
  private readonly inFlight = new Set<string>();

  constructor(private readonly kubeconfig: KubeConfig, private readonly nodes: string[], private readonly log: (line: string) => void) {
    this.core = kubeconfig.makeApiClient(CoreV1Api);
  }

  async start(): Promise<void> {
    // Unscheduled pods only, on list and watch alike; a bound pod leaves the set as a delete.
    this.cache = new Reflector<V1Pod>({
      resource: 'unscheduled pods',
      watchPath: '/api/v1/pods',
      fieldSelector: 'spec.nodeName=',
      list: async (q) => toListResult(await this.core.listPodForAllNamespaces(q)),
      watch: kubeWatch(this.kubeconfig),
      parse: podEntry,
      logger: lineLogger(this.log),
      backoffMaxMs: 10_000,
      onChange: (c) => { if (c.type === 'upsert') void this.bind(c.value); },
    });
    this.cache.start();
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
