/**
 * Wires one webhook process: caches, TLS (self-signed or cert-manager), the HTTPS and health
 * servers, and an orderly stop. main.ts calls this with the env config; the integration test and
 * the benchmark call it (or main.ts) too.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { kubeCacheSources, startClusterCache, type CacheSources, type CacheTuning, type ClusterCache } from '../cache/cluster.js';
import { startCertDirTls } from '../tls/certdir.js';
import { kubeBundlePublisher, kubeSecretStore } from '../tls/k8s.js';
import type { RotationPolicy } from '../tls/plan.js';
import { servingNames } from '../tls/plan.js';
import { startSelfSignedTls } from '../tls/selfsigned.js';
import type { Readiness } from './app.js';
import { catchUpFor } from './catch-up.js';
import type { WebhookConfig } from './config.js';
import type { Decider } from './contract.js';
import { createMetrics } from './metrics.js';
import { startWebhookServer, type TlsMaterial, type WebhookServer } from './server.js';

export interface RunDeps {
  kc: KubeConfig;
  decider: Decider;
  logger: Logger;
  /** Injected clock for certificate rotation (tests). */
  now?: () => Date;
  tlsCheckIntervalMs?: number;
  rotationPolicy?: RotationPolicy;
  cacheTuning?: CacheTuning;
  cacheSources?: CacheSources;
  syncTimeoutMs?: number;
}

export interface RunningWebhook {
  server: WebhookServer;
  cache: ClusterCache;
  /** Self-signed mode: the trust bundle; cert-manager mode: undefined (cert-manager injects it). */
  caBundle(): string | undefined;
  /** Self-signed mode: run a TLS check now (rotation); cert-manager: re-read the files. */
  checkTls(): Promise<void>;
  stop(graceMs?: number): Promise<void>;
}

interface TlsSource {
  material(): TlsMaterial;
  onChange(cb: (m: TlsMaterial) => void): void;
  healthy(): boolean;
  check(): Promise<void>;
  caBundle(): string | undefined;
  stop(): void;
}

async function startTls(cfg: WebhookConfig, deps: RunDeps): Promise<TlsSource> {
  switch (cfg.tlsMode) {
    case 'self-signed': {
      const t = await startSelfSignedTls({
        store: kubeSecretStore(deps.kc, cfg.namespace, cfg.tlsSecret),
        publisher: kubeBundlePublisher(deps.kc, cfg.mutatingWebhook, cfg.validatingWebhook, deps.logger),
        names: servingNames(cfg.serviceName, cfg.namespace),
        caName: `weir-webhook-ca.${cfg.namespace}`,
        logger: deps.logger,
        ...(deps.now === undefined ? {} : { now: deps.now }),
        ...(deps.rotationPolicy === undefined ? {} : { policy: deps.rotationPolicy }),
        ...(deps.tlsCheckIntervalMs === undefined ? {} : { checkIntervalMs: deps.tlsCheckIntervalMs }),
      });
      return {
        ...t,
        check: async () => {
          await t.reconcile();
        },
        caBundle: () => t.caBundle(),
      };
    }
    case 'cert-manager': {
      const t = await startCertDirTls({ dir: cfg.certDir, logger: deps.logger });
      return {
        ...t,
        check: async () => {
          await t.check();
        },
        caBundle: () => undefined,
      };
    }
    default: {
      const never: never = cfg.tlsMode;
      throw new Error(`unknown TLS mode ${String(never)}`);
    }
  }
}

export async function runWebhook(cfg: WebhookConfig, deps: RunDeps): Promise<RunningWebhook> {
  const { logger } = deps;
  const cache = startClusterCache(deps.cacheSources ?? kubeCacheSources(deps.kc), logger, deps.cacheTuning);
  let tls: TlsSource | undefined;
  try {
    // Answering before the caches hold the cluster would refuse pods for NADs that do exist.
    await cache.waitForSync(deps.syncTimeoutMs ?? 120_000);
    logger.info('caches synced');
    tls = await startTls(cfg, deps);
  } catch (err) {
    await cache.stop();
    throw err;
  }
  const tlsSource = tls;
  const readiness = (): Readiness => {
    const r = cache.readiness();
    if (!tlsSource.healthy()) return { ready: false, reasons: [...r.reasons, 'TLS: last certificate check failed (see logs)'] };
    return r;
  };
  let server: WebhookServer;
  try {
    server = await startWebhookServer({
      decider: deps.decider,
      view: cache.view,
      options: { coordinatorName: cfg.coordinatorName },
      catchUp: catchUpFor(cfg.admissionTimeoutSeconds),
      logger,
      tls: tlsSource.material(),
      host: cfg.host,
      webhookPort: cfg.webhookPort,
      healthPort: cfg.healthPort,
      readiness,
      metrics: createMetrics({ processMetrics: true }),
    });
  } catch (err) {
    tlsSource.stop();
    await cache.stop();
    throw err;
  }
  tlsSource.onChange((m) => {
    try {
      server.setTls(m);
    } catch (err) {
      logger.error({ err }, 'new certificate rejected by the TLS stack; keeping the old one');
    }
  });
  return {
    server,
    cache,
    caBundle: () => tlsSource.caBundle(),
    checkTls: () => tlsSource.check(),
    async stop(graceMs?: number): Promise<void> {
      tlsSource.stop();
      await server.stop(graceMs);
      await cache.stop();
    },
  };
}
