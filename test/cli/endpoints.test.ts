/**
 * `weir endpoints` against the real kube-apiserver: a user who may only list weirendpoints in one
 * namespace sees each attached interface as the agent published it (the object is what the agent
 * writes, built by its own weirEndpointObject), a user without that permission is told which one is
 * missing, and an object the agent could not have written (an address that is not one) is shown
 * as unreadable with exit 1.
 */
import { CustomObjectsApi, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { beforeAll, expect, it } from 'vitest';
import { WEIR_ENDPOINT, weirEndpointObject, type WeirEndpoint } from '../../agent/src/endpoints/weirendpoint.js';
import { describeWithApi, ensureNamespace, kubeClients, uniqueName, writeUserKubeconfig } from '../support/kube.js';
import { runWeir } from '../support/weir-cli.js';

const weir = (argv: string[]) => runWeir(argv);

describeWithApi('weir endpoints (WeirEndpoints through the API server)', (adminKubeconfig) => {
  const { kc, core } = kubeClients(adminKubeconfig);
  const ns = uniqueName('wep');
  const { group, version, plural } = WEIR_ENDPOINT;
  let reader = '';
  let stranger = '';

  const endpoint = (name: string, ip: string): WeirEndpoint => ({
    namespace: ns, name, podUid: `uid-${name}`, node: 'node-1',
    interfaces: [
      { name: 'eth0', network: `${ns}/underlay`, isDefault: true, mac: '02:00:00:00:00:01', ips: [ip], containerId: 'c1', attachedAtMs: Date.parse('2026-11-29T12:00:00Z') },
    ],
    enforcement: [{
      name: 'eth0', endpointId: 3, enforced: true, isolatedIngress: true, isolatedEgress: false, policyEntries: 4, shaping: 'tbf',
      ingressBitsPerSecond: undefined, egressBitsPerSecond: 50_000_000, warnings: [],
    }],
  });

  async function publish(ep: WeirEndpoint): Promise<void> {
    const body = weirEndpointObject(ep);
    const api = kc.makeApiClient(CustomObjectsApi);
    await api.createNamespacedCustomObject({ group, version, plural, namespace: ns, body });
  }

  beforeAll(async () => {
    await ensureNamespace(core, ns);
    await publish(endpoint('web', '10.77.0.5'));
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const user = `${ns}-reader`;
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: user }, rules: [{ apiGroups: [group], resources: [plural], verbs: ['list'] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: { metadata: { name: user }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: user }, subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }] },
    });
    reader = await writeUserKubeconfig(adminKubeconfig, user);
    stranger = await writeUserKubeconfig(adminKubeconfig, `${ns}-stranger`);
  }, 60_000);

  it('lists each attached interface with what the agent enforces there', async () => {
    const r = await weir(['endpoints', '--kubeconfig', reader, '-n', ns, '-o', 'wide']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [header, row] = r.stdout.trimEnd().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAMESPACE', 'POD', 'NODE', 'INTERFACE', 'NETWORK', 'IPS', 'ENFORCED', 'ISOLATED', 'ENTRIES', 'SHAPING', 'EGRESS', 'INGRESS', 'WARNINGS']);
    expect(row?.split(/\s+/)).toEqual([ns, 'web', 'node-1', 'eth0', `${ns}/underlay`, '10.77.0.5', 'yes', 'ingress', '4', 'tbf', '50M', '-', '-']);
    const json = await weir(['endpoints', '--kubeconfig', reader, '-n', ns, '-o', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ kind: 'WeirEndpointList', items: [{ namespace: ns, name: 'web', node: 'node-1' }] });
  });

  it('a user without list on weirendpoints is told which permission is missing', async () => {
    const r = await weir(['endpoints', '--kubeconfig', stranger, '-n', ns]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`not allowed to list weirendpoints.weir.dev in namespace ${ns}`);
  });

  it('an object the agent could not have written is shown as unreadable and fails the command', async () => {
    const bad = weirEndpointObject(endpoint('forged', '10.77.0.6'));
    const spec = bad['spec'] as { interfaces: Array<{ ips: string[] }> };
    const first = spec.interfaces[0];
    if (first === undefined) throw new Error('the fixture has an interface');
    first.ips = ['not-an-ip'];
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ group, version, plural, namespace: ns, body: bad });
    const r = await weir(['endpoints', '--kubeconfig', reader, '-n', ns]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`${ns}\\s+forged\\s.*UNREADABLE.*spec\\.interfaces\\[0\\]\\.ips\\[0\\]: "not-an-ip" is not an IP address`));
    expect(r.stdout).toMatch(new RegExp(`${ns}\\s+web\\s`));
    expect(r.stderr).toContain('1 WeirEndpoint object(s) did not parse');
  });
});
