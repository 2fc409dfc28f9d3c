/**
 * Certificate making with node-forge: a self-signed CA and serving certificates it signs. Keys come
 * from Node's crypto (native, ~50 ms for RSA 2048) and are converted for forge, which only signs.
 * Time is always passed in, never read, so rotation can be tested with a fake clock.
 */
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { isRecord } from '../../../common/src/records.js';

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface ServingNames {
  dns: string[];
  ips: string[];
}

/** forge writes CRLF; the rest of the world (and comparisons across replicas) wants LF. */
function lf(pem: string): string {
  return pem.replace(/\r\n/g, '\n');
}

function newKeyPem(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
}

function serial(): string {
  // Positive 128-bit serial: clear the top bit so DER does not read it as negative.
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString('hex');
}

function baseCert(keyPem: string, notBefore: Date, notAfter: Date): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = serial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  return { cert, key };
}

/** Clock skew allowance: certificates start being valid a little before "now". */
const BACKDATE_MS = 5 * 60 * 1000;

export function generateCa(commonName: string, now: Date, validityMs: number): KeyPairPem {
  const keyPem = newKeyPem();
  const { cert, key } = baseCert(keyPem, new Date(now.getTime() - BACKDATE_MS), new Date(now.getTime() + validityMs));
  const subject = [{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'weir' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return { certPem: lf(forge.pki.certificateToPem(cert)), keyPem: lf(keyPem) };
}

export function issueServingCert(ca: KeyPairPem, names: ServingNames, now: Date, validityMs: number): KeyPairPem {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keyPem = newKeyPem();
  const notAfter = Math.min(now.getTime() + validityMs, caCert.validity.notAfter.getTime());
  const { cert } = baseCert(keyPem, new Date(now.getTime() - BACKDATE_MS), new Date(notAfter));
  cert.setSubject([{ name: 'commonName', value: names.dns[0] ?? names.ips[0] ?? 'weir-webhook' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...names.dns.map((value) => ({ type: 2, value })),
        ...names.ips.map((ip) => ({ type: 7, ip })),
      ],
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: lf(forge.pki.certificateToPem(cert)), keyPem: lf(keyPem) };
}

export interface CertInfo {
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER, hex: identity of a certificate across replicas and restarts. */
  fingerprint: string;
}

/** Parses one PEM certificate; undefined when it is not one. */
export function certInfo(pem: string): CertInfo | undefined {
  try {
    const cert = forge.pki.certificateFromPem(pem);
    const der = forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes();
    const md = forge.md.sha256.create();
    md.update(der);
    return { notBefore: cert.validity.notBefore, notAfter: cert.validity.notAfter, fingerprint: md.digest().toHex() };
  } catch {
    return undefined;
  }
}

/** True when `certPem` was signed by `caPem` (forge checks the signature). */
export function isSignedBy(certPem: string, caPem: string): boolean {
  try {
    const ca = forge.pki.certificateFromPem(caPem);
    return ca.verify(forge.pki.certificateFromPem(certPem));
  } catch {
    return false;
  }
}

/** True when the private key belongs to the certificate (any key type Node knows: RSA, EC, Ed25519). */
export function keyMatches(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** The SAN DNS names and IPs in a certificate. */
export function sanOf(pem: string): ServingNames {
  const cert = forge.pki.certificateFromPem(pem);
  // node-forge types the extension as {}: read it as the untrusted data it is.
  const ext: unknown = cert.getExtension('subjectAltName');
  const altNames: unknown = isRecord(ext) ? ext['altNames'] : undefined;
  const dns: string[] = [];
  const ips: string[] = [];
  for (const n of Array.isArray(altNames) ? (altNames as unknown[]) : []) {
    if (!isRecord(n)) continue;
    if (n['type'] === 2 && typeof n['value'] === 'string') dns.push(n['value']);
    if (n['type'] === 7 && typeof n['ip'] === 'string') ips.push(n['ip']);
  }
  return { dns, ips };
}

export function splitPemBundle(bundle: string): string[] {
  return lf(bundle).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)?.map((p) => p.trimEnd() + '\n') ?? [];
}
