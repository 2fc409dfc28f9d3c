import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { issueCert, loopbackServingPki } from './pki.js';

describe('test PKI', () => {
  it('issues a loopback serving certificate that its CA verifies', async () => {
    const { ca, serving } = await loopbackServingPki('hook');
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(serving.certPem);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkHost('hook')).toBe('hook');
  });

  it('puts client groups in O= (how Kubernetes reads them)', async () => {
    const ca = await issueCert('ca', { kind: 'ca' });
    const client = new X509Certificate((await issueCert('alice', { kind: 'client', groups: ['g1', 'g2'] }, ca)).certPem);
    expect(client.subject.split('\n')).toEqual(expect.arrayContaining(['CN=alice', 'O=g1', 'O=g2']));
    expect(client.issuer).toBe('CN=ca');
  });
});
