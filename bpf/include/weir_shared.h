/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ONE owning header for every struct the BPF programs share with TypeScript
 * (agent/src/datapath/codec.ts mirrors it; codec.test.ts checks the mirror against the
 * object's BTF, so a field moved here without moving it there fails the build's tests).
 *
 * Rules for this file: fixed-width types only, every padding byte spelled out as a named
 * field (the BTF then shows the whole layout), no pointers, no bitfields.
 * Byte order: addresses and the ports inside map KEYS are in network order (they are
 * compared bit by bit by the LPM trie or hashed as packet bytes); every other integer is
 * host order (little-endian on the machines we run on).
 */
#ifndef WEIR_SHARED_H
#define WEIR_SHARED_H

#include <linux/types.h>

/* ---- layout version: pinned maps outlive the agent that created them ----
 * Bump WEIR_LAYOUT_VERSION with ANY change to the key or value of a pinned map (struct, size,
 * max_entries, type). The agent keeps the version in the pinned weir_meta map; an agent that
 * finds pins of another version replaces them without an enforcement gap
 * (agent/src/datapath/layout.ts), carrying conntrack and endpoint configs over only when their
 * layout is unchanged since the pins' version (CARRY_OVER there: raise its entry when you
 * change weir_ct_key/weir_ct_value or weir_endpoint_config). Mirrored in
 * agent/src/datapath/constants.ts (LAYOUT_VERSION), compared by constants.test.ts. */
#define WEIR_LAYOUT_VERSION 1

struct weir_meta {
	__u32 layout_version; /* WEIR_LAYOUT_VERSION of the agent that created the pins */
	__u32 reserved;	      /* zero */
};

/* ---- identities (agent/src/datapath/desired.ts) ----
 * Pod and ipBlock identities are allocated in [256, WEIR_NAMESPACE_CLASS_BIT). Two identity
 * CLASSES let a wide peer cost one policy entry instead of one per pod identity: a namespace
 * class (WEIR_NAMESPACE_CLASS_BIT | n: every pod of one namespace) and WEIR_CLUSTER_IDENTITY
 * (every pod of the cluster). The ipcache gives a pod address its namespace class next to its
 * identity; a non-pod address has none, so class entries never match it. */
#define WEIR_ANY_IDENTITY 0
#define WEIR_WORLD_IDENTITY 1
#define WEIR_CLUSTER_IDENTITY 2
#define WEIR_NAMESPACE_CLASS_BIT 0x80000000U

/* ---- enums shared with TypeScript: values are part of the layout ---- */
enum weir_direction {
	WEIR_DIR_INGRESS = 0, /* into the pod: tc ingress of the pod's interface */
	WEIR_DIR_EGRESS = 1,  /* out of the pod: tc egress of the pod's interface */
};

enum weir_tier {
	WEIR_TIER_ADMIN = 0,
	WEIR_TIER_NETWORK = 1,
	WEIR_TIER_BASELINE = 2,
};

/* Numeric order IS the tie-break order at equal precedence: deny > pass > allow. */
enum weir_verdict {
	WEIR_VERDICT_NONE = 0,
	WEIR_VERDICT_ALLOW = 1,
	WEIR_VERDICT_PASS = 2,
	WEIR_VERDICT_DENY = 3,
	/* Flow events only, never a policy value: an audit endpoint's policy drop that was let
	 * through (WEIR_EP_AUDIT); the event's reason says which drop it would have been. */
	WEIR_VERDICT_AUDIT_DENY = 4,
	/* Flow events only: a new flow the enforced policy drops but enforcing the endpoint's audit
	 * policies would allow (WEIR_EP_AUDIT_POLICIES); rule, tier and reason are the audit verdict's. */
	WEIR_VERDICT_AUDIT_ALLOW = 5,
};

