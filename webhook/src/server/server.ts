/**
 * Binds the admission app to HTTPS (hot-swappable certificate) and the health app to plain HTTP,
 * and shuts both down gracefully. The certificate source (self-signed Secret or cert-manager files)
 * lives in tls/ and calls `setTls` whenever the material changes.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { createHealthApp, type AdmissionAppDeps, type Readiness } from './app.js';
import { createAdmissionHandler } from './fast-path.js';
import type { WebhookMetrics } from './metrics.js';
import { createMetrics } from './metrics.js';

export interface TlsMaterial {
  /** PEM serving certificate (chain). */
  cert: string;
  /** PEM private key. */
  key: string;
}

export interface WebhookServerOptions extends Omit<AdmissionAppDeps, 'metrics'> {
  tls: TlsMaterial;
  host: string;
  /** 0 picks a free port (tests). */
  webhookPort: number;
  /** undefined: no health server (tests that only need admission). */
  healthPort?: number;
  /** Extra readiness checks (caches synced, fresh); draining is added by the server. */
  readiness: () => Readiness;
  /** A whole request (headers and body) must arrive within this; the API server's own timeout is ≤ 30 s. */
  requestTimeoutMs?: number;
  metrics?: WebhookMetrics;
}

export interface WebhookServer {
  readonly webhookPort: number;
  readonly healthPort: number | undefined;
  readonly metrics: WebhookMetrics;
  /** Swaps the serving certificate for new connections; throws (and keeps the old one) if the pair is invalid. */
  setTls(material: TlsMaterial): void;
  /** Stop accepting, let in-flight reviews finish (up to graceMs), then close everything. */
  stop(graceMs?: number): Promise<void>;
}

function listen(server: http.Server | https.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Validates a cert/key pair the same way the TLS stack will use it. */
export function secureContextOptions(material: TlsMaterial): tls.SecureContextOptions {
  const opts: tls.SecureContextOptions = { cert: material.cert, key: material.key, minVersion: 'TLSv1.2' };
  tls.createSecureContext(opts); // throws on a mismatched or unparsable pair
  return opts;
}

/** Closes the server: idle connections now, in-flight reviews when they finish, the rest after graceMs. */
async function drain(server: https.Server, sockets: ReadonlySet<Socket>, graceMs: number, logger: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => {
    logger.warn({ open: sockets.size }, 'grace period over; closing remaining connections');
    server.closeAllConnections();
  }, graceMs);
  // Idle keep-alive sockets that become idle after their last response must go too.
  const sweeper = setInterval(() => server.closeIdleConnections(), 100);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
    clearInterval(sweeper);
  }
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const metrics = opts.metrics ?? createMetrics();
  const logger: Logger = opts.logger;
  let draining = false;
  const admission = createAdmissionHandler({ ...opts, metrics });
  const httpsServer = https.createServer(
    {
      ...secureContextOptions(opts.tls),
      requestTimeout: opts.requestTimeoutMs ?? 10_000,
      headersTimeout: Math.min(opts.requestTimeoutMs ?? 10_000, 5_000),
      // The API server keeps connections to webhooks alive; outlive its idle timeout (90 s).
      keepAliveTimeout: 95_000,
    },
    admission,
  );
  httpsServer.on('tlsClientError', (err: Error) => {
    logger.debug({ err: err.message }, 'TLS handshake failed');
  });
  const sockets = new Set<Socket>();
  httpsServer.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const webhookPort = await listen(httpsServer, opts.webhookPort, opts.host);

  let healthServer: http.Server | undefined;
  let healthPort: number | undefined;
  if (opts.healthPort !== undefined) {
    const health = createHealthApp({
      metrics,
      readiness: () => {
        const r = opts.readiness();
        return draining ? { ready: false, reasons: ['shutting down', ...r.reasons] } : r;
      },
    });
    healthServer = http.createServer({ requestTimeout: 5_000 }, health);
    try {
      healthPort = await listen(healthServer, opts.healthPort, opts.host);
    } catch (err) {
      httpsServer.close();
      throw err;
    }
  }
  logger.info({ webhookPort, healthPort, host: opts.host }, 'webhook listening');

  return {
    webhookPort,
    healthPort,
    metrics,
    setTls(material: TlsMaterial): void {
      httpsServer.setSecureContext(secureContextOptions(material));
      logger.info('serving certificate swapped');
    },
    async stop(graceMs = 10_000): Promise<void> {
      if (draining) return;
      draining = true;
      logger.info({ graceMs }, 'shutting down: no new connections, draining in-flight reviews');
      await drain(httpsServer, sockets, graceMs, logger);
      if (healthServer !== undefined) {
        const hs = healthServer;
        await new Promise<void>((resolve) => {
          hs.close(() => resolve());
          hs.closeAllConnections();
        });
      }
      logger.info('webhook stopped');
    },
  };
}
