export type {
  ClusterView,
  CoordinatorInfo,
  DecideOptions,
  Decision,
  JsonPatchOp,
  NadInfo,
  NamespaceInfo,
  Refusal,
} from './types.js';
