/**
 * The contract between the webhook server (I/O: AdmissionReview, informers, TLS) and the pure
 * decisions in this folder. The server implements ClusterView over its informer caches; the
 * decisions never perform I/O and never throw.
 */

export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface NadInfo {
  namespace: string;
  name: string;
  annotations: Record<string, string>;
  /** spec.config, may be '' (Multus then reads a file from its confDir). */
  config: string;
}

export interface CoordinatorInfo {
  name: string;
  phase: string | undefined;
  reason: string | undefined;
}

/** Implemented by the server over informer caches; never an API call per review. */
export interface ClusterView {
  namespace(name: string): NamespaceInfo | undefined;
  nad(namespace: string, name: string): NadInfo | undefined;
  coordinator(name: string): CoordinatorInfo | undefined;
}

export interface DecideOptions {
  /** SpiderCoordinator name; Spiderpool's default is 'default'. */
  coordinatorName: string;
}

export type JsonPatchOp = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown };

export interface Refusal {
  /** Stable reason code from common/src/reasons.ts. */
  code: string;
  /** Field path, e.g. `metadata.annotations["k8s.v1.cni.cncf.io/networks"]` or `spec.config.plugins[2].type`. */
  field: string;
  /** Self-contained: names the object, the field and the fix. */
  message: string;
}

export type Decision =
  | { kind: 'allow'; patch: JsonPatchOp[]; warnings: string[]; skipped?: string }
  | { kind: 'deny'; refusals: Refusal[]; warnings: string[] };

/**
 * What a pod review is about. Container security contexts are immutable after creation, so only a
 * creation gets them mutated; `kubectl debug` adds containers through pods/ephemeralcontainers,
 * where only the ephemeral containers that are not in `oldPod` (the review's oldObject) may change
 * and are checked.
 */
export type PodReview = { kind: 'create' } | { kind: 'update' } | { kind: 'ephemeral'; oldPod: unknown };
export const POD_CREATE: PodReview = { kind: 'create' };
