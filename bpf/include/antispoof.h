/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Anti-spoofing on egress (traffic leaving the pod). A peer's identity is its source address,
 * so a pod that could send from another pod's address (or answer ARP/ND for it) would borrow
 * that pod's policy. Every frame the pod sends must carry:
 *   - the endpoint's own source MAC (when the agent knows it: WEIR_EP_MAC_KNOWN);
 *   - IP: one of the endpoint's own addresses as source (the CNI ADD result's IPs);
 *   - ARP: its own sender MAC and sender IP (0.0.0.0 allowed: RFC 5227 probes);
 *   - ND/MLD: an own, link-local or unspecified (DAD) source, own MAC in any source/target
 *     link-layer address option, an own or link-local NA target; router advertisements and
 *     redirects are never sent by a pod.
 * Link-local sources are accepted for ND/MLD without tying them to the MAC: the kernel may derive
 * them by EUI-64 or stable-privacy. For any other IPv6 traffic a link-local source passes only when
 * it is the EUI-64 address of the endpoint's own MAC (it cannot name another pod: the MAC is
 * checked too). Addresses the CNI result did not list (SLAAC, privacy, stable-privacy link-local)
 * stay refused: Weir cannot tell them from a neighbour's.
 *
 * Links a later chained plugin added to the pod (Spiderpool coordinator's veth0) run the same
 * programs with WEIR_CLASSID_ADOPTED set in the filter's classid: they have their own MAC, which
 * the CNI result never named, so only their IP sources (and ARP/ND sender IPs) are checked there.
 */
#ifndef WEIR_ANTISPOOF_H
#define WEIR_ANTISPOOF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "weir_shared.h"
#include "parse.h"

/* tc filter classid bit: the link was adopted (not the CNI attachment's own interface). The rest
 * of the 16-bit minor is the endpoint id (< WEIR_MAX_ENDPOINTS). */
#define WEIR_CLASSID_ADOPTED 0x8000
_Static_assert(WEIR_MAX_ENDPOINTS <= WEIR_CLASSID_ADOPTED, "endpoint ids must stay below the adopted-link classid bit");

/* ND option walk bound: NS/NA/RS carry one or two options in practice. */
#define WEIR_ND_MAX_OPTS 4

static __always_inline int weir_mac_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] && a[5] == b[5];
}

/* 1 when addr (16 bytes, IPv4-mapped for IPv4) is one of the endpoint's own addresses. */
static __always_inline int weir_own_addr(const struct weir_endpoint_config *ep, const union weir_addr *addr)
{
	__u32 n = ep->addr_count;

#pragma unroll
	for (int i = 0; i < WEIR_EP_MAX_ADDRS; i++) {
		const __u64 *own = (const __u64 *)ep->addrs[i];

		if (i < n && own[0] == addr->q[0] && own[1] == addr->q[1])
			return 1;
	}
	return 0;
}

/* check_mac: the endpoint's MAC is known and this link is its own (weir_check_source). */
static __always_inline int weir_own_mac(const struct weir_endpoint_config *ep, const __u8 *mac, int check_mac)
{
	return !check_mac || weir_mac_eq(ep->mac, mac);
}

static __always_inline int weir_link_local(const union weir_addr *a)
{
	return a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80;
}

/* fe80::/64 with the modified EUI-64 interface id of the endpoint's MAC (RFC 4291 appendix A). */
static __always_inline int weir_eui64_link_local(const struct weir_endpoint_config *ep, const union weir_addr *a)
{
	const __u8 *m = ep->mac;

	return a->b[0] == 0xfe && a->b[1] == 0x80 && a->b[2] == 0 && a->b[3] == 0 && a->b[4] == 0 && a->b[5] == 0 &&
	       a->b[6] == 0 && a->b[7] == 0 && a->b[8] == (m[0] ^ 0x02) && a->b[9] == m[1] && a->b[10] == m[2] &&
	       a->b[11] == 0xff && a->b[12] == 0xfe && a->b[13] == m[3] && a->b[14] == m[4] && a->b[15] == m[5];
}

static __always_inline int weir_unspecified(const union weir_addr *a)
{
	return a->q[0] == 0 && a->q[1] == 0;
}

