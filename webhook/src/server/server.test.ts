import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackPki, podReview, postJson, request, type LoopbackPki } from '../../../test/webhook/https.js';
import type { Readiness } from './app.js';
import type { ClusterView, Decider, Decision } from './contract.js';
import { startWebhookServer, type WebhookServer } from './server.js';

const view: ClusterView = { namespace: () => undefined, nad: () => undefined, coordinator: () => undefined };
const patch = [{ op: 'add' as const, path: '/metadata/annotations/weir.dev~1intent', value: '{"version":1}' }];

/** Stub decisions keyed by pod name: lets one server answer every scenario. */
function decideByName(pod: unknown): Decision {
  const name = (pod as { metadata?: { name?: string } }).metadata?.name;
  switch (name) {
    case 'deny':
      return {
        kind: 'deny',
        refusals: [
          { code: 'WEIR_NAD_NOT_FOUND', field: 'metadata.annotations', message: 'NAD ns/x not found' },
          { code: 'WEIR_BANDWIDTH_RANGE', field: 'metadata.annotations', message: 'too big' },
        ],
        warnings: ['heads up'],
      };
    case 'throw':
      throw new Error('kaboom');
    case 'skip':
      return { kind: 'allow', patch: [], warnings: [], skipped: 'namespace-not-enabled' };
    default:
      return { kind: 'allow', patch, warnings: ['w1'] };
  }
}
const decider: Decider = {
  mutatePod: (p) => decideByName(p),
  validatePod: (p) => decideByName(p),
  mutateNad: () => ({ kind: 'allow', patch, warnings: [] }),
  validateNad: () => ({ kind: 'allow', patch: [], warnings: [] }),
  denialMessage: (rs) => rs.map((r) => `${r.field}: ${r.message}`).join('; '),
};

function pod(uid: string, name: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return podReview(uid, { object: { metadata: { name, namespace: 'ns' } }, ...over });
}

