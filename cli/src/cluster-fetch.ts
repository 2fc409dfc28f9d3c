import { CoreV1Api, CustomObjectsApi, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import type { RawCluster } from '../../agent/src/policy/explain-pods.js';

/** Everything `weir explain` needs, read once from the API server (the policy CRDs are optional). */
export async function fetchCluster(kc: KubeConfig): Promise<RawCluster> {
  const core = kc.makeApiClient(CoreV1Api);
  const net = kc.makeApiClient(NetworkingV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const items = (list: unknown): unknown[] => (typeof list === 'object' && list !== null && 'items' in list && Array.isArray(list.items) ? list.items : []);
  const optional = async (p: Promise<unknown>) => items(await p.catch(() => ({ items: [] })));
  const [namespaces, pods, nps, mnps, anps, banps] = await Promise.all([
    core.listNamespace(), core.listPodForAllNamespaces(), net.listNetworkPolicyForAllNamespaces(),
    optional(custom.listClusterCustomObject({ group: 'k8s.cni.cncf.io', version: 'v1beta1', plural: 'multi-networkpolicies' })),
    optional(custom.listClusterCustomObject({ group: 'policy.networking.k8s.io', version: 'v1alpha1', plural: 'adminnetworkpolicies' })),
    optional(custom.listClusterCustomObject({ group: 'policy.networking.k8s.io', version: 'v1alpha1', plural: 'baselineadminnetworkpolicies' })),
  ]);
  // client-node returns typed objects; the parsers read raw JSON, so hand them the wire form.
  const wire = (xs: readonly object[]): unknown[] => xs.map((x) => JSON.parse(JSON.stringify(x)) as unknown);
  return {
    namespaces: wire(namespaces.items), pods: wire(pods.items), networkPolicies: wire(nps.items),
    multiNetworkPolicies: mnps, adminNetworkPolicies: anps, baselineAdminNetworkPolicies: banps,
  };
}
