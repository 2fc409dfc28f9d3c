/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing for the tc programs: Ethernet -> IPv4/IPv6 (bounded IPv6 extension-header
 * walk) -> TCP/UDP/SCTP/ICMP/ICMPv6.
 *
 * The ethertype is read from the frame, never from skb->protocol: a sender with CAP_NET_RAW
 * chooses skb->protocol (AF_PACKET sll_protocol) independently of the bytes it sends, so an
 * IPv4 frame sent as "ARP" would otherwise skip policy. Only IPv4, IPv6 and ARP frames are
 * accepted; VLAN tags (in the frame or offloaded into skb metadata) and every other ethertype
 * are refused.
 *
 * Every header read goes through weir_load(): direct packet access (skb->data/data_end) when
 * the bytes sit in the skb's linear area, which is the case for every header of an ordinary
 * packet, and bpf_skb_load_bytes only when they do not (a paged/non-linear skb). The helper
 * call was most of the parser's cost (~35 of ~45 ns per packet); the fallback keeps the
 * parser correct for any skb without bpf_skb_pull_data (which may reallocate the head).
 * Offsets are bounded before the pointer arithmetic so the verifier can prove the access.
 */
#ifndef WEIR_PARSE_H
#define WEIR_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* IPv6 extension headers walked before giving up (hop-by-hop, routing, fragment, dstopts, AH). */
#define WEIR_MAX_IPV6_EXT 6

enum weir_parse_result {
	WEIR_PARSE_OK = 0,	   /* IPv4/IPv6: judged by conntrack and policy */
	WEIR_PARSE_ARP = 1,	   /* ARP: passes (egress: only with the endpoint's own sender) */
	WEIR_PARSE_ND = 2,	   /* ICMPv6 ND/MLD: passes (egress: only with the endpoint's own sender) */
	WEIR_PARSE_MALFORMED = 3,  /* truncated or inconsistent headers: dropped */
	WEIR_PARSE_L2_REFUSED = 4, /* VLAN-tagged or an ethertype other than IPv4/IPv6/ARP: dropped */
};

union weir_addr {
	__u8 b[16];
	__u32 w[4];
	__u64 q[2];
};

/* Parsed view of one packet; addresses IPv4-mapped so every later stage is family-agnostic. */
struct weir_pkt {
	union weir_addr saddr;
	union weir_addr daddr;
	__be16 sport; /* ICMP echo: the identifier (on both ports) */
	__be16 dport;
	__u8 protocol;
	__u8 family;	/* 4 or 6 */
	__u8 tcp_flags; /* byte 13 of the TCP header */
	__u8 has_ports; /* TCP/UDP/SCTP with the L4 header present (not a later fragment) */
	__u32 len;
	__u8 eth_src[6]; /* source MAC of the frame */
	__u8 icmp_type;	 /* ICMP/ICMPv6 type when protocol is ICMP/ICMPv6 */
	__u8 icmp_error; /* an ICMP/ICMPv6 error: the quoted packet starts at l4_off + 8 */
	__u32 l4_off;	 /* offset of the L4 header in the frame (ND checks read past it) */
	__u32 frag_id;	 /* IPv4 identification / IPv6 fragment id, when frag is set */
	__u8 frag;	 /* WEIR_FRAG_FIRST or WEIR_FRAG_LATER; 0 = not fragmented */
	__u8 pad2[3];
};

#define WEIR_FRAG_FIRST 1 /* offset 0, more fragments follow: carries the L4 header */
#define WEIR_FRAG_LATER 2 /* offset > 0: no L4 header, ports come from bpf/include/frag.h */

#define WEIR_TCP_FIN 0x01
#define WEIR_TCP_SYN 0x02
#define WEIR_TCP_RST 0x04
#define WEIR_TCP_ACK 0x10

/* Past this offset headers are read through the helper (bounds the verifier's offset range). */
#define WEIR_MAX_DIRECT_OFF 1024

/* The skb plus its linear area, read once per packet: reading skb->data at every header
 * lets clang keep &skb->data in a register, which the verifier refuses (modified ctx ptr). */
