/**
 * Self-signed mode: keeps the CA and serving certificate in one Secret shared by every replica,
 * publishes the trust bundle as the caBundle of Weir's own webhook configurations, and re-checks
 * periodically so certificates rotate before expiry without a restart.
 *
 * Replicas converge on one CA through optimistic concurrency: each writes the Secret with the
 * resourceVersion it read; the loser gets 409, re-reads, finds a valid state and adopts it.
 */
import type { Logger } from 'pino';
import type { TlsMaterial } from '../server/server.js';
import type { ServingNames } from './certs.js';
import { DEFAULT_POLICY, parseTlsState, planTls, serializeTlsState, type RotationPolicy, type TlsState } from './plan.js';

export interface StoredSecret {
  /** Decoded (not base64) data. */
  data: Record<string, string>;
  resourceVersion: string;
}

/** The Secret, behind an interface so the state machine can be driven without an API server. */
export interface SecretStore {
  read(): Promise<StoredSecret | undefined>;
  /** `resourceVersion` undefined: create. Returns 'conflict' when someone else wrote first. */
  write(data: Record<string, string>, resourceVersion: string | undefined): Promise<'ok' | 'conflict'>;
}

/** The webhook configurations' caBundle. */
export interface BundlePublisher {
  /** CA PEMs present in every configuration, or undefined when none of them exists yet. */
  published(): Promise<string[] | undefined>;
  /** Make every existing configuration's every webhook carry exactly this bundle. */
  publish(bundlePem: string): Promise<void>;
}

export interface SelfSignedOptions {
  store: SecretStore;
  publisher: BundlePublisher;
  names: ServingNames;
  caName: string;
  logger: Logger;
  now?: () => Date;
  policy?: RotationPolicy;
  /** How often to re-check expiry and the published caBundle. */
  checkIntervalMs?: number;
}

export interface SelfSignedTls {
  /** Current serving material. */
  material(): TlsMaterial;
  /** The current trust bundle (what the caBundle should hold). */
  caBundle(): string;
  /** Runs one reconcile now (the timer calls this too). Resolves with the state in force. */
  reconcile(): Promise<TlsState>;
  /** Called with new material whenever the serving certificate changes. */
  onChange(cb: (m: TlsMaterial) => void): void;
  /** True when the last reconcile succeeded (used by /readyz). */
  healthy(): boolean;
  stop(): void;
}

const MAX_ATTEMPTS = 5;

/** Reads-or-creates the shared state and starts the periodic check. Throws if the first reconcile fails. */
export async function startSelfSignedTls(opts: SelfSignedOptions): Promise<SelfSignedTls> {
  const now = opts.now ?? (() => new Date());
  const policy = opts.policy ?? DEFAULT_POLICY;
  const listeners: ((m: TlsMaterial) => void)[] = [];
  let state: TlsState | undefined;
  let ok = false;
  let running: Promise<TlsState> | undefined;

  const once = async (): Promise<TlsState> => {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const stored = await opts.store.read();
      const current = parseTlsState(stored?.data);
      const published = await opts.publisher.published();
      const plan = planTls(current, now(), opts.names, opts.caName, published, policy);
      if (plan.changes.length > 0) {
        const res = await opts.store.write(serializeTlsState(plan.state), stored?.resourceVersion);
        if (res === 'conflict') {
          opts.logger.info({ attempt }, 'TLS Secret changed underneath us (another replica?); re-reading');
          continue;
        }
        opts.logger.info({ changes: plan.changes }, 'TLS Secret updated');
      }
      await opts.publisher.publish(plan.state.trust.join(''));
      // A new CA was just published: loop once more so its publication time is recorded now.
      if (plan.state.next !== undefined && plan.state.nextPublishedAt === undefined && published !== undefined) {
        const nextPem = plan.state.next.certPem.trim();
        if ((await opts.publisher.published())?.some((p) => p.trim() === nextPem) === true) continue;
      }
      return plan.state;
    }
    throw new Error(`TLS Secret kept changing during ${MAX_ATTEMPTS} attempts`);
  };

  const reconcile = async (): Promise<TlsState> => {
    if (running !== undefined) return running;
    running = (async () => {
      try {
        const next = await once();
        const changed = state === undefined || state.serving.certPem !== next.serving.certPem;
        state = next;
        ok = true;
        if (changed) {
          const m = { cert: next.serving.certPem, key: next.serving.keyPem };
          for (const l of listeners) l(m);
        }
        return next;
      } catch (err) {
        ok = false;
        throw err;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  await reconcile();
  const timer = setInterval(() => {
    reconcile().catch((err: unknown) => opts.logger.error({ err }, 'TLS reconcile failed; keeping the current certificate'));
  }, opts.checkIntervalMs ?? 60_000);
  timer.unref();

  const current = (): TlsState => {
    if (state === undefined) throw new Error('self-signed TLS not initialised');
    return state;
  };
  return {
    material: () => ({ cert: current().serving.certPem, key: current().serving.keyPem }),
    caBundle: () => current().trust.join(''),
    reconcile,
    onChange: (cb) => listeners.push(cb),
    healthy: () => ok,
    stop: () => clearInterval(timer),
  };
}
