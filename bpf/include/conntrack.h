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
 *   revocation marker             60 s
 * The LRU map evicts the oldest entries when full, so no sweeper is required for correctness.
 *
 * Creation: a TCP entry is created only by a SYN without ACK. A mid-stream TCP packet of an
 * unknown flow is judged by policy on its own but creates nothing, so it can never turn the
 * other side's packets into "replies".
 *
 * Quota: an endpoint holds at most ct_quota live entries (weir_ct_usage counts them; the
 * agent's sweep corrects the count for expiry and LRU eviction). A new flow over the quota is
 * dropped (WEIR_REASON_CT_QUOTA): one pod flooding new flows cannot evict a whole node's
 * entries, only fill its own share.
 *
 * Policy changes: each entry records the endpoint's policy generation under which it was last
 * allowed. When the agent bumps the generation, the next packet of every flow re-runs policy
 * for the flow's original direction/peer/port; a flow no longer allowed is dropped
 * (WEIR_REASON_REVOKED) and its entry becomes a revocation marker (WEIR_CT_REVOKED) that drops
 * the flow's packets in both directions until it expires; only a new TCP SYN is judged again.
 * So revocation costs one policy evaluation per live flow, lazily.
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
#define WEIR_CT_REVOKED_NS (60 * WEIR_SEC)
/* Live entries one endpoint may hold when its config says 0 (an eighth of the table). */
#define WEIR_CT_DEFAULT_QUOTA (WEIR_CT_MAX_ENTRIES / 8)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct weir_ct_key);
	__type(value, struct weir_ct_value);
	__uint(max_entries, WEIR_CT_MAX_ENTRIES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weir_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct weir_ct_usage);
	__uint(max_entries, WEIR_MAX_ENDPOINTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weir_ct_usage SEC(".maps");

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
static __always_inline int weir_ct_key_build(__u32 endpoint_id, const struct weir_pkt *pkt, struct weir_ct_key *key)
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

/* The entry (live or expired) or NULL; the caller checks weir_ct_live(). */
static __always_inline struct weir_ct_value *weir_ct_lookup(const struct weir_ct_key *key)
{
	return bpf_map_lookup_elem(&weir_ct, key);
}

static __always_inline int weir_ct_live(const struct weir_ct_value *ct, __u64 now)
{
	return ct->expires_ns > now;
}

/* A packet that may open a tracked flow: anything but TCP, or a TCP SYN without ACK. */
static __always_inline int weir_ct_may_create(const struct weir_pkt *pkt)
{
	return pkt->protocol != IPPROTO_TCP || (pkt->tcp_flags & (WEIR_TCP_SYN | WEIR_TCP_ACK)) == WEIR_TCP_SYN;
}

/* Turns a live entry into a revocation marker (see the header comment). */
static __always_inline void weir_ct_revoke(struct weir_ct_value *ct, __u64 now)
{
	ct->flags |= WEIR_CT_REVOKED;
	ct->expires_ns = now + WEIR_CT_REVOKED_NS;
}

/* Records what this packet says about the flow's state and pushes its deadline out. */
static __always_inline void weir_ct_refresh(struct weir_ct_value *ct, const struct weir_pkt *pkt, int from_a, int reply,
					    __u64 now)
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

/* Counts one more entry for the endpoint; 0 when that would exceed its quota. A slot that
 * already holds an entry for the key (expired, or a marker) is reused and not counted again. */
static __always_inline int weir_ct_charge(__u32 endpoint_id, __u32 quota, int reuses_slot)
{
	struct weir_ct_usage *u;

	if (reuses_slot)
		return 1;
	u = bpf_map_lookup_elem(&weir_ct_usage, &endpoint_id);
	if (!u)
		return 0;
	if (u->entries >= (quota ? quota : WEIR_CT_DEFAULT_QUOTA))
		return 0;
	__sync_fetch_and_add(&u->entries, 1);
	return 1;
}

static __always_inline void weir_ct_create(const struct weir_ct_key *key, const struct weir_pkt *pkt, int from_a,
					   __u8 direction, __u32 generation, __u32 rule_id, __u32 remote_identity,
					   __u64 now)
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
