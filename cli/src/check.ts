/**
 * `weir check`: is this installation working? What the chart's `helm test` pod runs
 * (charts/weir/templates/tests/), and what a platform engineer runs after an upgrade.
 *   webhook: the API server sends Weir's NAD webhook a NAD Weir refuses (a server-side dry run of a
 *            weir-chained NAD with a misspelt plugin) and it must come back refused by Weir. The NAD
 *            webhook fails open, so an admitted NAD means Weir did not answer.
 *   agents:  every agent pod in the namespace is reachable through pods/portforward and ready.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import { apiMessage, apiStatus } from '../../common/src/kube/api-errors.js';
import { findAgents } from './agents.js';
import { CommandError } from './errors.js';
import type { Cluster } from './kube.js';
import { readStatus } from './status.js';

export const CHECK_NAD_NAME = 'weir-check-refused';

function refusedNad(namespace: string): object {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: CHECK_NAD_NAME, namespace, annotations: { 'weir.dev/chain': 'enabled' } },
    spec: {
      config: JSON.stringify({
        cniVersion: '1.0.0', name: CHECK_NAD_NAME,
        plugins: [{ type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'host-local', subnet: '192.0.2.0/28' } }, { type: 'coordinattor' }],
      }),
    },
  };
}

/** One line on what the webhook did; throws CommandError when it did not answer as Weir. */
export async function checkWebhook(cluster: Cluster): Promise<string> {
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  try {
    await custom.createNamespacedCustomObject({
      group: 'k8s.cni.cncf.io', version: 'v1', namespace: cluster.namespace, plural: 'network-attachment-definitions',
      body: refusedNad(cluster.namespace), dryRun: 'All',
    });
  } catch (error) {
    const status = apiStatus(error);
    const message = apiMessage(error) ?? String(error);
    if (status !== undefined && status >= 400 && status < 500 && /admission webhook "nads\.(validate|mutate)\.weir\.dev" denied the request/.test(message)) {
      return 'webhook: answers (it refused a weir-chained NAD with a misspelt plugin, as it must)';
    }
    if (status === 404) throw new CommandError('webhook: cannot check: the NetworkAttachmentDefinition CRD (k8s.cni.cncf.io/v1) is not installed; install Multus first');
    if (status === 403) throw new CommandError(`webhook: cannot check: ${message} (weir check needs "create" on network-attachment-definitions in ${cluster.namespace}; only a dry run is made)`);
    throw new CommandError(`webhook: the API server answered ${status ?? 'with an error'}, not a Weir refusal: ${message}`);
  }
  throw new CommandError('webhook: NOT ANSWERING: the API server admitted a NAD Weir refuses (the NAD webhook fails open, so Weir did not answer); check the webhook Deployment and its Service endpoints');
}

export async function checkCommand(cluster: Cluster, selector: string, out: (line: string) => void): Promise<number> {
  const problems: string[] = [];
  try {
    out(await checkWebhook(cluster));
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    out(error.message);
    problems.push('webhook');
  }
  const agents = await findAgents(cluster, selector, cluster.namespace);
  const reports = await Promise.all(agents.map(readStatus));
  for (const r of reports) {
    if ('error' in r) out(`agent on ${r.node}: NOT REACHABLE: ${r.error}`);
    else out(`agent on ${r.node}: ${r.status.ready ? 'ready' : `NOT READY (waiting for ${r.status.unsynced.join(', ')})`}, ${r.status.endpoints.length} endpoint(s)`);
  }
  const bad = reports.filter((r) => 'error' in r || !r.status.ready).length;
  if (bad > 0) problems.push(`${bad} of ${reports.length} agent(s)`);
  if (problems.length > 0) throw new CommandError(`check failed: ${problems.join(', ')}`);
  out(`ok: the webhook answers and all ${reports.length} agent(s) are ready`);
  return 0;
}
