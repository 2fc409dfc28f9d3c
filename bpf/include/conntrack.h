/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Conntrack: policy is evaluated on a flow's first packet only; later packets in either
 * direction pass on a hit. One normalised entry per (endpoint, flow), found with one lookup.
 *
 * Lifetimes (bpf_ktime_get_coarse_ns deadlines; an expired entry is a miss). A packet pushes the
 * deadline out only when it has gone stale by more than a second (or the state changed): the
 * shortest lifetime is 10 s, so a deadline up to 1 s early costs nothing, while a store on every
 * packet would dirty the entry's cache line on the hottest path (and bounce it between CPUs):
 *   TCP before any reply          60 s   (SYN retries fit; half-open junk ages out)
 *   TCP established            21600 s   (6 h, long-lived idle connections survive)
 *   TCP after RST or both FINs    10 s   (late retransmits/ACKs still pass)
 *   non-TCP before any reply      60 s
 *   non-TCP after a reply        180 s   (UDP/SCTP/ICMP "sessions")
 * The LRU map evicts the oldest entries when full, so no sweeper is required for correctness.
 *
 * Policy changes: each entry records the endpoint's policy generation under which it was last
 * allowed. When the agent bumps the generation, the next packet of every flow re-runs policy
 * for the flow's original direction/peer/port; a flow no longer allowed is deleted and dropped
 * (WEIR_REASON_REVOKED). So revocation costs one policy evaluation per live flow, lazily.
 */
#ifndef WEIR_CONNTRACK_H
#define WEIR_CONNTRACK_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include "weir_shared.h"
#include "parse.h"

#define WEIR_CT_MAX_ENTRIES 131072
#define WEIR_SEC 1000000000ULL
#define WEIR_CT_TCP_SYN_NS (60 * WEIR_SEC)
#define WEIR_CT_TCP_EST_NS (21600 * WEIR_SEC)
#define WEIR_CT_CLOSING_NS (10 * WEIR_SEC)
#define WEIR_CT_OTHER_NS (60 * WEIR_SEC)
#define WEIR_CT_OTHER_REPLIED_NS (180 * WEIR_SEC)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct weir_ct_key);
	__type(value, struct weir_ct_value);
	__uint(max_entries, WEIR_CT_MAX_ENTRIES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weir_ct SEC(".maps");

/* Orders (addr, port) pairs; any total order works as long as both directions agree. */
static __always_inline int weir_ct_src_first(const struct weir_pkt *pkt)
{
	if (pkt->saddr.q[0] != pkt->daddr.q[0])
		return pkt->saddr.q[0] < pkt->daddr.q[0];
	if (pkt->saddr.q[1] != pkt->daddr.q[1])
		return pkt->saddr.q[1] < pkt->daddr.q[1];
	return pkt->sport <= pkt->dport;
}

/* Fills key; returns 1 when the packet travels from the key's "a" side. */
static __always_inline int weir_ct_key_build(__u32 endpoint_id, const struct weir_pkt *pkt,
					     struct weir_ct_key *key)
{
	int from_a = weir_ct_src_first(pkt);

	key->endpoint_id = endpoint_id;
	key->protocol = pkt->protocol;
	if (from_a) {
		__builtin_memcpy(key->addr_a, pkt->saddr.b, 16);
		__builtin_memcpy(key->addr_b, pkt->daddr.b, 16);
		key->port_a = pkt->sport;
		key->port_b = pkt->dport;
	} else {
		__builtin_memcpy(key->addr_a, pkt->daddr.b, 16);
		__builtin_memcpy(key->addr_b, pkt->saddr.b, 16);
		key->port_a = pkt->dport;
		key->port_b = pkt->sport;
	}
	return from_a;
}

static __always_inline __u64 weir_ct_lifetime(__u8 protocol, __u8 flags)
{
	if (protocol == IPPROTO_TCP) {
		if ((flags & WEIR_CT_RST) ||
		    (flags & (WEIR_CT_FIN_A | WEIR_CT_FIN_B)) == (WEIR_CT_FIN_A | WEIR_CT_FIN_B))
			return WEIR_CT_CLOSING_NS;
		return (flags & WEIR_CT_SEEN_REPLY) ? WEIR_CT_TCP_EST_NS : WEIR_CT_TCP_SYN_NS;
	}
	return (flags & WEIR_CT_SEEN_REPLY) ? WEIR_CT_OTHER_REPLIED_NS : WEIR_CT_OTHER_NS;
}

/* A live entry or NULL (absent or expired). */
static __always_inline struct weir_ct_value *weir_ct_lookup(const struct weir_ct_key *key, __u64 now)
{
	struct weir_ct_value *ct = bpf_map_lookup_elem(&weir_ct, key);

	if (ct && ct->expires_ns > now)
		return ct;
	return NULL;
}

/* Records what this packet says about the flow's state and pushes its deadline out. */
static __always_inline void weir_ct_refresh(struct weir_ct_value *ct, const struct weir_pkt *pkt,
					    int from_a, int reply, __u64 now)
{
	__u8 flags = ct->flags;

	if (reply)
		flags |= WEIR_CT_SEEN_REPLY;
	if (pkt->protocol == IPPROTO_TCP) {
		if (pkt->tcp_flags & WEIR_TCP_RST)
			flags |= WEIR_CT_RST;
		if (pkt->tcp_flags & WEIR_TCP_FIN)
			flags |= from_a ? WEIR_CT_FIN_A : WEIR_CT_FIN_B;
	}
	/* Write only on change: established bulk traffic then mostly reads the entry. */
	if (flags != ct->flags)
		ct->flags = flags;
	__u64 expires = now + weir_ct_lifetime(pkt->protocol, flags);
	/* Skip the store while the deadline moved less than a second: saves cache-line bouncing. */
	if (expires - ct->expires_ns > WEIR_SEC)
		ct->expires_ns = expires;
}

static __always_inline void weir_ct_create(const struct weir_ct_key *key, const struct weir_pkt *pkt,
					   int from_a, __u8 direction, __u32 generation,
					   __u32 rule_id, __u32 remote_identity, __u64 now)
{
	struct weir_ct_value ct = {
		.generation = generation,
		.rule_id = rule_id,
		.opener_is_a = (__u8)from_a,
		.direction = direction,
		.remote_identity = remote_identity,
	};

	if (pkt->protocol == IPPROTO_TCP && (pkt->tcp_flags & WEIR_TCP_RST))
		ct.flags |= WEIR_CT_RST;
	ct.expires_ns = now + weir_ct_lifetime(pkt->protocol, ct.flags);
	bpf_map_update_elem(&weir_ct, key, &ct, BPF_ANY);
}

#endif /* WEIR_CONNTRACK_H */
