import { expect, it } from 'vitest';
import { apiMessage, apiStatus, describeWithApi, ensureNamespace, kubeClients, uniqueName, writeUserKubeconfig } from '../support/kube.js';

const NAD = { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions' } as const;
const SCC = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spidercoordinators' } as const;
const BANP = { group: 'policy.networking.k8s.io', version: 'v1alpha1', plural: 'baselineadminnetworkpolicies' } as const;

function field(obj: unknown, ...path: string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

describeWithApi('smoke: the shared control plane and its CRDs', (kubeconfig) => {
  const { core, custom } = kubeClients(kubeconfig);

  it('creates a NetworkAttachmentDefinition and reads it back unchanged', async () => {
    const ns = uniqueName('smoke-nad');
    await ensureNamespace(core, ns);
    const config = JSON.stringify({ cniVersion: '1.0.0', type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'host-local' } });
    await custom.createNamespacedCustomObject({
      ...NAD,
      namespace: ns,
      body: { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'macvlan1' }, spec: { config } },
    });
    const got: unknown = await custom.getNamespacedCustomObject({ ...NAD, namespace: ns, name: 'macvlan1' });
    expect(field(got, 'spec', 'config')).toBe(config);
  });

  it('keeps SpiderCoordinator status behind the status subresource', async () => {
    const name = uniqueName('scc');
    await custom.createClusterCustomObject({
      ...SCC,
      body: { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderCoordinator', metadata: { name }, spec: { podCIDRType: 'none' }, status: { phase: 'Synced' } },
    });
    const created: unknown = await custom.getClusterCustomObject({ ...SCC, name });
    expect(field(created, 'status')).toBeUndefined(); // status on create is dropped
    expect(field(created, 'spec', 'mode')).toBe('auto'); // CRD default applied
    await custom.patchClusterCustomObjectStatus({ ...SCC, name, body: [{ op: 'add', path: '/status', value: { phase: 'NotReady', reason: 'no CIDR' } }] });
    const patched: unknown = await custom.getClusterCustomObject({ ...SCC, name });
    expect(field(patched, 'status', 'phase')).toBe('NotReady');
    expect(field(patched, 'status', 'reason')).toBe('no CIDR');
  });

  it('refuses a BaselineAdminNetworkPolicy not named default', async () => {
    const body = (name: string): object => ({
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      kind: 'BaselineAdminNetworkPolicy',
      metadata: { name },
      spec: { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] },
    });
    const err: unknown = await custom.createClusterCustomObject({ ...BANP, body: body('other') }).catch((e: unknown) => e);
    expect(apiStatus(err)).toBe(422);
    expect(apiMessage(err)).toContain('metadata.name="default"');
  });

  it('enforces RBAC for an ordinary user', async () => {
    const userConfig = await writeUserKubeconfig(kubeconfig, 'smoke-user', ['smoke-group']);
    const asUser = kubeClients(userConfig);
    const err: unknown = await asUser.core.listNamespace().catch((e: unknown) => e);
    expect(apiStatus(err)).toBe(403);
  });
});