struct weir_cursor {
	struct __sk_buff *skb;
	void *data;
	void *end;
};

/* Copies len (a compile-time constant after inlining) bytes at off into dst; <0 when the
 * packet is shorter than off + len. */
static __always_inline int weir_load(const struct weir_cursor *c, __u32 off, void *dst, const __u32 len)
{
	if (off <= WEIR_MAX_DIRECT_OFF && c->data + off + len <= c->end) {
		__builtin_memcpy(dst, c->data + off, len);
		return 0;
	}
	return bpf_skb_load_bytes(c->skb, off, dst, len);
}

static __always_inline void weir_map_v4(union weir_addr *dst, __be32 v4)
{
	dst->w[0] = 0;
	dst->w[1] = 0;
	dst->w[2] = bpf_htonl(0x0000ffff);
	dst->w[3] = v4;
}

static __always_inline int weir_parse_icmp(const struct weir_cursor *c, __u32 off, struct weir_pkt *pkt)
{
	/* type, code, checksum, identifier, sequence */
	__u8 hdr[6];

	if (weir_load(c, off, hdr, sizeof(hdr)) < 0)
		return WEIR_PARSE_MALFORMED;
	__u8 type = hdr[0];

	pkt->icmp_type = type;
	pkt->l4_off = off;
	if (pkt->protocol == IPPROTO_ICMPV6) {
		/* Router/neighbour solicitation+advertisement, redirect (133..137) and MLD
		 * (130..132, 143): an L2 underlay stops working without them. */
		if ((type >= 130 && type <= 137) || type == 143)
			return WEIR_PARSE_ND;
		/* Destination unreachable, packet too big, time exceeded, parameter problem. */
		pkt->icmp_error = type >= 1 && type <= 4;
		if (type != 128 && type != 129)
			return WEIR_PARSE_OK;
	} else if (type != 8 && type != 0) {
		/* Destination unreachable (incl. fragmentation needed), time exceeded, parameter problem. */
		pkt->icmp_error = type == 3 || type == 11 || type == 12;
		return WEIR_PARSE_OK;
	}
	/* Echo request/reply: the identifier on both "ports" gives request and reply one
	 * conntrack entry. */
	__be16 id;
	__builtin_memcpy(&id, &hdr[4], sizeof(id));
	pkt->sport = id;
	pkt->dport = id;
	return WEIR_PARSE_OK;
}

