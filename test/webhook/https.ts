/** Test helpers: a loopback certificate and a small HTTPS/HTTP client that never throws on status. */
import http from 'node:http';
import https from 'node:https';
import { generateCa, issueServingCert, type KeyPairPem } from '../../webhook/src/tls/certs.js';

export interface LoopbackPki {
  ca: KeyPairPem;
  serving: KeyPairPem;
}

export function loopbackPki(now = new Date(), validityMs = 24 * 3600 * 1000): LoopbackPki {
  const ca = generateCa('weir-test-ca', now, validityMs * 2);
  const serving = issueServingCert(ca, { dns: ['localhost'], ips: ['127.0.0.1'] }, now, validityMs);
  return { ca, serving };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Fingerprint of the certificate the server presented (HTTPS only). */
  peerFingerprint?: string;
}

export function request(opts: {
  port: number;
  path: string;
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  ca?: string;
  tls?: boolean;
  agent?: http.Agent;
}): Promise<Reply> {
  const useTls = opts.tls ?? true;
  return new Promise((resolve, reject) => {
    const r = (useTls ? https : http).request(
      {
        host: '127.0.0.1',
        port: opts.port,
        path: opts.path,
        method: opts.method ?? 'POST',
        headers: opts.headers ?? {},
        ...(useTls ? { ca: opts.ca, servername: 'localhost' } : {}),
        ...(opts.agent === undefined ? { agent: false } : { agent: opts.agent }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const sock = res.socket as unknown as { getPeerCertificate?: () => { fingerprint256?: string } };
          const fp = sock.getPeerCertificate?.().fingerprint256;
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            ...(fp === undefined ? {} : { peerFingerprint: fp }),
          });
        });
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    if (opts.body !== undefined) r.write(opts.body);
    r.end();
  });
}

export function postJson(port: number, path: string, body: unknown, ca: string): Promise<Reply> {
  return request({ port, path, body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, ca });
}

export function podReview(uid: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: 'ns',
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', annotations: {} }, spec: { containers: [] } },
      ...over,
    },
  };
}
