/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IP fragments are tracked from the first fragment, as Cilium does: only the first fragment
 * carries the L4 header, so when it passes, its ports are remembered under the datagram's
 * reassembly key (addresses, protocol, IP id) and every later fragment is judged with them: it
 * then finds the flow's conntrack entry like any other packet of the flow. Without this, the
 * later fragments of a large UDP datagram (DNS over 1,500 bytes, a 4,000-byte UDP message) were
 * judged on port 0 and dropped by any port-specific policy. A later fragment whose first
 * fragment was not seen (or was dropped) is still judged on port 0, which fails closed.
 */
#ifndef WEIR_FRAG_H
#define WEIR_FRAG_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "weir_shared.h"
#include "parse.h"

#define WEIR_FRAG_MAX_ENTRIES 8192
/* Reassembly gives up after 30 s on Linux (net.ipv4.ipfrag_time). */
#define WEIR_FRAG_LIFETIME_NS (30 * 1000000000ULL)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct weir_frag_key);
	__type(value, struct weir_frag_value);
	__uint(max_entries, WEIR_FRAG_MAX_ENTRIES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weir_frags SEC(".maps");

static __always_inline void weir_frag_key_build(__u32 endpoint_id, const struct weir_pkt *pkt,
						struct weir_frag_key *key)
{
	key->endpoint_id = endpoint_id;
	key->id = pkt->frag_id;
	key->protocol = pkt->protocol;
	__builtin_memcpy(key->saddr, pkt->saddr.b, 16);
	__builtin_memcpy(key->daddr, pkt->daddr.b, 16);
}

/* A later fragment: takes the ports its first fragment recorded, if it was seen. */
static __always_inline void weir_frag_ports(__u32 endpoint_id, struct weir_pkt *pkt, __u64 now)
{
	struct weir_frag_key key = {};
	struct weir_frag_value *v;

	weir_frag_key_build(endpoint_id, pkt, &key);
	v = bpf_map_lookup_elem(&weir_frags, &key);
	if (!v || v->expires_ns <= now)
		return;
	pkt->sport = v->sport;
	pkt->dport = v->dport;
	pkt->has_ports = 1;
}

/* A first fragment that passed: records its ports for the fragments that follow. */
static __always_inline void weir_frag_remember(__u32 endpoint_id, const struct weir_pkt *pkt, __u64 now)
{
	struct weir_frag_key key = {};
	struct weir_frag_value v = { .expires_ns = now + WEIR_FRAG_LIFETIME_NS,
				     .sport = pkt->sport,
				     .dport = pkt->dport };

	weir_frag_key_build(endpoint_id, pkt, &key);
	bpf_map_update_elem(&weir_frags, &key, &v, BPF_ANY);
}

#endif /* WEIR_FRAG_H */
