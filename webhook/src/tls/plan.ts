/**
 * Self-signed TLS as a pure state machine over the shared Secret's contents. No I/O: the
 * reconciler (selfsigned.ts) reads the Secret and the published caBundle, calls `planTls`, and
 * writes back what it returns.
 *
 * Rotation never breaks admission:
 *  - The serving certificate is renewed by the SAME CA well before expiry, so the caBundle the API
 *    server holds stays valid and no patch is needed.
 *  - The CA itself is renewed in two phases. Phase A adds a new CA ("next") to the trust bundle
 *    only; the serving certificate is still signed by the old CA. The reconciler patches that
 *    bundle (old + next) into the webhook configurations. Once every configuration's caBundle
 *    contains "next", that moment is recorded; phase B waits `caPropagationMs` more (API servers
 *    see configuration changes through their own informers, so "written" is not yet "in use"),
 *    then next becomes the signer and the serving certificate is re-issued by it. The old CA stays in the bundle until it expires, so a replica still
 *    serving the old certificate keeps working during the swap.
 */
import {
  certInfo,
  generateCa,
  isSignedBy,
  issueServingCert,
  keyMatches,
  sanOf,
  splitPemBundle,
  type KeyPairPem,
  type ServingNames,
} from './certs.js';

const DAY = 24 * 60 * 60 * 1000;

export interface RotationPolicy {
  caValidityMs: number;
  servingValidityMs: number;
  /** Start CA rotation (phase A) when the signer has less than this left. */
  renewCaBeforeMs: number;
  /** Re-issue the serving certificate when it has less than this left. */
  renewServingBeforeMs: number;
  /** How long a new CA must have been in every caBundle before it signs. */
  caPropagationMs: number;
}

export const DEFAULT_POLICY: RotationPolicy = {
  caValidityMs: 5 * 365 * DAY,
  servingValidityMs: 90 * DAY,
  renewCaBeforeMs: 365 * DAY,
  renewServingBeforeMs: 30 * DAY,
  caPropagationMs: 5 * 60 * 1000,
};

export interface TlsState {
  signer: KeyPairPem;
  next: KeyPairPem | undefined;
  /** When `next` was first seen in every caBundle (undefined: not yet). */
  nextPublishedAt: Date | undefined;
  /** Every CA the API server should trust, signer first; this is the caBundle. */
  trust: string[];
  serving: KeyPairPem;
}

/** Secret data keys (Opaque Secret; the chart pre-creates it empty). */
export const SECRET_KEYS = {
  trust: 'ca.crt',
  signerCert: 'ca-signer.crt',
  signerKey: 'ca-signer.key',
  nextCert: 'ca-next.crt',
  nextKey: 'ca-next.key',
  nextPublishedAt: 'ca-next.published-at',
  servingCert: 'tls.crt',
  servingKey: 'tls.key',
} as const;

/** Decoded Secret data (strings, not base64) into a state; undefined when absent or unusable. */
export function parseTlsState(data: Readonly<Record<string, string>> | undefined): TlsState | undefined {
  if (data === undefined) return undefined;
  const get = (k: string): string | undefined => {
    const v = data[k];
    return v === undefined || v === '' ? undefined : v;
  };
  const signerCert = get(SECRET_KEYS.signerCert);
  const signerKey = get(SECRET_KEYS.signerKey);
  const servingCert = get(SECRET_KEYS.servingCert);
  const servingKey = get(SECRET_KEYS.servingKey);
  const trust = splitPemBundle(get(SECRET_KEYS.trust) ?? '');
  if (signerCert === undefined || signerKey === undefined || servingCert === undefined || servingKey === undefined) {
    return undefined;
  }
  if (!keyMatches(signerCert, signerKey) || !keyMatches(servingCert, servingKey)) return undefined;
  const nextCert = get(SECRET_KEYS.nextCert);
  const nextKey = get(SECRET_KEYS.nextKey);
  const next =
    nextCert !== undefined && nextKey !== undefined && keyMatches(nextCert, nextKey)
      ? { certPem: nextCert, keyPem: nextKey }
      : undefined;
  const at = get(SECRET_KEYS.nextPublishedAt);
  const atDate = at === undefined ? undefined : new Date(at);
  const nextPublishedAt = next === undefined || atDate === undefined || Number.isNaN(atDate.getTime()) ? undefined : atDate;
  return { signer: { certPem: signerCert, keyPem: signerKey }, next, nextPublishedAt, trust, serving: { certPem: servingCert, keyPem: servingKey } };
}

export function serializeTlsState(s: TlsState): Record<string, string> {
  const out: Record<string, string> = {
    [SECRET_KEYS.trust]: s.trust.join(''),
    [SECRET_KEYS.signerCert]: s.signer.certPem,
    [SECRET_KEYS.signerKey]: s.signer.keyPem,
    [SECRET_KEYS.servingCert]: s.serving.certPem,
    [SECRET_KEYS.servingKey]: s.serving.keyPem,
  };
  if (s.next !== undefined) {
    out[SECRET_KEYS.nextCert] = s.next.certPem;
    out[SECRET_KEYS.nextKey] = s.next.keyPem;
    if (s.nextPublishedAt !== undefined) out[SECRET_KEYS.nextPublishedAt] = s.nextPublishedAt.toISOString();
  }
  return out;
}

