import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:https';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loopbackServingPki } from '../../harness/controlplane/pki.js';
import { apiMessage, apiStatus, describeWithApi, ensureNamespace, kubeClients, uniqueName } from '../support/kube.js';

interface Seen {
  uid: string;
  kind: string;
  name: string;
}

/** A tiny HTTPS admission webhook that records each review and denies it. */
function denyingWebhook(cert: string, key: string, seen: Seen[]): Server {
  return createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const request = typeof review === 'object' && review !== null && 'request' in review ? review.request : undefined;
      const rec = (typeof request === 'object' && request !== null ? request : {}) as Record<string, unknown>;
      const kind = rec.kind as Record<string, unknown> | undefined;
      const uid = typeof rec.uid === 'string' ? rec.uid : '';
      seen.push({ uid, kind: String(kind?.kind), name: String(rec.name) });
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid, allowed: false, status: { code: 403, message: 'smoke webhook says no: set data.ok' } },
        }),
      );
    });
  });
}

describeWithApi('smoke: the API server calls a webhook served on loopback', (kubeconfig) => {
  const { kc, core } = kubeClients(kubeconfig);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const seen: Seen[] = [];
  const ns = uniqueName('smoke-wh');
  const configName = `${ns}-deny`;
  let server: Server | undefined;

  beforeAll(async () => {
    const pki = await loopbackServingPki('smoke-webhook');
    const srv = denyingWebhook(pki.serving.certPem, pki.serving.keyPem, seen);
    server = srv;
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const address = srv.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    await ensureNamespace(core, ns, { labels: { 'smoke-webhook': ns } });
    await admission.createValidatingWebhookConfiguration({
      body: {
        metadata: { name: configName },
        webhooks: [
          {
            name: 'deny.smoke.weir.dev',
            admissionReviewVersions: ['v1'],
            sideEffects: 'None',
            failurePolicy: 'Fail',
            timeoutSeconds: 5,
            // Only this test's namespace: other suites share the API server.
            namespaceSelector: { matchLabels: { 'smoke-webhook': ns } },
            rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'], scope: 'Namespaced' }],
            clientConfig: {
              url: `https://127.0.0.1:${address.port}/validate`,
              caBundle: Buffer.from(pki.ca.certPem).toString('base64'),
            },
          },
        ],
      },
    });
  });

  afterAll(async () => {
    await admission.deleteValidatingWebhookConfiguration({ name: configName }).catch(() => undefined);
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  });

  it('denies a ConfigMap with the webhook message', async () => {
    // The configuration reaches the admission plugin through an informer: retry briefly until the
    // webhook is in effect.
    let lastErr: unknown;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const name = uniqueName('cm');
      lastErr = await core
        .createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { a: 'b' } } })
        .then(() => undefined, (e: unknown) => e);
      if (lastErr !== undefined) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(apiStatus(lastErr)).toBe(403);
    expect(apiMessage(lastErr)).toBe('admission webhook "deny.smoke.weir.dev" denied the request: smoke webhook says no: set data.ok');
    expect(seen.some((s) => s.kind === 'ConfigMap')).toBe(true);
  });
});