/* Why a packet got its fate; indexes the counters and is carried in flow events. */
enum weir_reason {
	WEIR_REASON_CT_ESTABLISHED = 0, /* conntrack hit, same direction as the opener */
	WEIR_REASON_CT_REPLY = 1,	/* conntrack hit, reply direction */
	WEIR_REASON_POLICY_ALLOW = 2,	/* new flow allowed by a rule (rule_id set) */
	WEIR_REASON_DEFAULT_ALLOW = 3,	/* new flow, nothing matched, endpoint not isolated */
	WEIR_REASON_L2_PASS = 4,	/* ARP, IPv6 ND/MLD, other non-IP ethertypes */
	WEIR_REASON_POLICY_DENY = 5,	/* drop: a deny rule decided (rule_id set) */
	WEIR_REASON_DEFAULT_DENY = 6,	/* drop: isolated in this direction, no rule allowed it */
	WEIR_REASON_REVOKED = 7,	/* drop: established flow no longer allowed after a policy change */
	WEIR_REASON_MALFORMED = 8,	/* drop: headers truncated or unparseable */
	WEIR_REASON_NO_ENDPOINT = 9,	/* drop: program attached but endpoint config missing (fail closed) */
	WEIR_REASON_EVENTS_LOST = 10,	/* not a packet fate: ring buffer reserve failed */
	WEIR_REASON_REDIRECT_IFB = 11,	/* allowed ingress packet handed to the ingress-shaping IFB */
	WEIR_REASON_SPOOFED = 12,	/* drop: egress source MAC/IP (or ARP/ND sender) is not the endpoint's own */
	WEIR_REASON_CT_QUOTA = 13,	/* drop: new flow while the endpoint holds its quota of conntrack entries */
	WEIR_REASON_L2_REFUSED = 14,	/* drop: VLAN tag or an ethertype other than IPv4/IPv6/ARP */
	WEIR_REASON_EVENTS_SUPPRESSED = 15, /* not a packet fate: flow event over the endpoint's event budget */
	WEIR_REASON_CT_RELATED = 16,	    /* ICMP error quoting a tracked flow of the endpoint */
	WEIR_REASON_AUDIT_ALLOWED =
		17, /* new flow policy would drop, passed because the endpoint audits (WEIR_EP_AUDIT) */
	WEIR_REASON_NODE_ALLOWED =
		18, /* to/from the node's own address over a link a later plugin added (bpf/include/nodeaddr.h) */
	WEIR_REASON_MAX = 19,
};

/* Tier carried in events and results when no rule decided (default allow/deny, conntrack). */
#define WEIR_TIER_NONE 0xff

/* Endpoint ids index arrays (config, counters): the agent allocates them in 1..WEIR_MAX_ENDPOINTS-1. */
#define WEIR_MAX_ENDPOINTS 1024
/* Policy entries one endpoint may hold at most (the agent's quota is at or below it). */
#define WEIR_POLICY_MAX_PER_ENDPOINT 65536
/* Counter slots per endpoint (>= WEIR_REASON_MAX, a power of two). */
#define WEIR_REASON_SLOTS 32

/* Rule id carried when no rule decided (default allow/deny, conntrack, L2). */
#define WEIR_RULE_NONE 0xffffffffU

/* ---- ipcache: node-global LPM trie, address/prefix -> identity ----
 * IPv4 is stored IPv4-mapped (::ffff:a.b.c.d, prefixlen 96 + n) so one trie serves both
 * families and an IPv4 /0 never covers IPv6 addresses. */
struct weir_ipcache_key {
	__u32 prefixlen; /* bits of addr that must match, 0..128 */
	__u8 addr[16];	 /* network order */
};

struct weir_ipcache_value {
	__u32 identity;
	__u32 namespace_class; /* pod addresses: WEIR_NAMESPACE_CLASS_BIT | n of the pod's namespace; else 0 */
};

/* ---- policy: node-global LPM trie, one slice per endpoint ----
 * The fixed part (endpoint, remote identity, tier, direction) is always fully matched; then
 * protocol (wildcarded only with the port), then the destination port's leading bits, so a
 * port range is a handful of masked prefixes. Identity cannot be wildcarded by LPM, so each
 * tier is looked up once per identity the remote has: its exact identity, and for a pod its
 * namespace class and WEIR_CLUSTER_IDENTITY, then WEIR_ANY_IDENTITY (each skipped when the
 * endpoint config says that slice is empty). */
