import type { CertAndKey } from './pki.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/**
 * A kubeconfig with everything inline (no file references), so the file can be copied or read
 * from any working directory. JSON is valid YAML, which is what kubeconfig readers parse.
 */
export function kubeconfigText(server: string, caCertPem: string, user: string, client: CertAndKey): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'weir-test', cluster: { server, 'certificate-authority-data': b64(caCertPem) } }],
    users: [
      {
        name: user,
        user: { 'client-certificate-data': b64(client.certPem), 'client-key-data': b64(client.keyPem) },
      },
    ],
    contexts: [{ name: 'weir-test', context: { cluster: 'weir-test', user } }],
    'current-context': 'weir-test',
  };
  return JSON.stringify(config, null, 2) + '\n';
}
