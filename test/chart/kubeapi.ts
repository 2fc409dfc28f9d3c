import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { isRecord } from '../../common/src/records.js';
import type { Manifest } from '../../harness/chart/helm.js';

/**
 * A raw REST call to the test API server, authenticated by client-node's KubeConfig. Raw because the
 * chart tests need two things the typed clients hide: `fieldValidation=Strict` on server-side dry
 * runs (a misspelt field in a template must fail, not be dropped silently) and impersonation headers
 * (to act as the chart's ServiceAccounts).
 */
export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
  readonly warnings: readonly string[];
}

export interface Impersonation {
  readonly user: string;
  readonly groups: readonly string[];
}

/** The identity the API server gives a pod running as that ServiceAccount. */
export function serviceAccount(namespace: string, name: string): Impersonation {
  return {
    user: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

export async function apiRequest(
  kc: KubeConfig,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  opts: { readonly as?: Impersonation; readonly contentType?: string } = {},
): Promise<ApiResponse> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const headers: Record<string, string | string[]> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
  if (opts.as !== undefined) {
    headers['Impersonate-User'] = opts.as.user;
    headers['Impersonate-Group'] = [...opts.as.groups];
  }
  const req: https.RequestOptions = {
    method,
    hostname: url.hostname,
    port: url.port,
    path: url.pathname + url.search,
    headers,
    timeout: 15_000,
  };
  await kc.applyToHTTPSOptions(req);
  // applyToHTTPSOptions may replace headers wholesale; put ours back on top.
  const applied = req.headers ?? {};
  if (!isRecord(applied)) throw new Error('applyToHTTPSOptions set headers as a raw list; expected an object');
  req.headers = { ...applied, ...headers };
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return await new Promise<ApiResponse>((resolve, reject) => {
    const r = https.request(req, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // Not JSON (rare: proxies, plain-text errors); keep the text for the assertion message.
        }
        const w = res.headers.warning;
        const warnings = w === undefined ? [] : Array.isArray(w) ? w : [w];
        resolve({ status: res.statusCode ?? 0, body: parsed, warnings });
      });
    });
    r.on('timeout', () => r.destroy(new Error(`${method} ${path}: timed out`)));
    r.on('error', reject);
    if (payload !== undefined) r.write(payload);
    r.end();
  });
}

/** Where each kind the chart renders lives in the API (a kind missing here fails the test). */
const RESOURCES: Readonly<Record<string, { readonly plural: string; readonly namespaced: boolean }>> = {
  ServiceAccount: { plural: 'serviceaccounts', namespaced: true },
  Secret: { plural: 'secrets', namespaced: true },
  Service: { plural: 'services', namespaced: true },
  Deployment: { plural: 'deployments', namespaced: true },
  DaemonSet: { plural: 'daemonsets', namespaced: true },
  Job: { plural: 'jobs', namespaced: true },
  PodDisruptionBudget: { plural: 'poddisruptionbudgets', namespaced: true },
  Role: { plural: 'roles', namespaced: true },
  RoleBinding: { plural: 'rolebindings', namespaced: true },
  ClusterRole: { plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { plural: 'clusterrolebindings', namespaced: false },
  MutatingWebhookConfiguration: { plural: 'mutatingwebhookconfigurations', namespaced: false },
  ValidatingWebhookConfiguration: { plural: 'validatingwebhookconfigurations', namespaced: false },
  CustomResourceDefinition: { plural: 'customresourcedefinitions', namespaced: false },
  Certificate: { plural: 'certificates', namespaced: true },
  Issuer: { plural: 'issuers', namespaced: true },
  Namespace: { plural: 'namespaces', namespaced: false },
  Pod: { plural: 'pods', namespaced: true },
  ConfigMap: { plural: 'configmaps', namespaced: true },
};

/** The collection path of an object (`/apis/apps/v1/namespaces/ns/deployments`). */
export function collectionPath(m: Manifest): string {
  const r = RESOURCES[m.kind];
  if (r === undefined) throw new Error(`no REST mapping for kind ${m.kind}: add it to RESOURCES`);
  const base = m.apiVersion.includes('/') ? `/apis/${m.apiVersion}` : `/api/${m.apiVersion}`;
  if (!r.namespaced) return `${base}/${r.plural}`;
  if (m.metadata.namespace === undefined) throw new Error(`${m.kind}/${m.metadata.name}: namespaced but has no namespace`);
  return `${base}/namespaces/${m.metadata.namespace}/${r.plural}`;
}

export function objectPath(m: Manifest): string {
  return `${collectionPath(m)}/${m.metadata.name}`;
}

/** Creates the object; with dryRun nothing is stored but every admission and validation step runs. */
export async function createObject(kc: KubeConfig, m: Manifest, dryRun: boolean): Promise<ApiResponse> {
  const q = new URLSearchParams({ fieldValidation: 'Strict', fieldManager: 'weir-chart-test' });
  if (dryRun) q.set('dryRun', 'All');
  return await apiRequest(kc, 'POST', `${collectionPath(m)}?${q.toString()}`, m);
}

export function describeStatus(res: ApiResponse): string {
  return `HTTP ${res.status}: ${typeof res.body === 'string' ? res.body : JSON.stringify(res.body)}`;
}
