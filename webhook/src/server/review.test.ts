import { describe, expect, it } from 'vitest';
import { allowResponse, denyResponse, parseAdmissionReview } from './review.js';

const base = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'u-1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace: 'ns',
    object: { metadata: { name: 'p' } },
    dryRun: false,
  },
};

function withReq(patch: Record<string, unknown>): unknown {
  return { ...base, request: { ...base.request, ...patch } };
}

describe('parseAdmissionReview', () => {
  it('parses a valid review into typed fields', () => {
    const r = parseAdmissionReview(base);
    expect(r).toEqual({
      ok: true,
      value: {
        uid: 'u-1',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        subResource: '',
        operation: 'CREATE',
        namespace: 'ns',
        name: '',
        object: { metadata: { name: 'p' } },
        oldObject: undefined,
        dryRun: false,
      },
    });
  });

  const bad: [string, unknown, string[]][] = [
    ['not an object', 'hello', ['']],
    ['array', [], ['']],
    ['null', null, ['']],
    ['v1beta1', { ...base, apiVersion: 'admission.k8s.io/v1beta1' }, ['apiVersion']],
    ['wrong kind', { ...base, kind: 'Pod' }, ['kind']],
    ['no request', { apiVersion: base.apiVersion, kind: base.kind }, ['request']],
    ['missing uid', withReq({ uid: undefined }), ['request.uid']],
    ['empty uid', withReq({ uid: '' }), ['request.uid']],
    ['numeric uid', withReq({ uid: 7 }), ['request.uid']],
    ['bad operation', withReq({ operation: 'PATCH' }), ['request.operation']],
    ['missing operation', withReq({ operation: undefined }), ['request.operation']],
    ['resource not object', withReq({ resource: 'pods' }), ['request.resource']],
    ['resource missing version', withReq({ resource: { resource: 'pods' } }), ['request.resource.version']],
    ['kind missing kind', withReq({ kind: { version: 'v1' } }), ['request.kind.kind']],
    ['dryRun string', withReq({ dryRun: 'yes' }), ['request.dryRun']],
    ['namespace number', withReq({ namespace: 3 }), ['request.namespace']],
  ];
  it.each(bad)('rejects %s with the field path', (_name, body, paths) => {
    const r = parseAdmissionReview(body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toEqual(expect.arrayContaining(paths));
  });

  it('reports every bad field at once', () => {
    const r = parseAdmissionReview({ apiVersion: 'x', kind: 'y', request: { uid: 1, operation: 'NOPE' } });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.path)).toEqual(
        expect.arrayContaining(['apiVersion', 'kind', 'request.uid', 'request.kind', 'request.resource', 'request.operation']),
      );
    }
  });
});

describe('responses', () => {
  it('echoes the uid and encodes the JSON Patch as base64 with patchType', () => {
    const patch = [{ op: 'add' as const, path: '/metadata/annotations/weir.dev~1intent', value: '{"v":1}' }];
    const r = allowResponse('abc', patch, ['w1']);
    expect(r.apiVersion).toBe('admission.k8s.io/v1');
    expect(r.kind).toBe('AdmissionReview');
    expect(r.response.uid).toBe('abc');
    expect(r.response.allowed).toBe(true);
    expect(r.response.patchType).toBe('JSONPatch');
    expect(JSON.parse(Buffer.from(r.response.patch ?? '', 'base64').toString('utf8'))).toEqual(patch);
    expect(r.response.warnings).toEqual(['w1']);
  });

  it('omits patch and warnings when empty', () => {
    const r = allowResponse('abc', [], []);
    expect(r.response).toEqual({ uid: 'abc', allowed: true });
  });

  it('denies with 403 Forbidden and the message', () => {
    const r = denyResponse('abc', 403, 'fix it', []);
    expect(r.response).toEqual({ uid: 'abc', allowed: false, status: { code: 403, reason: 'Forbidden', message: 'fix it' } });
  });

  it('internal failures are 500 InternalError', () => {
    expect(denyResponse('x', 500, 'boom', ['w']).response.status).toEqual({ code: 500, reason: 'InternalError', message: 'boom' });
  });
});