export interface TlsPlan {
  state: TlsState;
  /** Why the state changed; empty when `state` is the input unchanged (nothing to write). */
  changes: string[];
}

function remainingMs(pem: string, now: Date): number {
  const info = certInfo(pem);
  return info === undefined ? -1 : info.notAfter.getTime() - now.getTime();
}

function covers(pem: string, names: ServingNames): boolean {
  const san = sanOf(pem);
  return names.dns.every((d) => san.dns.includes(d)) && names.ips.every((ip) => san.ips.includes(ip));
}

function samePem(a: string, b: string): boolean {
  return a.trim() === b.trim();
}

/**
 * @param published the CA certificates present in EVERY webhook configuration's caBundle, or
 *   `undefined` when no configuration exists yet (nothing can break, so phase B may proceed).
 */
export function planTls(
  current: TlsState | undefined,
  now: Date,
  names: ServingNames,
  caName: string,
  published: readonly string[] | undefined,
  policy: RotationPolicy = DEFAULT_POLICY,
): TlsPlan {
  if (current === undefined || remainingMs(current.signer.certPem, now) <= 0) {
    const signer = generateCa(caName, now, policy.caValidityMs);
    return {
      state: { signer, next: undefined, nextPublishedAt: undefined, trust: [signer.certPem], serving: issueServingCert(signer, names, now, policy.servingValidityMs) },
      changes: [current === undefined ? 'created CA and serving certificate' : 'CA expired; created a new one'],
    };
  }
  const changes: string[] = [];
  let { signer, next, serving, nextPublishedAt } = current;
  // Keep unexpired CAs only; the signer and next are always trusted.
  let trust = current.trust.filter((p) => remainingMs(p, now) > 0);
  const ensureTrusted = (pem: string) => {
    if (!trust.some((t) => samePem(t, pem))) {
      trust = [...trust, pem];
      changes.push('trust bundle repaired');
    }
  };
  if (trust.length !== current.trust.length) changes.push('dropped expired CAs from the trust bundle');
  ensureTrusted(signer.certPem);
  if (next !== undefined) ensureTrusted(next.certPem);

  if (next === undefined && remainingMs(signer.certPem, now) < policy.renewCaBeforeMs) {
    next = generateCa(caName, now, policy.caValidityMs);
    trust = [...trust, next.certPem];
    changes.push('CA rotation phase A: new CA added to the trust bundle');
  } else if (next !== undefined) {
    const nextPem = next.certPem;
    const isPublished = published === undefined || published.some((p) => samePem(p, nextPem));
    if (!isPublished) {
      if (nextPublishedAt !== undefined) changes.push('new CA missing from a caBundle again; waiting for it');
      nextPublishedAt = undefined;
    } else if (nextPublishedAt === undefined && published !== undefined) {
      nextPublishedAt = now;
      changes.push('new CA is in every caBundle; waiting for API servers to pick it up');
    } else if (published === undefined || now.getTime() - (nextPublishedAt?.getTime() ?? 0) >= policy.caPropagationMs) {
      signer = next;
      next = undefined;
      nextPublishedAt = undefined;
      serving = issueServingCert(signer, names, now, policy.servingValidityMs);
      changes.push('CA rotation phase B: new CA signs; serving certificate re-issued');
    }
  }
  // Signer first so the caBundle reads naturally; order does not matter to TLS.
  const signerPem = signer.certPem;
  trust = [signerPem, ...trust.filter((t) => !samePem(t, signerPem))];

  if (!isSignedBy(serving.certPem, signer.certPem)) {
    serving = issueServingCert(signer, names, now, policy.servingValidityMs);
    changes.push('serving certificate re-issued: not signed by the current CA');
  } else if (remainingMs(serving.certPem, now) < policy.renewServingBeforeMs) {
    serving = issueServingCert(signer, names, now, policy.servingValidityMs);
    changes.push('serving certificate renewed before expiry');
  } else if (!covers(serving.certPem, names)) {
    serving = issueServingCert(signer, names, now, policy.servingValidityMs);
    changes.push('serving certificate re-issued: names changed');
  }
  const orderChanged = trust.length !== current.trust.length || trust.some((t, i) => !samePem(t, current.trust[i] ?? ''));
  if (orderChanged && changes.length === 0) changes.push('trust bundle reordered');
  return { state: { signer, next, nextPublishedAt, trust, serving }, changes };
}

/** The serving names for a Service plus loopback (the lab and tests call the webhook on 127.0.0.1). */
export function servingNames(service: string, namespace: string): ServingNames {
  return {
    dns: [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, 'localhost'],
    ips: ['127.0.0.1'],
  };
}
