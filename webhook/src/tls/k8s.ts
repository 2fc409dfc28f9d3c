/**
 * API-server adapters for self-signed mode: the shared Secret and the caBundle of Weir's own
 * webhook configurations (found by name). Updates carry the resourceVersion that was read, so
 * concurrent writers get 409 instead of silently overwriting each other.
 */
import { AdmissionregistrationV1Api, CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { splitPemBundle } from './certs.js';
import type { BundlePublisher, SecretStore, StoredSecret } from './selfsigned.js';

export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function decode(data: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

function encode(data: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) out[k] = Buffer.from(v, 'utf8').toString('base64');
  return out;
}

export function kubeSecretStore(kc: KubeConfig, namespace: string, name: string): SecretStore {
  const core = kc.makeApiClient(CoreV1Api);
  let lastSeen: V1Secret | undefined;
  return {
    async read(): Promise<StoredSecret | undefined> {
      try {
        const s = await core.readNamespacedSecret({ name, namespace });
        lastSeen = s;
        return { data: decode(s.data), resourceVersion: s.metadata?.resourceVersion ?? '' };
      } catch (err) {
        if (httpStatusOf(err) === 404) {
          lastSeen = undefined;
          return undefined;
        }
        throw err;
      }
    },
    async write(data, resourceVersion): Promise<'ok' | 'conflict'> {
      try {
        if (resourceVersion === undefined) {
          await core.createNamespacedSecret({
            namespace,
            body: { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace }, data: encode(data) },
          });
        } else {
          // Keep labels/annotations the chart put there; replace only the data.
          const meta = lastSeen?.metadata ?? { name, namespace };
          await core.replaceNamespacedSecret({
            name,
            namespace,
            body: {
              apiVersion: 'v1',
              kind: 'Secret',
              type: lastSeen?.type ?? 'Opaque',
              metadata: { name: meta.name, namespace: meta.namespace, labels: meta.labels, annotations: meta.annotations, resourceVersion },
              data: encode(data),
            },
          });
        }
        return 'ok';
      } catch (err) {
        // 409: AlreadyExists on create or Conflict on replace — either way, someone else won.
        if (httpStatusOf(err) === 409) return 'conflict';
        throw err;
      }
    },
  };
}

interface ConfigOps {
  kind: string;
  read(): Promise<{ webhooks?: { clientConfig: { caBundle?: string } }[]; metadata?: { resourceVersion?: string } } | undefined>;
  replace(body: unknown): Promise<void>;
}

export function kubeBundlePublisher(kc: KubeConfig, mutatingName: string, validatingName: string, logger: Logger): BundlePublisher {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const notFound = <T>(p: Promise<T>): Promise<T | undefined> =>
    p.catch((err: unknown) => {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    });
  const configs: ConfigOps[] = [
    {
      kind: `MutatingWebhookConfiguration/${mutatingName}`,
      read: () => notFound(api.readMutatingWebhookConfiguration({ name: mutatingName })),
      replace: async (body) => {
        await api.replaceMutatingWebhookConfiguration({ name: mutatingName, body: body as never });
      },
    },
    {
      kind: `ValidatingWebhookConfiguration/${validatingName}`,
      read: () => notFound(api.readValidatingWebhookConfiguration({ name: validatingName })),
      replace: async (body) => {
        await api.replaceValidatingWebhookConfiguration({ name: validatingName, body: body as never });
      },
    },
  ];
  return {
    async published(): Promise<string[] | undefined> {
      let common: string[] | undefined;
      for (const c of configs) {
        const obj = await c.read();
        if (obj === undefined) continue;
        for (const w of obj.webhooks ?? []) {
          const pems = splitPemBundle(Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8')).map((p) => p.trim());
          common = common === undefined ? pems : common.filter((p) => pems.includes(p));
        }
      }
      return common;
    },
    async publish(bundlePem: string): Promise<void> {
      const b64 = Buffer.from(bundlePem, 'utf8').toString('base64');
      for (const c of configs) {
        for (let attempt = 0; ; attempt++) {
          const obj = await c.read();
          if (obj === undefined) {
            logger.debug({ config: c.kind }, 'webhook configuration not found; caBundle not published there');
            break;
          }
          const hooks = obj.webhooks ?? [];
          if (hooks.every((w) => w.clientConfig.caBundle === b64)) break;
          for (const w of hooks) w.clientConfig.caBundle = b64;
          try {
            await c.replace(obj);
            logger.info({ config: c.kind, webhooks: hooks.length }, 'caBundle published');
            break;
          } catch (err) {
            if (httpStatusOf(err) !== 409 || attempt >= 4) throw err;
          }
        }
      }
    },
  };
}
