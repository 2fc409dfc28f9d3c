/**
 * AdmissionReview v1 at the boundary: parse the request from `unknown` into a typed value (every
 * bad field reported with its path) and build the response the API server expects.
 *
 * Contract (kubernetes/api admission/v1): the response is HTTP 200, same apiVersion and kind, the
 * request uid echoed, `patch` is base64 of an RFC 6902 JSON Patch with `patchType: JSONPatch`,
 * a denial carries `status.code` and `status.message`.
 */
import type { JsonPatchOp } from './contract.js';
import { isRecord } from '../../../common/src/records.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}
export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  /** '' for the main resource; e.g. 'status' for pods/status. */
  subResource: string;
  operation: Operation;
  /** '' for cluster-scoped objects. */
  namespace: string;
  /** May be '' on CREATE with generateName (pods from ReplicaSets). */
  name: string;
  object: unknown;
  oldObject: unknown;
  dryRun: boolean;
}

import type { FieldError, Parsed } from '../../../common/src/field-errors.js';

export type { FieldError, Parsed };


/** Reads a string field; missing is allowed when `optional`, any other type is an error. */
function str(
  obj: Record<string, unknown>,
  key: string,
  path: string,
  errors: FieldError[],
  optional: boolean,
): string {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (!optional) errors.push({ path: `${path}.${key}`, message: 'is required' });
    return '';
  }
  if (typeof v !== 'string') {
    errors.push({ path: `${path}.${key}`, message: `must be a string, got ${typeof v}` });
    return '';
  }
  return v;
}

function gvk(v: unknown, path: string, errors: FieldError[]): GroupVersionKind {
  if (!isRecord(v)) {
    errors.push({ path, message: 'must be an object' });
    return { group: '', version: '', kind: '' };
  }
  return {
    group: str(v, 'group', path, errors, true),
    version: str(v, 'version', path, errors, false),
    kind: str(v, 'kind', path, errors, false),
  };
}

function gvr(v: unknown, path: string, errors: FieldError[]): GroupVersionResource {
  if (!isRecord(v)) {
    errors.push({ path, message: 'must be an object' });
    return { group: '', version: '', resource: '' };
  }
  return {
    group: str(v, 'group', path, errors, true),
    version: str(v, 'version', path, errors, false),
    resource: str(v, 'resource', path, errors, false),
  };
}

/** Parses a whole AdmissionReview body. Anything that is not an admission.k8s.io/v1 review fails. */
export function parseAdmissionReview(body: unknown): Parsed<AdmissionRequest> {
  const errors: FieldError[] = [];
  if (!isRecord(body)) {
    return { ok: false, errors: [{ path: '', message: 'body must be a JSON object (an AdmissionReview)' }] };
  }
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    errors.push({
      path: 'apiVersion',
      message: `must be "${ADMISSION_API_VERSION}", got ${JSON.stringify(body.apiVersion ?? null)}`,
    });
  }
  if (body.kind !== 'AdmissionReview') {
    errors.push({ path: 'kind', message: `must be "AdmissionReview", got ${JSON.stringify(body.kind ?? null)}` });
  }
  const req = body.request;
  if (!isRecord(req)) {
    errors.push({ path: 'request', message: 'is required and must be an object' });
    return { ok: false, errors };
  }
  const uid = str(req, 'uid', 'request', errors, false);
  if (uid === '' && !errors.some((e) => e.path === 'request.uid')) {
    errors.push({ path: 'request.uid', message: 'must not be empty' });
  }
  const kind = gvk(req.kind, 'request.kind', errors);
  const resource = gvr(req.resource, 'request.resource', errors);
  const subResource = str(req, 'subResource', 'request', errors, true);
  const opRaw = str(req, 'operation', 'request', errors, false);
  const operation = OPERATIONS.find((o) => o === opRaw);
  if (operation === undefined && opRaw !== '') {
    errors.push({ path: 'request.operation', message: `must be one of ${OPERATIONS.join(', ')}, got "${opRaw}"` });
  }
  const namespace = str(req, 'namespace', 'request', errors, true);
  const name = str(req, 'name', 'request', errors, true);
  const dryRun = req.dryRun;
  if (dryRun !== undefined && dryRun !== null && typeof dryRun !== 'boolean') {
    errors.push({ path: 'request.dryRun', message: 'must be a boolean' });
  }
  if (errors.length > 0 || operation === undefined) return { ok: false, errors };
  return {
    ok: true,
    value: {
      uid,
      kind,
      resource,
      subResource,
      operation,
      namespace,
      name,
      object: req.object ?? undefined,
      oldObject: req.oldObject ?? undefined,
      dryRun: dryRun === true,
    },
  };
}

export interface AdmissionResponseBody {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    patchType?: 'JSONPatch';
    patch?: string;
    status?: { code: number; reason: string; message: string; details?: StatusDetails };
    warnings?: string[];
  };
}

/**
 * metav1.StatusCause: `reason` is the machine-readable cause (Weir's stable reason code), `field`
 * the path of the field at fault, `message` the explanation. The API server passes the webhook's
 * status through, so clients read the causes as they read the API server's own validation errors.
 */
export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

/** metav1.StatusDetails of a Forbidden error: the resource (plural) and object name. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes: StatusCause[];
}

/** The API server rejects an empty warnings list no more than a missing one; omit it to stay small. */
function withWarnings(warnings: readonly string[]): { warnings?: string[] } {
  return warnings.length > 0 ? { warnings: [...warnings] } : {};
}

export function allowResponse(
  uid: string,
  patch: readonly JsonPatchOp[],
  warnings: readonly string[],
): AdmissionResponseBody {
  const response: AdmissionResponseBody['response'] = { uid, allowed: true, ...withWarnings(warnings) };
  if (patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(patch), 'utf8').toString('base64');
  }
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

/**
 * 403 Forbidden for refusals (the object is wrong); 500 when the webhook itself failed, so the
 * API server prefixes "Internal error occurred" and the user knows it is not their object.
 */
export function denyResponse(
  uid: string,
  code: 403 | 500,
  message: string,
  warnings: readonly string[],
  details?: StatusDetails,
): AdmissionResponseBody {
  const status: NonNullable<AdmissionResponseBody['response']['status']> = { code, reason: code === 403 ? 'Forbidden' : 'InternalError', message };
  if (details !== undefined) status.details = details;
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    response: { uid, allowed: false, status, ...withWarnings(warnings) },
  };
}

export { formatFieldErrors } from '../../../common/src/field-errors.js';
