/**
 * Informer caches trail the API server. `kubectl apply` of a namespace, a NAD and a pod in one go
 * (or a test that creates them back to back) sends the pod's reviews before the webhook's caches
 * hold the other two. Deciding at once would refuse the pod (NAMESPACE_UNKNOWN, NAD not found), or
 * worse, let the mutating and the validating webhook disagree when the NAD arrives between the two
 * calls: the intent written without the NAD no longer matches (POD_INTENT_MISMATCH), a refusal that
 * tells the user nothing true. So a pod review that names a namespace or NAD the caches lack waits,
 * bounded, until they hold it; then it is decided as before. A NAD that truly does not exist is
 * refused after the wait.
 */
import { MULTUS_DEFAULT_NETWORK, MULTUS_NETWORKS, NS_DEFAULT_NETWORK, NS_NETWORKS } from '../../../common/src/annotations.js';
import { annotationsOf } from '../../../common/src/records.js';
import { resolveAttachments } from '../decide/attachments.js';
import type { ClusterView } from './contract.js';
import type { AdmissionRequest } from './review.js';

export interface CatchUpOptions {
  /** How long a review waits for the caches; the API server's webhook timeout must be longer. */
  readonly timeoutMs: number;
  readonly pollMs: number;
}

/** Cache lag is milliseconds; 3 s covers a slow watch without holding reviews for long. */
export const MAX_CATCH_UP_MS = 3_000;
/** What the review still needs after the wait: deciding, answering, the network both ways. */
export const MAX_CATCH_UP_MARGIN_MS = 1_000;
/** Kubernetes' own default for a webhook's timeoutSeconds, used when none is configured. */
export const DEFAULT_ADMISSION_TIMEOUT_SECONDS = 10;

/**
 * The wait that fits inside the API server's webhook timeout (`timeoutSeconds` of the webhook
 * configurations, charts/weir/values.yaml webhook.timeoutSeconds). A wait as long as the timeout
 * would let the API server give up first and refuse the pod with a bare "context deadline
 * exceeded" instead of Weir's reason. So the wait leaves a margin of up to 1 s (half the timeout
 * for short timeouts: 1 s gives a 500 ms wait) and never exceeds MAX_CATCH_UP_MS.
 */
export function catchUpFor(admissionTimeoutSeconds: number): CatchUpOptions {
  const timeoutMs = admissionTimeoutSeconds * 1_000;
  const margin = Math.min(MAX_CATCH_UP_MARGIN_MS, timeoutMs / 2);
  return { timeoutMs: Math.max(0, Math.min(MAX_CATCH_UP_MS, timeoutMs - margin)), pollMs: 20 };
}

export const DEFAULT_CATCH_UP: CatchUpOptions = catchUpFor(DEFAULT_ADMISSION_TIMEOUT_SECONDS);

/** What a pod review refers to that the caches do not hold yet ([] when nothing is missing). */
export function missingReferences(review: AdmissionRequest, view: ClusterView): string[] {
  if (review.resource.resource !== 'pods' || review.namespace === '') return [];
  const ns = view.namespace(review.namespace);
  if (ns === undefined) return [`namespace ${review.namespace}`];
  const own = annotationsOf(review.object);
  // The namespace's defaults name NADs too (the mutating webhook injects them).
  const defaults: Record<string, string> = {};
  const nsDefault = ns.annotations[NS_DEFAULT_NETWORK];
  const nsNetworks = ns.annotations[NS_NETWORKS];
  if (nsDefault !== undefined) defaults[MULTUS_DEFAULT_NETWORK] = nsDefault;
  if (nsNetworks !== undefined) defaults[MULTUS_NETWORKS] = nsNetworks;
  return [own, defaults].flatMap((annotations) =>
    resolveAttachments(annotations, review.namespace, view).attachments.flatMap((a) => (a.ref !== undefined && a.nad === undefined ? [`NAD ${a.ref}`] : [])),
  );
}

/**
 * Resolves once the caches hold everything the review names, or after the timeout with what is
 * still missing (the decision then refuses it with the usual reason).
 */
export async function awaitReferences(
  review: AdmissionRequest,
  view: ClusterView,
  options: CatchUpOptions = DEFAULT_CATCH_UP,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<{ missing: string[]; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const missing = missingReferences(review, view);
    const waitedMs = Date.now() - started;
    if (missing.length === 0 || waitedMs >= options.timeoutMs) return { missing, waitedMs };
    await sleep(options.pollMs);
  }
}
