/**
 * Which decision a parsed AdmissionRequest gets. Pure: no I/O, no clock. The server calls this and
 * encodes the Outcome; tests call it directly.
 */
import {
  K8S_EGRESS_BANDWIDTH,
  K8S_INGRESS_BANDWIDTH,
  MULTUS_DEFAULT_NETWORK,
  MULTUS_NETWORKS,
  POD_INTENT,
  SPIDERPOOL_DEFAULT_ROUTE_NIC,
} from '../../../common/src/annotations.js';
import { renderReason } from '../../../common/src/reasons.js';
import type { ClusterView, Decider, DecideOptions, Decision, JsonPatchOp, PodReview, Refusal } from './contract.js';
import type { AdmissionRequest, StatusCause, StatusDetails } from './review.js';

export type WebhookResource = 'pods' | 'nads';
export type WebhookPhase = 'mutate' | 'validate';
export interface Endpoint {
  resource: WebhookResource;
  phase: WebhookPhase;
}

/** The four AdmissionReview paths of the configuration contract. */
export const ENDPOINTS: ReadonlyMap<string, Endpoint> = new Map([
  ['/mutate-pods', { resource: 'pods', phase: 'mutate' }],
  ['/validate-pods', { resource: 'pods', phase: 'validate' }],
  ['/mutate-nads', { resource: 'nads', phase: 'mutate' }],
  ['/validate-nads', { resource: 'nads', phase: 'validate' }],
]);

const EXPECTED: Record<WebhookResource, { group: string; resource: string }> = {
  pods: { group: '', resource: 'pods' },
  nads: { group: 'k8s.cni.cncf.io', resource: 'network-attachment-definitions' },
};

/**
 * Pod annotations whose change on UPDATE needs a new decision. Anything else (labels, status,
 * ownerReferences, other annotations) cannot change what Weir programs, so such updates are allowed
 * untouched: re-deciding them would make an unrelated `kubectl annotate` fail when, say, a NAD was
 * deleted after the pod started.
 */
export const POD_RELEVANT_ANNOTATIONS: readonly string[] = [
  MULTUS_NETWORKS,
  MULTUS_DEFAULT_NETWORK,
  K8S_INGRESS_BANDWIDTH,
  K8S_EGRESS_BANDWIDTH,
  SPIDERPOOL_DEFAULT_ROUTE_NIC,
  POD_INTENT,
];

export type Outcome =
  | {
      kind: 'allow';
      patch: JsonPatchOp[];
      warnings: string[];
      /** Metrics label: 'none' for a full decision, otherwise why nothing was decided. */
      reason: string;
    }
  | {
      kind: 'deny';
      code: 403 | 500;
      message: string;
      warnings: string[];
      /** Reason codes of every refusal, first one used as the metrics label. */
      reasons: string[];
      /** status.details for refusals: one cause per refusal, as the API server reports field errors. */
      details?: StatusDetails;
    };

/** The subresource through which `kubectl debug` adds ephemeral containers (an UPDATE of the Pod). */
export const EPHEMERAL_CONTAINERS = 'ephemeralcontainers';

