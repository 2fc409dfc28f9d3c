import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { ObjectEventSink, ObjectRef } from '../events.js';

/**
 * Warning Events about any API object (what `kubectl describe` and `kubectl get events` show).
 * Events of a cluster-scoped object (an AdminNetworkPolicy) go to the `default` namespace, where
 * kubectl looks for them. Best effort: never blocks, failures go to onError.
 */
export class KubeObjectEvents implements ObjectEventSink {
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig, private readonly component: string, private readonly onError: (e: unknown) => void) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  warning(object: ObjectRef, reason: string, message: string): void {
    const now = new Date();
    const namespace = object.namespace ?? 'default';
    void this.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${object.name}.weir-`, namespace },
        involvedObject: { kind: object.kind, apiVersion: object.apiVersion, namespace: object.namespace, name: object.name, uid: object.uid },
        type: 'Warning',
        reason,
        message: message.slice(0, 1024),
        source: { component: this.component },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    }).catch(this.onError);
  }
}