/* ARP (Ethernet/IPv4 only): sender MAC and sender IP must be the endpoint's own. */
static __always_inline int weir_check_arp(const struct weir_cursor *c, const struct weir_endpoint_config *ep,
					  int check_mac)
{
	/* htype, ptype, hlen, plen, op, sha[6], spa[4] */
	__u8 arp[18];
	union weir_addr spa;

	if (weir_load(c, ETH_HLEN, arp, sizeof(arp)) < 0)
		return WEIR_REASON_MALFORMED;
	if (arp[0] != 0 || arp[1] != 1 || arp[2] != 0x08 || arp[3] != 0x00 || arp[4] != 6 || arp[5] != 4)
		return WEIR_REASON_L2_REFUSED;
	if (!weir_own_mac(ep, &arp[8], check_mac))
		return WEIR_REASON_SPOOFED;
	__be32 ip;
	__builtin_memcpy(&ip, &arp[14], 4);
	if (ip == 0)
		return 0;
	weir_map_v4(&spa, ip);
	return weir_own_addr(ep, &spa) ? 0 : WEIR_REASON_SPOOFED;
}

/* Every source/target link-layer address option from off on must name the endpoint's MAC. */
static __always_inline int weir_check_nd_opts(const struct weir_cursor *c, const struct weir_endpoint_config *ep,
					      __u32 off, int check_mac)
{
#pragma unroll
	for (int i = 0; i < WEIR_ND_MAX_OPTS; i++) {
		__u8 opt[8];

		if (off >= c->skb->len)
			return 0;
		/* The helper, not direct access: ND is rare, and a variable offset into the packet
		 * is what the verifier tracks worst. */
		if (bpf_skb_load_bytes(c->skb, off, opt, sizeof(opt)) < 0)
			return WEIR_REASON_MALFORMED;
		if (opt[1] == 0)
			return WEIR_REASON_MALFORMED; /* RFC 4861: a zero-length option is invalid */
		if ((opt[0] == 1 || opt[0] == 2) && !weir_own_mac(ep, &opt[2], check_mac))
			return WEIR_REASON_SPOOFED;
		off += (__u32)opt[1] * 8;
	}
	/* More options than walked: refuse rather than let a later one go unchecked. */
	return off >= c->skb->len ? 0 : WEIR_REASON_SPOOFED;
}

static __always_inline int weir_check_nd(const struct weir_cursor *c, const struct weir_endpoint_config *ep,
					 const struct weir_pkt *pkt, int check_mac)
{
	__u8 type = pkt->icmp_type;
	int own = weir_own_addr(ep, &pkt->saddr) || weir_link_local(&pkt->saddr);

	switch (type) {
	case 134: /* router advertisement */
	case 137: /* redirect */ return WEIR_REASON_SPOOFED;
	case 136: { /* neighbour advertisement: the target is the address being claimed */
		union weir_addr target;

		if (!own)
			return WEIR_REASON_SPOOFED;
		if (bpf_skb_load_bytes(c->skb, pkt->l4_off + 8, target.b, 16) < 0)
			return WEIR_REASON_MALFORMED;
		if (!weir_own_addr(ep, &target) && !weir_link_local(&target))
			return WEIR_REASON_SPOOFED;
		return weir_check_nd_opts(c, ep, pkt->l4_off + 24, check_mac);
	}
	case 135: /* neighbour solicitation (from :: during duplicate address detection) */
		if (!own && !weir_unspecified(&pkt->saddr))
			return WEIR_REASON_SPOOFED;
		return weir_check_nd_opts(c, ep, pkt->l4_off + 24, check_mac);
	case 133: /* router solicitation */
		if (!own && !weir_unspecified(&pkt->saddr))
			return WEIR_REASON_SPOOFED;
		return weir_check_nd_opts(c, ep, pkt->l4_off + 8, check_mac);
	default: /* MLD queries and reports */ return own || weir_unspecified(&pkt->saddr) ? 0 : WEIR_REASON_SPOOFED;
	}
}

/* Egress: 0 when the frame's sources are the endpoint's own, else the drop reason. adopted: the
 * filter sits on a link a later plugin added (WEIR_CLASSID_ADOPTED), whose MAC is not the endpoint's. */
static __always_inline int weir_check_source(const struct weir_cursor *c, const struct weir_endpoint_config *ep,
					     const struct weir_pkt *pkt, int kind, int adopted)
{
	int check_mac = (ep->flags & WEIR_EP_MAC_KNOWN) && !adopted;

	if (!weir_own_mac(ep, pkt->eth_src, check_mac))
		return WEIR_REASON_SPOOFED;
	if (kind == WEIR_PARSE_ARP)
		return weir_check_arp(c, ep, check_mac);
	if (kind == WEIR_PARSE_ND)
		return weir_check_nd(c, ep, pkt, check_mac);
	if (weir_own_addr(ep, &pkt->saddr))
		return 0;
	return check_mac && weir_eui64_link_local(ep, &pkt->saddr) ? 0 : WEIR_REASON_SPOOFED;
}

#endif /* WEIR_ANTISPOOF_H */
