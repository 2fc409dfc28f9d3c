import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

/** Kubernetes Events about pods (what `kubectl describe pod` shows). Best effort: never blocks. */
export interface PodRefForEvent {
  namespace: string;
  name: string;
  uid: string;
}

export interface PodEventSink {
  warning(pod: PodRefForEvent, reason: string, message: string): void;
}

/** A cluster-scoped object an Event is about (a ClusterNetworkPolicy). */
export interface ClusterObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/** Events about cluster-scoped objects; recorded in "default", where kubectl looks for them. */
export interface ClusterEventSink {
  clusterWarning(object: ClusterObjectRef, reason: string, message: string): void;
}

export class KubePodEvents implements PodEventSink, ClusterEventSink {
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig, private readonly component: string, private readonly onError: (e: unknown) => void) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  clusterWarning(object: ClusterObjectRef, reason: string, message: string): void {
    const now = new Date();
    void this.core.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { generateName: `${object.name}.weir-`, namespace: 'default' },
        involvedObject: { kind: object.kind, apiVersion: object.apiVersion, name: object.name, uid: object.uid },
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

  warning(pod: PodRefForEvent, reason: string, message: string): void {
    const now = new Date();
    void this.core.createNamespacedEvent({
      namespace: pod.namespace,
      body: {
        metadata: { generateName: `${pod.name}.weir-`, namespace: pod.namespace },
        involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: pod.namespace, name: pod.name, uid: pod.uid },
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