struct weir_policy_key {
	__u32 prefixlen;   /* WEIR_POLICY_FIXED_BITS [+ 8 protocol [+ port prefix bits]] */
	__u32 endpoint_id; /* host order; always matched in full, so byte order is irrelevant */
	__u32 identity;	   /* remote identity, host order */
	__u8 tier;	   /* enum weir_tier */
	__u8 direction;	   /* enum weir_direction */
	__u8 reserved;	   /* enum weir_policy_keyspace; inside the fixed part */
	__u8 protocol;	   /* IANA number; 0 only when wildcarded */
	__be16 dport;	   /* network order: LPM compares most significant bits first */
	__u16 pad;	   /* never inside the prefix */
};

/* Keyspaces of the policy trie (weir_policy_key.reserved). Audit policies (annotation
 * weir.dev/enforcement: audit on the policy object) are compiled into their own keyspace, which
 * only the "what if every audit policy were enforced" evaluation of a new flow looks up
 * (WEIR_EP_AUDIT_POLICIES): the enforced evaluation never sees them. Each keyspace is folded on
 * its own (agent/src/policy/fold.ts), so the best of one lookup per keyspace is the union's verdict.
 * An audit NetworkPolicy's isolation is one entry per isolated direction in the AUDIT_ISOLATION
 * keyspace (network tier, WEIR_ANY_IDENTITY, protocol wildcarded) whose rule names the policy. */
enum weir_policy_keyspace {
	WEIR_POLICY_ENFORCED = 0,
	WEIR_POLICY_AUDIT = 1,
	WEIR_POLICY_AUDIT_ISOLATION = 2,
};

#define WEIR_POLICY_FIXED_BITS 88 /* endpoint_id + identity + tier + direction + reserved */
#define WEIR_POLICY_FULL_BITS (WEIR_POLICY_FIXED_BITS + 8 + 16)

struct weir_policy_value {
	__u32 precedence; /* higher wins inside a tier */
	__u32 rule_id;	  /* index into DesiredNodeState.rules */
	__u8 verdict;	  /* enum weir_verdict */
	__u8 pad[3];
};

/* ---- conntrack: node-global LRU hash ----
 * Normalised so both directions of a flow find one entry with one lookup: (addr_a, port_a)
 * is the lexicographically smaller endpoint of the tuple. The endpoint id is part of the key:
 * two pods on one node each track (and evaluate policy for) their own side of a flow. */
struct weir_ct_key {
	__u32 endpoint_id;
	__u8 addr_a[16]; /* network order, IPv4-mapped for IPv4 */
	__u8 addr_b[16];
	__be16 port_a; /* ICMP echo: the echo identifier on both sides */
	__be16 port_b;
	__u8 protocol;
	__u8 pad[3];
};

enum weir_ct_flag {
	WEIR_CT_SEEN_REPLY = 1 << 0,
	WEIR_CT_FIN_A = 1 << 1,
	WEIR_CT_FIN_B = 1 << 2,
	WEIR_CT_RST = 1 << 3,
	/* Revocation marker: the flow was dropped as revoked; until the entry expires every packet
	 * of it is dropped (only a fresh TCP SYN is judged again), so a mid-stream packet cannot
	 * re-open it as a "new" flow. */
	WEIR_CT_REVOKED = 1 << 4,
};

struct weir_ct_value {
	__u64 expires_ns; /* bpf_ktime_get_coarse_ns() deadline; past it the entry counts as a miss */
	__u32 generation; /* endpoint policy generation the flow was last allowed under */
	__u32 rule_id;	  /* rule that allowed it (WEIR_RULE_NONE for default allow) */
	__u8 opener_is_a; /* 1 when the first packet came from (addr_a, port_a) */
	__u8 direction;	  /* enum weir_direction of the first packet */
	__u8 flags;	  /* enum weir_ct_flag */
	__u8 pad;
	__u32 remote_identity; /* identity of the peer when the flow was opened */
};

/* ---- fragments: node-global LRU hash, first fragment's ports for the later ones ----
 * Keyed like the datagram's reassembly (addresses, protocol, IP id) plus the endpoint. */
