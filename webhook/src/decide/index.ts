/** The webhook's pure decisions: the only entry points the server uses. */
export type {
  ClusterView,
  CoordinatorInfo,
  DecideOptions,
  Decision,
  JsonPatchOp,
  NadInfo,
  NamespaceInfo,
  PodReview,
  Refusal,
} from './types.js';
export { POD_CREATE } from './types.js';
export { mutatePod, validatePod, intentFor } from './pod.js';
export { mutateNad, validateNad, insertWeir } from './nad.js';
export { denialMessage } from './findings.js';

/** Spiderpool's default SpiderCoordinator name. */
export const DEFAULT_COORDINATOR_NAME = 'default';
