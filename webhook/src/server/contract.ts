/**
 * The server's view of the pure decision module (webhook/src/decide/). The server never decides
 * anything itself: it parses the AdmissionReview, hands the object to these functions and encodes
 * what they return. Injecting them (instead of importing) keeps the server testable with a stub
 * and keeps the I/O half independent of the decision half.
 */
import type {
  ClusterView,
  Decision,
  DecideOptions,
  PodReview,
  Refusal,
} from '../decide/index.js';

export type {
  ClusterView,
  CoordinatorInfo,
  Decision,
  DecideOptions,
  JsonPatchOp,
  NadInfo,
  NamespaceInfo,
  PodReview,
  Refusal,
} from '../decide/index.js';

export interface Decider {
  mutatePod(pod: unknown, namespace: string, view: ClusterView, opts: DecideOptions, review: PodReview): Decision;
  validatePod(pod: unknown, namespace: string, view: ClusterView, opts: DecideOptions, review: PodReview): Decision;
  mutateNad(nad: unknown, view: ClusterView): Decision;
  /** `namespace` is the review's, for objects that carry none. */
  validateNad(nad: unknown, view: ClusterView, namespace: string): Decision;
  denialMessage(refusals: Refusal[]): string;
}