describe('webhook server (HTTPS, injected decisions)', () => {
  let pki: LoopbackPki;
  let srv: WebhookServer;
  let ready: Readiness = { ready: true, reasons: [] };
  const LIMIT = 64 * 1024;

  beforeAll(async () => {
    pki = loopbackPki();
    srv = await startWebhookServer({
      decider,
      view,
      options: { coordinatorName: 'default' },
      logger: pino({ level: 'silent' }),
      tls: { cert: pki.serving.certPem, key: pki.serving.keyPem },
      host: '127.0.0.1',
      webhookPort: 0,
      healthPort: 0,
      readiness: () => ready,
      bodyLimitBytes: LIMIT,
    });
  });
  afterAll(async () => {
    await srv.stop(1000);
  });

  it('answers an allowed review with the uid echoed and the patch base64-encoded', async () => {
    const r = await postJson(srv.webhookPort, '/mutate-pods', pod('uid-1', 'ok'), pki.ca.certPem);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(r.body) as { apiVersion: string; kind: string; response: Record<string, unknown> };
    expect(body.apiVersion).toBe('admission.k8s.io/v1');
    expect(body.kind).toBe('AdmissionReview');
    expect(body.response.uid).toBe('uid-1');
    expect(body.response.allowed).toBe(true);
    expect(body.response.patchType).toBe('JSONPatch');
    expect(JSON.parse(Buffer.from(String(body.response.patch), 'base64').toString('utf8'))).toEqual(patch);
    expect(body.response.warnings).toEqual(['w1']);
  });

  it('a validating path never returns a patch', async () => {
    const r = await postJson(srv.webhookPort, '/validate-pods', pod('uid-2', 'ok'), pki.ca.certPem);
    const body = JSON.parse(r.body) as { response: Record<string, unknown> };
    expect(body.response).toEqual({ uid: 'uid-2', allowed: true, warnings: ['w1'] });
  });

  it('a denial is allowed=false, code 403, the joined message, one status cause per refusal and warnings', async () => {
    const r = await postJson(srv.webhookPort, '/validate-pods', pod('uid-3', 'deny'), pki.ca.certPem);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body) as { response: Record<string, unknown> };
    expect(body.response).toEqual({
      uid: 'uid-3',
      allowed: false,
      status: {
        code: 403,
        reason: 'Forbidden',
        message: 'metadata.annotations: NAD ns/x not found; metadata.annotations: too big',
        details: {
          kind: 'pods',
          causes: [
            { reason: 'WEIR_NAD_NOT_FOUND', field: 'metadata.annotations', message: 'NAD ns/x not found' },
            { reason: 'WEIR_BANDWIDTH_RANGE', field: 'metadata.annotations', message: 'too big' },
          ],
        },
      },
      warnings: ['heads up'],
    });
  });

  it('a decision that throws is denied with code 500, and the server keeps serving', async () => {
    const r = await postJson(srv.webhookPort, '/validate-pods', pod('uid-4', 'throw'), pki.ca.certPem);
    const body = JSON.parse(r.body) as { response: { allowed: boolean; status: { code: number; message: string } } };
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.code).toBe(500);
    expect(body.response.status.message).toMatch(/kaboom/);
    const again = await postJson(srv.webhookPort, '/validate-pods', pod('uid-5', 'ok'), pki.ca.certPem);
    expect(again.status).toBe(200);
  });

  const badRequests: [string, { path: string; method?: string; body?: string; ct?: string }, number, RegExp][] = [
    ['wrong content type', { path: '/mutate-pods', body: '{}', ct: 'text/plain' }, 415, /application\/json/],
    ['no content type', { path: '/mutate-pods', body: '{}' }, 415, /application\/json/],
    ['form body', { path: '/mutate-pods', body: 'a=b', ct: 'application/x-www-form-urlencoded' }, 415, /application\/json/],
    ['malformed JSON', { path: '/mutate-pods', body: '{"apiVersion":', ct: 'application/json' }, 400, /malformed JSON/],
    ['JSON scalar', { path: '/mutate-pods', body: '"x"', ct: 'application/json' }, 400, /malformed JSON/],
    ['empty object', { path: '/mutate-pods', body: '{}', ct: 'application/json' }, 400, /apiVersion/],
    [
      'v1beta1 review',
      { path: '/validate-pods', body: JSON.stringify({ ...pod('u', 'ok'), apiVersion: 'admission.k8s.io/v1beta1' }), ct: 'application/json' },
      400,
      /apiVersion: must be "admission.k8s.io\/v1"/,
    ],
    ['GET', { path: '/mutate-pods', method: 'GET' }, 405, /POST/],
    ['unknown path', { path: '/mutate-configmaps', body: '{}', ct: 'application/json' }, 404, /\/mutate-pods/],
    ['unsupported charset', { path: '/mutate-pods', body: '{}', ct: 'application/json; charset=latin-9' }, 415, /charset/],
  ];
  it.each(badRequests)('%s → HTTP %i with a JSON error', async (_n, q, status, msg) => {
    const r = await request({
      port: srv.webhookPort,
      path: q.path,
      method: q.method ?? 'POST',
      ca: pki.ca.certPem,
      ...(q.body === undefined ? {} : { body: q.body }),
      headers: q.ct === undefined ? {} : { 'content-type': q.ct },
    });
    expect(r.status).toBe(status);
    const body = JSON.parse(r.body) as { error: string };
    expect(body.error).toMatch(msg);
  });

  it('refuses a body over the limit with 413 and stays up', async () => {
    const big = pod('uid-big', 'ok', { object: { metadata: { name: 'ok', annotations: { x: 'y'.repeat(LIMIT) } } } });
    const r = await postJson(srv.webhookPort, '/mutate-pods', big, pki.ca.certPem);
    expect(r.status).toBe(413);
    expect((await postJson(srv.webhookPort, '/mutate-pods', pod('uid-after', 'ok'), pki.ca.certPem)).status).toBe(200);
  });

  it('health, readiness and metrics with labels by resource, operation, verdict and reason', async () => {
    await postJson(srv.webhookPort, '/mutate-pods', pod('uid-skip', 'skip'), pki.ca.certPem);
    const port = srv.healthPort ?? 0;
    expect((await request({ port, path: '/healthz', method: 'GET', tls: false })).status).toBe(200);
    expect((await request({ port, path: '/readyz', method: 'GET', tls: false })).status).toBe(200);
    ready = { ready: false, reasons: ['namespaces cache not synced'] };
    const nr = await request({ port, path: '/readyz', method: 'GET', tls: false });
    expect(nr.status).toBe(503);
    expect(nr.body).toMatch(/namespaces cache not synced/);
    ready = { ready: true, reasons: [] };
    const m = (await request({ port, path: '/metrics', method: 'GET', tls: false })).body;
    expect(m).toMatch(/weir_webhook_reviews_total\{resource="pods",operation="CREATE",verdict="allowed",reason="none"\} \d+/);
    expect(m).toMatch(/weir_webhook_reviews_total\{resource="pods",operation="CREATE",verdict="denied",reason="WEIR_NAD_NOT_FOUND"\} 1/);
    expect(m).toMatch(/weir_webhook_reviews_total\{resource="pods",operation="CREATE",verdict="denied",reason="internal-error"\} 1/);
    expect(m).toMatch(/weir_webhook_reviews_total\{resource="pods",operation="CREATE",verdict="allowed",reason="namespace-not-enabled"\} 1/);
    expect(m).toMatch(/weir_webhook_refusals_total\{resource="pods",reason="WEIR_BANDWIDTH_RANGE"\} 1/);
    expect(m).toMatch(/weir_webhook_review_duration_seconds_bucket\{le="0.005",resource="pods",phase="mutate"\} \d+/);
    expect(m).toMatch(/weir_webhook_bad_requests_total\{cause="too-large"\} 1/);
    // Per-instance registry: nothing from prom-client's global default registry leaks in.
    expect(m).not.toMatch(/process_cpu_seconds_total/);
  });

  it('swaps the serving certificate without a restart; a bad pair is refused and the old one kept', async () => {
    const before = await postJson(srv.webhookPort, '/mutate-pods', pod('a', 'ok'), pki.ca.certPem);
    const other = loopbackPki();
    expect(() => srv.setTls({ cert: other.serving.certPem, key: pki.serving.keyPem })).toThrow();
    srv.setTls({ cert: other.serving.certPem, key: other.serving.keyPem });
    const after = await postJson(srv.webhookPort, '/mutate-pods', pod('b', 'ok'), other.ca.certPem);
    expect(after.status).toBe(200);
    expect(after.peerFingerprint).toBe(new X509Certificate(other.serving.certPem).fingerprint256);
    expect(after.peerFingerprint).not.toBe(before.peerFingerprint);
    await expect(postJson(srv.webhookPort, '/mutate-pods', pod('c', 'ok'), pki.ca.certPem)).rejects.toThrow();
    srv.setTls({ cert: pki.serving.certPem, key: pki.serving.keyPem });
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight reviews, refuses new connections and fails readiness while draining', async () => {
    const pki = loopbackPki();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const srv = await startWebhookServer({
      decider,
      view,
      options: { coordinatorName: 'default' },
      logger: pino({ level: 'silent' }),
      tls: { cert: pki.serving.certPem, key: pki.serving.keyPem },
      host: '127.0.0.1',
      webhookPort: 0,
      healthPort: 0,
      readiness: () => ({ ready: true, reasons: [] }),
    });
    // A slow client: headers now, body after stop() began; the review must still be answered.
    const agent = new https.Agent({ keepAlive: true, ca: pki.ca.certPem });
    const inflight = new Promise<number>((resolve, reject) => {
      const r = https.request(
        { host: '127.0.0.1', port: srv.webhookPort, path: '/mutate-pods', method: 'POST', servername: 'localhost', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      r.on('error', reject);
      r.write(JSON.stringify(pod('slow', 'ok')).slice(0, 10));
      void gate.then(() => r.end(JSON.stringify(pod('slow', 'ok')).slice(10)));
    });
    await new Promise((r) => setTimeout(r, 100));
    const stopping = srv.stop(5000);
    await new Promise((r) => setTimeout(r, 50));
    await expect(postJson(srv.webhookPort, '/mutate-pods', pod('new', 'ok'), pki.ca.certPem)).rejects.toThrow();
    const rz = await request({ port: srv.healthPort ?? 0, path: '/readyz', method: 'GET', tls: false });
    expect(rz.status).toBe(503);
    expect(rz.body).toMatch(/shutting down/);
    release();
    expect(await inflight).toBe(200);
    await stopping;
    agent.destroy();
  });
});
