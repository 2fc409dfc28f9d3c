/**
 * Egress to a Service ClusterIP from what a real kube-apiserver serves: the agent's sources
 * (KubeSources, slimmed wire JSON, list then watch) deliver Services and EndpointSlices, the
 * agent's intake parses them, and the compiler allows the ClusterIP the API server allocated
 * exactly while a rule allows every address its slices list. A slice edited to list one more
 * address, which the rule does not allow, revokes it.
 */
import { CoreV1Api, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, expect, it } from 'vitest';
import { KubeSources } from '../../agent/src/kube/sources.js';
import { PolicyCompiler } from '../../agent/src/policy/compile.js';
import { explainFlow } from '../../agent/src/policy/evaluate.js';
import { parseNetworkPolicy, type Pod } from '../../agent/src/policy/model.js';
import { ServiceIntake } from '../../agent/src/policy/service-intake.js';
import { must, np } from '../../agent/src/policy/testkit.js';
import { describeWithApi, ensureNamespace, uniqueName } from '../support/kube.js';

const CLIENT_IP = '10.1.0.1';

describeWithApi('agent sources: Services and EndpointSlices decide egress to a ClusterIP', (kubeconfigPath) => {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const namespace = uniqueName('svcsrc');
  let sources: KubeSources | undefined;

  afterAll(async () => {
    await sources?.stop();
  });

  it('allows the allocated ClusterIP while every listed backend is allowed, and revokes when one is not', async () => {
    await ensureNamespace(core, namespace);
    // Selectorless: its slice is written by hand, as a tenant could (no controller-manager here anyway).
    const svc = await core.createNamespacedService({
      namespace,
      body: { metadata: { name: 'ext' }, spec: { ports: [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }] } },
    });
    const vip = svc.spec?.clusterIP ?? '';
    expect(vip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const slice = (addresses: string[]) => ({
      metadata: { name: 'ext-1', labels: { 'kubernetes.io/service-name': 'ext' } },
      addressType: 'IPv4',
      ports: [{ name: 'https', port: 8443, protocol: 'TCP' }],
      endpoints: addresses.map((a, i) => ({ addresses: [a], conditions: { ready: i === 0 } })),
    });
    await discovery.createNamespacedEndpointSlice({ namespace, body: slice(['203.0.113.7']) });

    const compiler = new PolicyCompiler();
    const client: Pod = {
      namespace, name: 'client', nodeName: 'n1', labels: { app: 'client' }, hostNetwork: false, terminal: false,
      defaultInterface: 'eth0', interfaces: [{ name: 'eth0', network: undefined, ips: [CLIENT_IP] }], containerPorts: [],
    };
    compiler.upsertPod(client);
    compiler.upsertPolicy(must(parseNetworkPolicy(np(namespace, 'to-ext', {
      podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ port: 8443 }] }],
    }))));
    const failures: string[] = [];
    const intake = new ServiceIntake(compiler, (r, o, errors) => failures.push(`${r}: ${JSON.stringify(errors)}`));
    sources = new KubeSources(kc);
    await sources.start((c) => {
      if (c.resource === 'service' || c.resource === 'endpointslice') intake.apply(c.resource, c.type, c.object);
    }, 30_000);

    const verdict = (port: number): string => explainFlow(compiler.compileNode({ name: 'n1' }), {
      from: { ip: CLIENT_IP, endpoint: { namespace, pod: 'client', interface: 'eth0' } }, to: { ip: vip }, port, protocol: 'TCP',
    }).verdict;
    const until = async (what: string, cond: () => boolean): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(cond(), what).toBe(true);
    };
    // From the initial list.
    expect(verdict(443)).toBe('allow');
    expect(compiler.ipcache().find((e) => e.cidr === `${vip}/32`)?.identity).toBeDefined();
    expect(verdict(8443)).toBe('deny');

    // From the watch: the slice now also lists an address the rule does not allow.
    await discovery.replaceNamespacedEndpointSlice({
      namespace, name: 'ext-1',
      body: { ...slice(['203.0.113.7', '198.51.100.1']), metadata: { ...slice([]).metadata, namespace } },
    });
    await until('the ClusterIP is revoked', () => verdict(443) === 'deny');

    await discovery.deleteNamespacedEndpointSlice({ namespace, name: 'ext-1' });
    await discovery.createNamespacedEndpointSlice({ namespace, body: slice(['203.0.113.8']) });
    await until('allowed again', () => verdict(443) === 'allow');
    await core.deleteNamespacedService({ namespace, name: 'ext' });
    await until('the ClusterIP leaves the ipcache', () => !compiler.ipcache().some((e) => e.cidr === `${vip}/32`));
    expect(failures).toEqual([]);
  });
});
