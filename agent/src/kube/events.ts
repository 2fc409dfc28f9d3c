import type { KubeConfig } from '@kubernetes/client-node';
import { KubeObjectEvents } from './object-events.js';

/** Kubernetes Events about pods (what `kubectl describe pod` shows). Best effort: never blocks. */
export interface PodRefForEvent {
  namespace: string;
  name: string;
  uid: string;
}

export interface PodEventSink {
  warning(pod: PodRefForEvent, reason: string, message: string): void;
}

export class KubePodEvents implements PodEventSink {
  private readonly objects: KubeObjectEvents;

  constructor(kc: KubeConfig, component: string, onError: (e: unknown) => void) {
    this.objects = new KubeObjectEvents(kc, component, onError);
  }

  warning(pod: PodRefForEvent, reason: string, message: string): void {
    this.objects.warning({ apiVersion: 'v1', kind: 'Pod', ...pod }, reason, message);
  }
}
