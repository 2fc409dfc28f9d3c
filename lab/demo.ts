import { CoreV1Api, CustomObjectsApi, KubeConfig, NetworkingV1Api, type V1Pod } from '@kubernetes/client-node';
import { apiMessage } from '../common/src/kube/api-errors.js';
import { execInNetns } from '../harness/support/netns.js';
import type { FlowRecord } from '../agent/src/flows/format.js';
import { formatFlow } from '../agent/src/flows/format.js';
import { podNetnsName } from './simnode/kubelet.js';
import { streamFlows } from '../cli/src/flows-client.js';
import type { LabState } from './supervisor.js';
import { createNad as createNadIn, createPod as createPodIn, iperfMbps, macvlanWeirConfig, waitRunning as waitRunningIn, waitUntil } from './workload.js';

/**
 * The lab's guided demo: every step says what it does, does it through the real API server, and
 * shows what happened. It leaves its objects in place so the user can keep exploring.
 */
export const DEMO_NAMESPACE = 'demo';
const NAD_NAME = 'underlay';
const BANDWIDTH = '50M';

export const DEMO_NAD_CONFIG = macvlanWeirConfig('underlay', '10.77.0.0/24');
const BROKEN_NAD_CONFIG = JSON.stringify({
  cniVersion: '1.0.0', name: 'broken',
  plugins: [
    { type: 'macvlan', master: 'uplink0', mode: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '10.78.0.0/24' }]] } },
    { type: 'coordinattor' },
  ],
});

type Out = (line: string) => void;

export async function runDemo(state: LabState, out: Out): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const net = kc.makeApiClient(NetworkingV1Api);
  let step = 0;
  const say = (title: string) => { out(''); out(`Step ${++step}: ${title}`); };

  say(`opt namespace "${DEMO_NAMESPACE}" in (label weir.dev/inject=enabled, default network ${DEMO_NAMESPACE}/${NAD_NAME})`);
  await core.createNamespace({ body: { metadata: { name: DEMO_NAMESPACE, labels: { 'weir.dev/inject': 'enabled' }, annotations: { 'weir.dev/default-network': `${DEMO_NAMESPACE}/${NAD_NAME}` } } } });
  out('  namespace created');

  say('create a NetworkAttachmentDefinition: macvlan (bridge) + host-local, with weir chained after it');
  await createNad(custom, NAD_NAME, DEMO_NAD_CONFIG);
  out(`  ${DEMO_NAMESPACE}/${NAD_NAME} accepted`);

  say('create a misconfigured NAD (a typo in the plugin type): the webhook refuses it');
  try {
    await createNad(custom, 'broken', BROKEN_NAD_CONFIG);
    out('  unexpectedly accepted — is the webhook registered?');
  } catch (error) {
    out(`  refused: ${apiMessage(error) ?? String(error)}`);
  }

  say('start two pods, "client" and "server" (the lab\'s binder spreads them over the nodes)');
  await createPod(core, 'client', {});
  await createPod(core, 'server', {});
  const client = await waitRunning(core, 'client');
  const server = await waitRunning(core, 'server');
  const serverIp = server.status?.podIP ?? '';
  out(`  client ${client.status?.podIP} on ${client.spec?.nodeName}; server ${serverIp} on ${server.spec?.nodeName}`);
  out(`  weir.dev/intent written by the webhook: ${client.metadata?.annotations?.['weir.dev/intent'] ?? '(none)'}`);

  say('client pings server: allowed, no policy selects them');
  out(`  ${await ping(client, serverIp, state.prefix) ? 'ping OK' : 'ping FAILED (unexpected)'}`);

  say('apply a deny-all ingress NetworkPolicy in the namespace');
  const node = state.nodes.find((n) => n.name === server.spec?.nodeName);
  const drops: FlowRecord[] = [];
  const watching = new AbortController();
  // The stream must be connected before the policy exists: the first drops happen within a second
  // of the create, and a subscriber that connects later never sees them (the agent streams live
  // flows, it does not replay).
  await new Promise<void>((connected) => {
    if (node === undefined) return connected();
    streamFlows(`${node.agentUrl}/v1/flows?pod=${DEMO_NAMESPACE}/server&verdict=dropped`, (r) => drops.push(r), watching.signal, connected)
      .catch(() => undefined)
      .finally(connected);
  });
  await net.createNamespacedNetworkPolicy({ namespace: DEMO_NAMESPACE, body: { metadata: { name: 'deny-all' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } } });
  const blockedAfter = await waitUntil(async () => !(await ping(client, serverIp, state.prefix)), 10_000);
  out(`  ping ${blockedAfter === undefined ? 'still answered after 10 s (unexpected)' : `blocked (${blockedAfter} ms after the policy was created)`}`);
  await waitUntil(async () => drops.length > 0, 5_000);
  watching.abort();
  out('  weir observe shows the drop:');
  for (const record of drops.slice(0, 2)) out(`    ${formatFlow(record)}`);
  if (drops.length === 0) out('    (no drop event arrived; check: weir observe --verdict dropped)');

  say('delete the policy: traffic flows again');
  await net.deleteNamespacedNetworkPolicy({ name: 'deny-all', namespace: DEMO_NAMESPACE });
  const restoredAfter = await waitUntil(() => ping(client, serverIp, state.prefix), 10_000);
  out(`  ping ${restoredAfter === undefined ? 'still blocked after 10 s (unexpected)' : `OK again (${restoredAfter} ms)`}`);

  say(`start a pod with kubernetes.io/egress-bandwidth: ${BANDWIDTH} and measure it with iperf3`);
  await createPod(core, 'limited', { 'kubernetes.io/egress-bandwidth': BANDWIDTH });
  const limited = await waitRunning(core, 'limited');
  const mbps = await iperfMbps({
    clientNetns: podNetnsName(limited.metadata?.uid ?? '', state.prefix),
    serverNetns: podNetnsName(server.metadata?.uid ?? '', state.prefix),
    serverIp,
  });
  out(`  measured ${mbps.toFixed(1)} Mbit/s for a ${BANDWIDTH} limit (${((mbps / 50) * 100).toFixed(0)}% of the rate)`);
}

async function ping(from: V1Pod, ip: string, prefix: string): Promise<boolean> {
  const result = await execInNetns(podNetnsName(from.metadata?.uid ?? '', prefix), ['ping', '-c', '1', '-W', '1', ip], 5_000);
  return result.code === 0;
}

const createNad = (custom: CustomObjectsApi, name: string, config: string) => createNadIn(custom, DEMO_NAMESPACE, name, config);
const createPod = (core: CoreV1Api, name: string, annotations: Record<string, string>) => createPodIn(core, DEMO_NAMESPACE, name, annotations);
const waitRunning = (core: CoreV1Api, name: string) => waitRunningIn(core, DEMO_NAMESPACE, name);