struct weir_frag_key {
	__u32 endpoint_id;
	__u32 id;	/* IPv4 identification (zero-extended) or IPv6 fragment id, as in the packet */
	__u8 saddr[16]; /* network order, IPv4-mapped for IPv4 */
	__u8 daddr[16];
	__u8 protocol;
	__u8 pad[3];
};

struct weir_frag_value {
	__u64 expires_ns; /* bpf_ktime_get_coarse_ns() deadline */
	__be16 sport;
	__be16 dport;
	__u32 pad;
};

/* ---- endpoint config: array indexed by endpoint id -> how to treat that endpoint ----
 * An array, not a hash: the lookup is a bounds check plus an address computation (the
 * established-flow path pays for it on every packet). A slot without WEIR_EP_CONFIGURED is
 * an unknown endpoint and all its traffic is dropped.
 * The endpoint's own MAC and addresses (from the CNI ADD result) are the only sources its
 * egress may use (anti-spoofing); with addr_count 0 it may send no IP packet at all. */
enum weir_endpoint_flag {
	WEIR_EP_ISOLATED_INGRESS = 1 << 0,
	WEIR_EP_ISOLATED_EGRESS = 1 << 1,
	WEIR_EP_EVENTS_INGRESS = 1 << 2, /* emit new-flow verdict events, ingress */
	WEIR_EP_EVENTS_EGRESS = 1 << 3,
	WEIR_EP_CONFIGURED = 1 << 4, /* slot in use; cleared (zeroed) on detach */
	WEIR_EP_MAC_KNOWN = 1 << 17, /* mac is set: egress source MAC and ARP/ND sender MAC are checked */
	/* Audit mode (namespace annotation weir.dev/enforcement: audit): a policy-deny or
	 * default-deny verdict passes the flow (tracked like an allowed one) and emits a flow event
	 * of verdict WEIR_VERDICT_AUDIT_DENY. Every other drop (spoofing, malformed, L2, quota,
	 * no endpoint) still drops. */
	WEIR_EP_AUDIT = 1 << 18,
	/* The endpoint's policy holds audit entries (WEIR_POLICY_AUDIT / _AUDIT_ISOLATION): a new flow
	 * is also judged as if every audit policy were enforced, and a different verdict emits an
	 * AUDIT_DENY ("would drop") or AUDIT_ALLOW ("would allow") event. Established flows are not. */
	WEIR_EP_AUDIT_POLICIES = 0x80000000U, /* bit 31 */
};

/* Lookup skips: the agent knows which (tier, direction) slices of the endpoint's policy hold
 * entries keyed by an exact identity, a namespace class, WEIR_CLUSTER_IDENTITY and
 * WEIR_ANY_IDENTITY; a set bit says "this slice has none, skip the trie lookup". Most endpoints
 * have network-tier entries only, so a new flow costs one or two trie lookups instead of
 * twelve. A zero bit only costs a lookup that misses, so an all-zero config stays correct.
 * Bit = SHIFT + tier * 2 + direction (enum weir_tier, enum weir_direction): 6 bits per kind,
 * exact 5..10, any 11..16, namespace 19..24, cluster 25..30 (17, 18, 31 are flags above). */
#define WEIR_EP_NO_EXACT_SHIFT 5
#define WEIR_EP_NO_ANY_SHIFT 11
#define WEIR_EP_NO_NAMESPACE_SHIFT 19
#define WEIR_EP_NO_CLUSTER_SHIFT 25
#define WEIR_EP_NO_EXACT(tier, dir) (1U << (WEIR_EP_NO_EXACT_SHIFT + (tier)*2 + (dir)))
#define WEIR_EP_NO_ANY(tier, dir) (1U << (WEIR_EP_NO_ANY_SHIFT + (tier)*2 + (dir)))
#define WEIR_EP_NO_NAMESPACE(tier, dir) (1U << (WEIR_EP_NO_NAMESPACE_SHIFT + (tier)*2 + (dir)))
#define WEIR_EP_NO_CLUSTER(tier, dir) (1U << (WEIR_EP_NO_CLUSTER_SHIFT + (tier)*2 + (dir)))

