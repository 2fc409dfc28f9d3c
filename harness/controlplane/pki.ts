import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

/**
 * Fresh, throw-away PKI for a test control plane. Keys come from Node's native RSA generator
 * (node-forge's pure-JS one costs seconds per key on these machines); node-forge only builds and
 * signs the X.509 certificates.
 */

export interface KeyPairPem {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

export interface CertAndKey {
  readonly certPem: string;
  readonly keyPem: string;
}

export type CertUsage =
  | { readonly kind: 'ca' }
  | { readonly kind: 'server'; readonly dnsNames: readonly string[]; readonly ips: readonly string[] }
  | { readonly kind: 'client'; readonly groups: readonly string[] };

const generateKeyPairAsync = promisify(generateKeyPair);

export async function newRsaKeyPair(): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

function extensionsFor(usage: CertUsage): object[] {
  switch (usage.kind) {
    case 'ca':
      return [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ];
    case 'server': {
      // altNames type 2 = DNS, 7 = IP (node-forge's numbering follows RFC 5280 GeneralName).
      const altNames = [
        ...usage.dnsNames.map((value) => ({ type: 2, value })),
        ...usage.ips.map((ip) => ({ type: 7, ip })),
      ];
      return [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames },
      ];
    }
    case 'client':
      return [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', clientAuth: true },
      ];
  }
}

function subjectFor(commonName: string, usage: CertUsage): forge.pki.CertificateField[] {
  const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: commonName }];
  // Kubernetes reads a client certificate's O= entries as the user's groups.
  if (usage.kind === 'client') {
    for (const g of usage.groups) subject.push({ name: 'organizationName', value: g });
  }
  return subject;
}

/**
 * Issues a certificate for `commonName`. Without `issuer` the certificate is self-signed (a CA).
 * Valid from one hour ago (clock skew between processes) for `days` days.
 */
export async function issueCert(
  commonName: string,
  usage: CertUsage,
  issuer?: CertAndKey,
  days = 7,
): Promise<CertAndKey> {
  const keys = await newRsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  // Positive serial: a leading 0x00..0x7f byte keeps the DER integer non-negative.
  cert.serialNumber = '01' + randomBytes(15).toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 3_600_000);
  cert.validity.notAfter = new Date(now + days * 86_400_000);
  const subject = subjectFor(commonName, usage);
  cert.setSubject(subject);
  let signingKeyPem = keys.privateKeyPem;
  if (issuer === undefined) {
    cert.setIssuer(subject);
  } else {
    cert.setIssuer(forge.pki.certificateFromPem(issuer.certPem).subject.attributes);
    signingKeyPem = issuer.keyPem;
  }
  cert.setExtensions(extensionsFor(usage));
  cert.sign(forge.pki.privateKeyFromPem(signingKeyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
}

/** A CA plus a serving certificate for loopback, e.g. for a test's own HTTPS webhook server. */
export async function loopbackServingPki(
  commonName = 'localhost',
): Promise<{ readonly ca: CertAndKey; readonly serving: CertAndKey }> {
  const ca = await issueCert(`${commonName}-ca`, { kind: 'ca' });
  const serving = await issueCert(
    commonName,
    { kind: 'server', dnsNames: ['localhost', commonName], ips: ['127.0.0.1', '::1'] },
    ca,
  );
  return { ca, serving };
}