static __always_inline int weir_parse_l4(const struct weir_cursor *c, __u32 off, struct weir_pkt *pkt)
{
	switch (pkt->protocol) {
	case IPPROTO_TCP: {
		__u8 hdr[14];

		if (weir_load(c, off, hdr, sizeof(hdr)) < 0)
			return WEIR_PARSE_MALFORMED;
		__builtin_memcpy(&pkt->sport, &hdr[0], 2);
		__builtin_memcpy(&pkt->dport, &hdr[2], 2);
		pkt->tcp_flags = hdr[13];
		pkt->has_ports = 1;
		return WEIR_PARSE_OK;
	}
	case IPPROTO_UDP:
	case IPPROTO_SCTP: {
		/* UDP and SCTP both start with source port, destination port. */
		__be16 ports[2];

		if (weir_load(c, off, ports, sizeof(ports)) < 0)
			return WEIR_PARSE_MALFORMED;
		pkt->sport = ports[0];
		pkt->dport = ports[1];
		pkt->has_ports = 1;
		return WEIR_PARSE_OK;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: return weir_parse_icmp(c, off, pkt);
	default: return WEIR_PARSE_OK; /* other protocols: policy by protocol only */
	}
}

static __always_inline int weir_parse_ipv4(const struct weir_cursor *c, struct weir_pkt *pkt)
{
	struct iphdr ip;

	if (weir_load(c, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return WEIR_PARSE_MALFORMED;
	if (ip.version != 4 || ip.ihl < 5)
		return WEIR_PARSE_MALFORMED;
	pkt->family = 4;
	pkt->protocol = ip.protocol;
	weir_map_v4(&pkt->saddr, ip.saddr);
	weir_map_v4(&pkt->daddr, ip.daddr);
	/* A later fragment carries no L4 header: its ports come from its first fragment. */
	if (ip.frag_off & bpf_htons(0x3fff)) {
		pkt->frag_id = ip.id;
		pkt->frag = (ip.frag_off & bpf_htons(0x1fff)) ? WEIR_FRAG_LATER : WEIR_FRAG_FIRST;
		if (pkt->frag == WEIR_FRAG_LATER)
			return WEIR_PARSE_OK;
	}
	return weir_parse_l4(c, ETH_HLEN + ip.ihl * 4, pkt);
}

static __always_inline int weir_parse_ipv6(const struct weir_cursor *c, struct weir_pkt *pkt)
{
	struct ipv6hdr ip6;

	if (weir_load(c, ETH_HLEN, &ip6, sizeof(ip6)) < 0)
		return WEIR_PARSE_MALFORMED;
	if (ip6.version != 6)
		return WEIR_PARSE_MALFORMED;
	pkt->family = 6;
	__builtin_memcpy(pkt->saddr.b, &ip6.saddr, 16);
	__builtin_memcpy(pkt->daddr.b, &ip6.daddr, 16);

	__u8 nexthdr = ip6.nexthdr;
	__u32 off = ETH_HLEN + sizeof(ip6);

#pragma unroll
	for (int i = 0; i < WEIR_MAX_IPV6_EXT; i++) {
		__u8 ext[8];

		switch (nexthdr) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (weir_load(c, off, ext, 2) < 0)
				return WEIR_PARSE_MALFORMED;
			nexthdr = ext[0];
			off += ((__u32)ext[1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (weir_load(c, off, ext, 2) < 0)
				return WEIR_PARSE_MALFORMED;
			nexthdr = ext[0];
			off += ((__u32)ext[1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT: {
			__u16 frag_off;

			if (weir_load(c, off, ext, 8) < 0)
				return WEIR_PARSE_MALFORMED;
			nexthdr = ext[0];
			off += 8;
			frag_off = ((__u16)ext[2] << 8) | ext[3];
			if (frag_off & 0xfff9) { /* offset bits or M: part of a fragmented packet */
				__builtin_memcpy(&pkt->frag_id, &ext[4], 4);
				pkt->frag = (frag_off & 0xfff8) ? WEIR_FRAG_LATER : WEIR_FRAG_FIRST;
			}
			/* A later fragment: no L4 header follows. */
			if (pkt->frag == WEIR_FRAG_LATER) {
				pkt->protocol = nexthdr;
				return WEIR_PARSE_OK;
			}
			break;
		}
		default: pkt->protocol = nexthdr; return weir_parse_l4(c, off, pkt);
		}
	}
	/* More extension headers than we walk: refuse rather than guess the protocol. */
	return WEIR_PARSE_MALFORMED;
}

static __always_inline int weir_parse(const struct weir_cursor *c, struct weir_pkt *pkt)
{
	struct ethhdr eth;

	pkt->len = c->skb->len;
	if (weir_load(c, 0, &eth, sizeof(eth)) < 0)
		return WEIR_PARSE_MALFORMED;
	__builtin_memcpy(pkt->eth_src, eth.h_source, ETH_ALEN);
	/* A tag the device (or the sender's offload) moved into skb metadata is a VLAN frame too. */
	if (c->skb->vlan_present)
		return WEIR_PARSE_L2_REFUSED;
	switch (eth.h_proto) {
	case bpf_htons(ETH_P_IP): return weir_parse_ipv4(c, pkt);
	case bpf_htons(ETH_P_IPV6): return weir_parse_ipv6(c, pkt);
	case bpf_htons(ETH_P_ARP): return WEIR_PARSE_ARP;
	default:
		/* 802.1Q/802.1ad tags, LLC, and every other ethertype. */
		return WEIR_PARSE_L2_REFUSED;
	}
}

static __always_inline struct weir_cursor weir_cursor_of(struct __sk_buff *skb)
{
	struct weir_cursor c = {
		.skb = skb,
		.data = (void *)(long)skb->data,
		.end = (void *)(long)skb->data_end,
	};
	return c;
}

#endif /* WEIR_PARSE_H */
