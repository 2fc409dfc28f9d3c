/**
 * Every public annotation and label name Weir reads or writes, in one place. These strings are part
 * of the product (the README's "Labels and annotations" table lists them); the ecosystem's names
 * are matched exactly.
 */

// ── Weir's own names ────────────────────────────────────────────────────────────────────────────
/** Namespace label; value INJECT_ENABLED opts the namespace's pods into the pod webhook. */
export const INJECT_LABEL = 'weir.dev/inject';
export const INJECT_ENABLED = 'enabled';

/** Namespace annotations: defaults injected into pods that do not set the pod annotation. */
export const NS_DEFAULT_NETWORK = 'weir.dev/default-network';
export const NS_NETWORKS = 'weir.dev/networks';
export const NS_DEFAULT_ROUTE_NIC = 'weir.dev/default-route-nic';
export const NS_INGRESS_BANDWIDTH = 'weir.dev/ingress-bandwidth';
export const NS_EGRESS_BANDWIDTH = 'weir.dev/egress-bandwidth';

/** Namespace annotations: caps; a pod asking for more is refused. */
export const NS_MAX_INGRESS_BANDWIDTH = 'weir.dev/max-ingress-bandwidth';
export const NS_MAX_EGRESS_BANDWIDTH = 'weir.dev/max-egress-bandwidth';

/**
 * Namespace annotation, value "true": pods may hold NET_ADMIN or run privileged on interfaces Weir
 * enforces (they could remove their own tc programs; the namespace owner accepts that explicitly).
 */
export const NS_ALLOW_NET_ADMIN = 'weir.dev/allow-net-admin';
export const ALLOW_NET_ADMIN_TRUE = 'true';

/**
 * Namespace annotation, value "true": an administrator's deliberate opt-out of NET_RAW dropping on
 * enforced interfaces. Raw (AF_PACKET) sockets send frames that get past tc egress, so such pods'
 * egress is not enforceable; the webhook warns and the endpoints report it.
 */
export const NS_ALLOW_RAW_SOCKETS = 'weir.dev/allow-raw-sockets';
export const ALLOW_RAW_SOCKETS_TRUE = 'true';

/**
 * Namespace annotation: ENFORCEMENT_AUDIT puts the namespace's endpoints in audit mode (a flow
 * policy would drop passes and is reported as an AUDIT flow event); ENFORCEMENT_ENFORCE, absence
 * or a value that does not parse (with a warning) enforces.
 */
export const NS_ENFORCEMENT = 'weir.dev/enforcement';
export const ENFORCEMENT_ENFORCE = 'enforce';
export const ENFORCEMENT_AUDIT = 'audit';

/** Pod annotation written only by the webhook: canonical versioned JSON (common/src/intent.ts). */
export const POD_INTENT = 'weir.dev/intent';

/** NAD annotation; value CHAIN_ENABLED makes the NAD webhook insert {"type":"weir"}. */
export const NAD_CHAIN = 'weir.dev/chain';
export const CHAIN_ENABLED = 'enabled';

/** The CNI plugin type of Weir's chained plugin. */
export const WEIR_PLUGIN_TYPE = 'weir';

// ── The ecosystem's names (formats: common/src/multus.ts parses them as Multus does) ─────────
export const MULTUS_NETWORKS = 'k8s.v1.cni.cncf.io/networks';
export const MULTUS_DEFAULT_NETWORK = 'v1.multus-cni.io/default-network';
export const MULTUS_NETWORK_STATUS = 'k8s.v1.cni.cncf.io/network-status';
/** MultiNetworkPolicy annotation naming the NADs a policy applies to. */
export const MULTUS_POLICY_FOR = 'k8s.v1.cni.cncf.io/policy-for';
/** Multus resolves a default-network reference without a namespace in its own namespace. */
export const MULTUS_NAMESPACE = 'kube-system';

export const K8S_INGRESS_BANDWIDTH = 'kubernetes.io/ingress-bandwidth';
export const K8S_EGRESS_BANDWIDTH = 'kubernetes.io/egress-bandwidth';

export const SPIDERPOOL_DEFAULT_ROUTE_NIC = 'ipam.spidernet.io/default-route-nic';

/** Mirror pods (static pods) must never be mutated. */
export const MIRROR_POD = 'kubernetes.io/config.mirror';

/** Namespace defaults and the pod annotation each one fills. */
export const NAMESPACE_DEFAULTS: ReadonlyArray<{ readonly namespaceKey: string; readonly podKey: string }> = [
  { namespaceKey: NS_DEFAULT_NETWORK, podKey: MULTUS_DEFAULT_NETWORK },
  { namespaceKey: NS_NETWORKS, podKey: MULTUS_NETWORKS },
  { namespaceKey: NS_DEFAULT_ROUTE_NIC, podKey: SPIDERPOOL_DEFAULT_ROUTE_NIC },
  { namespaceKey: NS_INGRESS_BANDWIDTH, podKey: K8S_INGRESS_BANDWIDTH },
  { namespaceKey: NS_EGRESS_BANDWIDTH, podKey: K8S_EGRESS_BANDWIDTH },
];

/** `metadata.annotations["key"]`, the field path used in every message. */
export function annotationField(key: string): string {
  return `metadata.annotations[${JSON.stringify(key)}]`;
}
