import type { KubeConfig } from '@kubernetes/client-node';
import type { RawCluster } from '../../agent/src/explain/explain-pods.js';
import { rawList } from '../../common/src/kube/kube-source.js';
import { WEIR_ENDPOINT_PATH } from '../../agent/src/endpoints/weirendpoint.js';

/**
 * Everything `weir explain` needs, read once from the API server as wire JSON (the same shape the
 * agent's caches hold); the policy CRDs are optional, so a cluster without them explains NetworkPolicy.
 */
export async function fetchCluster(kc: KubeConfig): Promise<RawCluster> {
  const list = async (path: string): Promise<unknown[]> => (await rawList(kc, path)({}))?.items ?? [];
  const optional = (path: string) => list(path).catch(() => []);
  const [
    namespaces, pods, networkPolicies, multiNetworkPolicies, adminNetworkPolicies, baselineAdminNetworkPolicies, weirEndpoints, nads, clusterNetworkPolicies, nodes,
    services, endpointSlices,
  ] = await Promise.all([
    list('/api/v1/namespaces'),
    list('/api/v1/pods'),
    list('/apis/networking.k8s.io/v1/networkpolicies'),
    optional('/apis/k8s.cni.cncf.io/v1beta1/multi-networkpolicies'),
    optional('/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies'),
    optional('/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies'),
    optional(WEIR_ENDPOINT_PATH),
    optional('/apis/k8s.cni.cncf.io/v1/network-attachment-definitions'),
    optional('/apis/policy.networking.k8s.io/v1beta1/clusternetworkpolicies'),
    optional('/api/v1/nodes'),
    // Egress to a ClusterIP is judged by the Service's EndpointSlices (agent/src/policy/services.ts).
    optional('/api/v1/services'),
    optional('/apis/discovery.k8s.io/v1/endpointslices'),
  ]);
  return {
    namespaces, pods, networkPolicies, multiNetworkPolicies, adminNetworkPolicies, baselineAdminNetworkPolicies, weirEndpoints, nads, clusterNetworkPolicies, nodes,
    services, endpointSlices,
  };
}
