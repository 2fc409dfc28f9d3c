import type { KubeConfig } from '@kubernetes/client-node';
import type { PodEventSink, PodRefForEvent } from '../events.js';
import { KubeObjectEvents } from './object-events.js';

/** Pod Events through the API server (the port: agent/src/events.ts). */
export class KubePodEvents implements PodEventSink {
  private readonly objects: KubeObjectEvents;

  constructor(kc: KubeConfig, component: string, onError: (e: unknown) => void) {
    this.objects = new KubeObjectEvents(kc, component, onError);
  }

  warning(pod: PodRefForEvent, reason: string, message: string): void {
    this.objects.warning({ apiVersion: 'v1', kind: 'Pod', ...pod }, reason, message);
  }
}
