import { AdmissionregistrationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { isRecord } from '../../common/src/records.js';
import { asArray, at, find, type Manifest } from './helm.js';

/**
 * The chart's two webhook configurations, unchanged except that every webhook's
 * `clientConfig.service` becomes `clientConfig.url` on `baseUrl` with the same path. There is no
 * Service, kube-proxy or pod network off a real cluster (the lab, the chart's process tests), so the
 * API server calls the webhook process on loopback; rules, selectors and policies stay the chart's.
 * `baseUrl` is `https://127.0.0.1:<port>` (the self-signed serving certificate carries 127.0.0.1).
 * Returns deep copies; the input manifests are not modified.
 */
export function webhookConfigsAtUrl(manifests: readonly Manifest[], baseUrl: string): Manifest[] {
  const out: Manifest[] = [];
  for (const manifest of manifests) {
    if (manifest.kind !== 'MutatingWebhookConfiguration' && manifest.kind !== 'ValidatingWebhookConfiguration') continue;
    const copy = structuredClone(manifest);
    const webhooks: unknown = copy.webhooks;
    if (!Array.isArray(webhooks)) throw new Error(`${copy.kind}/${copy.metadata.name}: webhooks is not a list`);
    webhooks.forEach((webhook: unknown, i) => {
      if (!isRecord(webhook) || !isRecord(webhook.clientConfig) || !isRecord(webhook.clientConfig.service)) {
        throw new Error(`${copy.kind}/${copy.metadata.name}: webhooks[${i}].clientConfig.service: expected an object`);
      }
      const path = webhook.clientConfig.service.path;
      // The caBundle stays as rendered (empty in self-signed mode): the webhook must patch it in.
      const { service: _service, ...rest } = webhook.clientConfig;
      webhook.clientConfig = { ...rest, url: `${baseUrl}${typeof path === 'string' ? path : '/'}` };
    });
    out.push(copy);
  }
  return out;
}

/** Creates the configurations from webhookConfigsAtUrl with the given client (its identity decides). */
export async function createWebhookConfigs(kc: KubeConfig, configs: readonly Manifest[]): Promise<void> {
  const client = kc.makeApiClient(AdmissionregistrationV1Api);
  for (const c of configs) {
    if (c.kind === 'MutatingWebhookConfiguration') await client.createMutatingWebhookConfiguration({ body: c });
    else if (c.kind === 'ValidatingWebhookConfiguration') await client.createValidatingWebhookConfiguration({ body: c });
    else throw new Error(`${c.kind}/${c.metadata.name}: not a webhook configuration`);
  }
}

/** The webhook container's env as the chart renders it, with the downward-API fields resolved. */
export function chartWebhookEnv(ms: readonly Manifest[], deployment: string, namespace: string): Record<string, string> {
  const env: Record<string, string> = {};
  const entries = asArray(at(find(ms, 'Deployment', deployment), 'spec.template.spec.containers.0.env'), 'webhook env');
  for (const e of entries) {
    const name = at(e, 'name');
    if (typeof name !== 'string') throw new Error(`webhook env entry without a name: ${JSON.stringify(e)}`);
    const value = at(e, 'value');
    const field = at(e, 'valueFrom.fieldRef.fieldPath');
    if (typeof value === 'string') env[name] = value;
    else if (field === 'metadata.namespace') env[name] = namespace;
    else throw new Error(`webhook env ${name}: cannot resolve ${JSON.stringify(e)} outside a pod`);
  }
  return env;
}
