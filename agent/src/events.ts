/**
 * The ports through which agent code reports to people: Kubernetes Warning Events on a pod (what
 * `kubectl describe pod` shows) or on any API object (a policy). agent/src/kube/events.ts and
 * agent/src/kube/object-events.ts implement them against the API server; tests record them. A
 * leaf module, so the endpoint and policy code can report without importing the Kubernetes client.
 * Best effort: a sink never blocks.
 */
export interface PodRefForEvent {
  namespace: string;
  name: string;
  uid: string;
}

export interface PodEventSink {
  warning(pod: PodRefForEvent, reason: string, message: string): void;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  /** undefined for a cluster-scoped object. */
  namespace: string | undefined;
  name: string;
  uid: string;
}

export interface ObjectEventSink {
  warning(object: ObjectRef, reason: string, message: string): void;
}
