import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../common/src/files.js';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { kubeconfigText } from './kubeconfig.js';
import { issueCert } from './pki.js';

function serverOf(config: unknown): string {
  if (typeof config === 'object' && config !== null && 'clusters' in config && Array.isArray(config.clusters)) {
    const first: unknown = config.clusters[0];
    if (typeof first === 'object' && first !== null && 'cluster' in first) {
      const cluster: unknown = first.cluster;
      if (typeof cluster === 'object' && cluster !== null && 'server' in cluster && typeof cluster.server === 'string') {
        return cluster.server;
      }
    }
  }
  throw new Error('clusters[0].cluster.server: expected a string');
}

/**
 * Writes a kubeconfig for another identity (`user`, `groups`) next to the admin kubeconfig of a
 * control plane from startControlPlane, with a client certificate signed by that control plane's
 * CA (read from `<dataDir>/pki`). RBAC tests use it to act as an ordinary user.
 */
export async function writeUserKubeconfig(
  adminKubeconfigPath: string,
  user: string,
  groups: readonly string[] = [],
): Promise<string> {
  const dir = dirname(adminKubeconfigPath);
  const [admin, caCertPem, caKeyPem] = await Promise.all([
    readFile(adminKubeconfigPath, 'utf8'),
    readFile(join(dir, 'pki', 'ca.crt'), 'utf8'),
    readFile(join(dir, 'pki', 'ca.key'), 'utf8'),
  ]);
  const client = await issueCert(user, { kind: 'client', groups }, { certPem: caCertPem, keyPem: caKeyPem });
  const safe = user.replace(/[^A-Za-z0-9_.-]/g, '_');
  const path = join(dir, `user-${safe}-${Date.now()}.kubeconfig`);
  await writeFileAtomic(path, kubeconfigText(serverOf(parse(admin)), caCertPem, user, client));
  return path;
}
