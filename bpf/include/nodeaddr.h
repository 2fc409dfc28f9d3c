/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The node's own addresses (the agent's host netns, written by agent/src/datapath/driver.ts).
 * Kubernetes NetworkPolicy cannot block a pod's resident node (kubelet probes come from it):
 * - on the pod's own interfaces, a flow the node opens toward the pod passes as
 *   WEIR_REASON_NODE_ALLOWED and its replies as the flow's; a flow the pod opens toward the node is
 *   policy's to judge (weir.bpf.c weir_judge);
 * - on a link a later chained plugin added to reach the node (Spiderpool coordinator's veth0,
 *   WEIR_CLASSID_ADOPTED), a packet from (ingress) or to (egress) one of these addresses passes,
 *   both ways; every other packet there is judged by policy with its real source.
 * Traffic the node masquerades (Service traffic from other nodes, kube-proxy's masqueradeAll)
 * carries a node address too and passes: no datapath can tell it from the node's own.
 */
#ifndef WEIR_NODEADDR_H
#define WEIR_NODEADDR_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "weir_shared.h"
#include "parse.h"

#define WEIR_MAX_NODE_ADDRS 256

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, union weir_addr); /* IPv4-mapped for IPv4 */
	__type(value, __u8);
	__uint(max_entries, WEIR_MAX_NODE_ADDRS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weir_node_addrs SEC(".maps");

static __always_inline int weir_node_addr(const union weir_addr *a)
{
	return bpf_map_lookup_elem(&weir_node_addrs, a) != NULL;
}

#endif /* WEIR_NODEADDR_H */
