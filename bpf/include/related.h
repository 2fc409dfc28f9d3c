/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP and ICMPv6 errors (destination unreachable / fragmentation needed, packet too big, time
 * exceeded, parameter problem) belong to the flow they quote: the error carries the offending
 * packet's IP header and at least its first 8 L4 bytes. When that quoted packet's 5-tuple has a
 * live, unrevoked conntrack entry of this endpoint, the error passes as WEIR_REASON_CT_RELATED;
 * otherwise it is judged like any other ICMP packet. Without this, path-MTU discovery breaks on
 * every isolated endpoint (a "packet too big" from a router is a new flow from "world").
 */
#ifndef WEIR_RELATED_H
#define WEIR_RELATED_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "weir_shared.h"
#include "parse.h"
#include "conntrack.h"

/* Fills `inner` with the quoted packet's 5-tuple; 0 when it cannot be read or has no flow. */
static __always_inline int weir_parse_quoted(const struct __sk_buff *skb, const struct weir_pkt *pkt,
					     struct weir_pkt *inner)
{
	__u32 off = pkt->l4_off + 8;
	__u8 proto;

	/* The helper, not direct access: errors are rare, and the offset is variable. */
	if (pkt->family == 4) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0 || ip.version != 4 || ip.ihl < 5)
			return 0;
		if (ip.frag_off & bpf_htons(0x1fff))
			return 0;
		weir_map_v4(&inner->saddr, ip.saddr);
		weir_map_v4(&inner->daddr, ip.daddr);
		proto = ip.protocol;
		off += ip.ihl * 4;
	} else {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) < 0 || ip6.version != 6)
			return 0;
		__builtin_memcpy(inner->saddr.b, &ip6.saddr, 16);
		__builtin_memcpy(inner->daddr.b, &ip6.daddr, 16);
		proto = ip6.nexthdr; /* quoted extension headers are not walked: no match */
		off += sizeof(ip6);
	}
	inner->protocol = proto;
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP: {
		__be16 ports[2];

		if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)) < 0)
			return 0;
		inner->sport = ports[0];
		inner->dport = ports[1];
		return 1;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		__u8 hdr[6];

		if (bpf_skb_load_bytes(skb, off, hdr, sizeof(hdr)) < 0)
			return 0;
		/* Only echo request/reply carry the identifier the flow is tracked by. */
		if (hdr[0] != 8 && hdr[0] != 0 && hdr[0] != 128 && hdr[0] != 129)
			return 0;
		__builtin_memcpy(&inner->sport, &hdr[4], 2);
		inner->dport = inner->sport;
		return 1;
	}
	default: return 0;
	}
}

/* 1 when the ICMP error in pkt quotes a live, unrevoked flow of the endpoint. */
static __always_inline int weir_icmp_related(const struct __sk_buff *skb, __u32 endpoint_id, const struct weir_pkt *pkt,
					     __u64 now)
{
	struct weir_pkt inner = {};
	struct weir_ct_key key = {};
	struct weir_ct_value *ct;

	if (!weir_parse_quoted(skb, pkt, &inner))
		return 0;
	weir_ct_key_build(endpoint_id, &inner, &key);
	ct = weir_ct_lookup(&key);
	return ct && weir_ct_live(ct, now) && !(ct->flags & WEIR_CT_REVOKED);
}

#endif /* WEIR_RELATED_H */