function annotationsOf(obj: unknown): Record<string, unknown> {
  if (typeof obj !== 'object' || obj === null) return {};
  const meta = (obj as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return {};
  const ann = (meta as { annotations?: unknown }).annotations;
  if (typeof ann !== 'object' || ann === null || Array.isArray(ann)) return {};
  return ann as Record<string, unknown>;
}

/** True when an UPDATE changed none of the annotations Weir reads. */
export function podUpdateIsIrrelevant(object: unknown, oldObject: unknown): boolean {
  const now = annotationsOf(object);
  const before = annotationsOf(oldObject);
  return POD_RELEVANT_ANNOTATIONS.every((k) => now[k] === before[k]);
}

/**
 * On UPDATE the stored weir.dev/intent is the webhook's own earlier answer. When the client left it
 * as it was (say `kubectl annotate --overwrite kubernetes.io/egress-bandwidth=60M`), the webhook
 * rewriting it is the expected recomputation, not a client-supplied intent being replaced: the
 * warning that says so would mislead. Only the route sees oldObject, so it decides this.
 */
function withoutOwnIntentWarning(d: Decision, object: unknown, oldObject: unknown): Decision {
  if (d.kind !== 'allow' || annotationsOf(object)[POD_INTENT] !== annotationsOf(oldObject)[POD_INTENT]) return d;
  const replaced = renderReason('W_INTENT_REPLACED', {});
  return { ...d, warnings: d.warnings.filter((w) => w !== replaced) };
}

function allow(reason: string, warnings: string[] = []): Outcome {
  return { kind: 'allow', patch: [], warnings, reason };
}

/** A refusal as a metav1.StatusCause: its message without the field prefix the text form carries. */
export function statusCause(r: Refusal): StatusCause {
  const prefix = `${r.field}: `;
  return { reason: r.code, field: r.field, message: r.message.startsWith(prefix) ? r.message.slice(prefix.length) : r.message };
}

function fromDecision(d: Decision, phase: WebhookPhase, decider: Decider, req: AdmissionRequest): Outcome {
  switch (d.kind) {
    case 'allow':
      // A validating webhook may not patch; the API server would reject the whole response.
      return {
        kind: 'allow',
        patch: phase === 'mutate' ? d.patch : [],
        warnings: d.warnings,
        reason: d.skipped ?? 'none',
      };
    case 'deny':
      return {
        kind: 'deny',
        code: 403,
        message: decider.denialMessage(d.refusals),
        warnings: d.warnings,
        reasons: d.refusals.map((r) => r.code),
        details: {
          ...(req.name === '' ? {} : { name: req.name }),
          ...(req.resource.group === '' ? {} : { group: req.resource.group }),
          kind: req.resource.resource,
          causes: d.refusals.map(statusCause),
        },
      };
    default: {
      const never: never = d;
      throw new Error(`unknown decision ${JSON.stringify(never)}`);
    }
  }
}

export function routeReview(
  endpoint: Endpoint,
  req: AdmissionRequest,
  decider: Decider,
  view: ClusterView,
  opts: DecideOptions,
): Outcome {
  // Subresources (pods/status, pods/binding, …) never carry what Weir decides on, except the
  // ephemeral containers `kubectl debug` adds: they get the pod's capability checks.
  const ephemeral = endpoint.resource === 'pods' && req.subResource === EPHEMERAL_CONTAINERS;
  if (req.subResource !== '' && !ephemeral) return allow('subresource');
  switch (req.operation) {
    case 'DELETE':
    case 'CONNECT':
      return allow('operation');
    case 'CREATE':
    case 'UPDATE':
      break;
    default: {
      const never: never = req.operation;
      throw new Error(`unknown operation ${String(never)}`);
    }
  }
  const want = EXPECTED[endpoint.resource];
  if (req.resource.group !== want.group || req.resource.resource !== want.resource) {
    // A misrouted configuration is a deployment bug; saying so is better than admitting blindly.
    const got = `${req.resource.group === '' ? '' : `${req.resource.group}/`}${req.resource.resource}`;
    return {
      kind: 'deny',
      code: 500,
      message: `this Weir webhook path handles ${endpoint.resource} but received ${got}; fix the rules of the webhook configuration`,
      warnings: [],
      reasons: ['misrouted'],
    };
  }
  if (req.object === undefined) {
    return {
      kind: 'deny',
      code: 500,
      message: `AdmissionReview request.object is missing for ${req.operation}`,
      warnings: [],
      reasons: ['malformed-review'],
    };
  }
  switch (endpoint.resource) {
    case 'pods': {
      let review: PodReview;
      if (ephemeral) review = { kind: 'ephemeral', oldPod: req.oldObject };
      else if (req.operation === 'UPDATE') {
        if (podUpdateIsIrrelevant(req.object, req.oldObject)) return allow('update-irrelevant');
        review = { kind: 'update' };
      } else review = { kind: 'create' };
      if (endpoint.phase === 'validate') {
        return fromDecision(decider.validatePod(req.object, req.namespace, view, opts, review), endpoint.phase, decider, req);
      }
      const mutated = decider.mutatePod(req.object, req.namespace, view, opts, review);
      const d = review.kind === 'update' ? withoutOwnIntentWarning(mutated, req.object, req.oldObject) : mutated;
      return fromDecision(d, endpoint.phase, decider, req);
    }
    case 'nads': {
      const d =
        endpoint.phase === 'mutate' ? decider.mutateNad(req.object, view) : decider.validateNad(req.object, view, req.namespace);
      return fromDecision(d, endpoint.phase, decider, req);
    }
    default: {
      const never: never = endpoint.resource;
      throw new Error(`unknown resource ${String(never)}`);
    }
  }
}