#define WEIR_EP_MAX_ADDRS 4

struct weir_endpoint_config {
	__u32 generation;  /* bumped by the agent on every policy change for this endpoint */
	__u32 ifb_ifindex; /* 0 = no ingress shaping; else allowed ingress is redirected here */
	__u32 flags;	   /* enum weir_endpoint_flag | WEIR_EP_NO_EXACT/NO_ANY bits */
	__u32 ct_quota;	   /* live conntrack entries the endpoint may hold; 0 = WEIR_CT_DEFAULT_QUOTA */
	__u8 mac[6];	   /* the endpoint's own MAC (valid with WEIR_EP_MAC_KNOWN) */
	__u8 addr_count;   /* addrs in use, 0..WEIR_EP_MAX_ADDRS */
	__u8 shaping;	   /* enum weir_shaping_flag (was padding: 0 = the programs leave skb->priority alone) */
	__u8 addrs[WEIR_EP_MAX_ADDRS][16]; /* own addresses, network order, IPv4-mapped */
};

/* ---- per-endpoint datapath state the programs write (never the agent, except the sweep) ---- */
/* Live conntrack entries of an endpoint: ARRAY indexed by endpoint id. The programs add one per
 * entry they create; the agent's conntrack sweep (agent/src/datapath/sweep.ts) deletes expired
 * entries and writes the true count back, which also forgets entries the LRU evicted. */
struct weir_ct_usage {
	__u64 entries;
};

/* Flow-event budget: PERCPU_ARRAY indexed by endpoint id, a token bucket per CPU. */
struct weir_event_budget {
	__u64 last_ns; /* coarse clock at the last refill */
	__u64 tokens;  /* events that may still be emitted */
};

/* ---- counters: per-CPU array, index endpoint_id * WEIR_REASON_SLOTS + reason ---- */
struct weir_counter_value {
	__u64 packets;
	__u64 bytes;
};

/* ---- flow event: ring buffer record ---- */
struct weir_flow_event {
	__u64 timestamp_ns; /* bpf_ktime_get_ns() */
	__u32 endpoint_id;
	__u32 rule_id; /* WEIR_RULE_NONE when no rule decided */
	__u32 remote_identity;
	__u32 pkt_len;
	__u8 saddr[16]; /* network order, IPv4-mapped for IPv4 */
	__u8 daddr[16];
	__u16 sport; /* host order */
	__u16 dport;
	__u8 protocol;
	__u8 direction; /* enum weir_direction */
	__u8 verdict;	/* enum weir_verdict: ALLOW, DENY, AUDIT_DENY or AUDIT_ALLOW */
	__u8 reason;	/* enum weir_reason */
	__u8 family;	/* 4 or 6 */
	__u8 tier;	/* tier of the deciding rule; WEIR_TIER_NONE when none */
	__u8 pad[6];	/* to the 8-byte alignment of timestamp_ns */
};

/* ---- flow-fair shaping (agent/src/datapath/shaping.ts builds the HTB these name) ----
 * Root HTB WEIR_FLOW_CLASS_MAJOR:, parent class MAJOR:1 at the pod's rate, WEIR_FLOW_CLASS_LEAVES
 * leaf classes MAJOR:(BASE + STEP * i). A flow's leaf is its skb hash modulo the leaf count. Every
 * leaf minor ends in the nibble 8: if the priority survives to a prio/pfifo_fast qdisc further on,
 * it maps to the same band as priority 0, never a raised one. */
enum weir_shaping_flag {
	/* The direction's shaper is an HTB with flow classes (htb-fair): the programs set
	 * skb->priority to the flow's leaf class. */
	WEIR_SHAPE_FLOW_CLASSES_INGRESS = 1 << 0,
	WEIR_SHAPE_FLOW_CLASSES_EGRESS = 1 << 1,
};
#define WEIR_FLOW_CLASS_MAJOR 0x1
#define WEIR_FLOW_CLASS_LEAVES 32
#define WEIR_FLOW_CLASS_BASE 0x18
#define WEIR_FLOW_CLASS_STEP 0x10

#endif /* WEIR_SHARED_H */
