import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1Namespace,
} from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { describeIf } from './privileged.js';

export { writeUserKubeconfig } from '../../harness/controlplane/users.js';

/** The shared control plane's admin kubeconfig path, or '' when there is none (see global-setup). */
export function apiKubeconfigPath(): string {
  return inject('kubeconfig');
}

/**
 * `describe` for suites that need the API server; the body gets the admin kubeconfig path.
 * Without an API server it skips loudly (and fails under CI=true, via describeIf).
 */
export function describeWithApi(name: string, body: (kubeconfigPath: string) => void): void {
  const path = apiKubeconfigPath();
  describeIf(path !== '', 'no control plane (etcd/kube-apiserver binaries missing; run `make bootstrap`)')(name, () =>
    body(path),
  );
}

export interface KubeClients {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
}

export function kubeClients(kubeconfigPath: string): KubeClients {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return { kc, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

import { apiStatus } from '../../common/src/kube/api-errors.js';

export { apiMessage, apiStatus } from '../../common/src/kube/api-errors.js';

/** A DNS-label namespace name unique to this run: `<prefix>-<8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface NamespaceSpec {
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * Creates the namespace if it does not exist (labels/annotations apply only on creation) and
 * returns it. There is no controller-manager: a deleted namespace stays Terminating forever, so
 * suites use fresh names (uniqueName) rather than delete and re-create.
 */
export async function ensureNamespace(core: CoreV1Api, name: string, spec: NamespaceSpec = {}): Promise<V1Namespace> {
  try {
    return await core.createNamespace({
      body: { metadata: { name, labels: { ...spec.labels }, annotations: { ...spec.annotations } } },
    });
  } catch (err: unknown) {
    if (apiStatus(err) !== 409) throw err;
    return core.readNamespace({ name });
  }
}
