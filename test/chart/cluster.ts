import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';

/**
 * The admin kubeconfig of the shared test control plane (test/global-setup.ts provides it as
 * `inject('kubeconfig')`, a path or the YAML itself). WEIR_TEST_KUBECONFIG (a path) points these
 * suites at another throw-away API server when running them on their own. null: no API server.
 */
export function testKubeConfig(): KubeConfig | null {
  // Looked up by name without relying on the harness's type declaration, so this file type-checks
  // whether or not the harness has declared `kubeconfig` in vitest's ProvidedContext.
  const provided: unknown = (inject as unknown as (key: string) => unknown)('kubeconfig');
  const source = typeof provided === 'string' && provided !== '' ? provided : process.env.WEIR_TEST_KUBECONFIG;
  if (source === undefined || source === '') return null;
  const kc = new KubeConfig();
  if (!source.includes('\n') && existsSync(source)) kc.loadFromFile(source);
  else kc.loadFromString(source);
  return kc;
}
