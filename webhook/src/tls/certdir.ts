/**
 * cert-manager mode: the certificate is mounted from a Secret at WEIR_CERT_DIR (tls.crt, tls.key).
 * kubelet replaces mounted Secret files by swapping a `..data` symlink, which fs.watch on the files
 * does not reliably report, so the directory is polled: cheap (two small reads) and certain.
 * A half-written or mismatched pair is ignored until it becomes consistent; the old one keeps serving.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { TlsMaterial } from '../server/server.js';
import { keyMatches } from './certs.js';

export interface CertDirOptions {
  dir: string;
  logger: Logger;
  pollIntervalMs?: number;
}

export interface CertDirTls {
  material(): TlsMaterial;
  onChange(cb: (m: TlsMaterial) => void): void;
  /** Reads the files now; resolves true when new material was picked up. */
  check(): Promise<boolean>;
  healthy(): boolean;
  stop(): void;
}

async function readPair(dir: string): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([
    readFile(path.join(dir, 'tls.crt'), 'utf8'),
    readFile(path.join(dir, 'tls.key'), 'utf8'),
  ]);
  if (!keyMatches(cert, key)) throw new Error(`${dir}: tls.key does not match tls.crt (or either is not PEM RSA)`);
  return { cert, key };
}

/** Loads the pair once (throws with a clear message if unusable) and starts polling. */
export async function startCertDirTls(opts: CertDirOptions): Promise<CertDirTls> {
  let current = await readPair(opts.dir);
  let ok = true;
  const listeners: ((m: TlsMaterial) => void)[] = [];
  const check = async (): Promise<boolean> => {
    try {
      const next = await readPair(opts.dir);
      ok = true;
      if (next.cert === current.cert && next.key === current.key) return false;
      current = next;
      opts.logger.info({ dir: opts.dir }, 'mounted certificate changed; reloading');
      for (const l of listeners) l(current);
      return true;
    } catch (err) {
      ok = false;
      opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'mounted certificate unreadable; keeping the current one');
      return false;
    }
  };
  const timer = setInterval(() => void check(), opts.pollIntervalMs ?? 10_000);
  timer.unref();
  return {
    material: () => current,
    onChange: (cb) => listeners.push(cb),
    check,
    healthy: () => ok,
    stop: () => clearInterval(timer),
  };
}
