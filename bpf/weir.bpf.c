// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Weir's pod datapath: two tc (clsact, direct-action) programs attached to the pod's
 * interface INSIDE the pod netns. weir_ingress runs on tc ingress (traffic into the pod:
 * remote = source address), weir_egress on tc egress (traffic out of the pod: remote =
 * destination address); the policy port is always the destination port.
 *
 * One load per node: the agent attaches the same two programs to every endpoint interface (and to
 * links a later chained plugin adds to the pod, flagged WEIR_CLASSID_ADOPTED), each
 * tc filter carrying the endpoint id as its classid minor, which the program reads as
 * skb->tc_classid (only a CAP_NET_ADMIN holder in the pod netns can change a filter; the webhook
 * refuses that capability). Verifying a program costs ~200 ms of CPU, so verifying per endpoint
 * made a burst of pod starts queue for seconds. A load with `endpoint_id` set (BPF_PROG_TEST_RUN
 * suites, benchmarks: test runs cannot set tc_classid) judges as that endpoint instead. Every map
 * is pinned by name under the agent's pin root, so all loads share one ipcache, policy trie,
 * conntrack table, endpoint table, counters and ring buffer.
 *
 * Per packet: parse (ethertype from the frame) -> endpoint config (missing: fail closed) ->
 * refused/malformed frames dropped -> egress: anti-spoofing (bpf/include/antispoof.h) -> ARP/ND
 * pass -> conntrack hit? (re-check policy if the endpoint's generation moved; a revoked flow's
 * marker drops it) -> an ICMP error quoting a tracked flow passes as related
 * (bpf/include/related.h); a later IP fragment takes its first fragment's ports (frag.h) ->
 * else policy for the new flow -> conntrack create (TCP: SYN only; within
 * the endpoint's quota) -> pass (flow-fair shaping: skb->priority = the flow's HTB leaf; ingress:
 * maybe redirect to the shaping IFB). Every drop leaves
 * through the single `drop:` exit, which counts and emits the (budgeted) event. On an audit
 * endpoint (WEIR_EP_AUDIT) a new flow's policy-deny/default-deny emits an AUDIT_DENY event instead
 * and goes on as allowed (counted audit-allowed); a generation re-check there never revokes.
 * An endpoint with audit policies (WEIR_EP_AUDIT_POLICIES) also judges each new flow as if they
 * were enforced and reports a different verdict as AUDIT_DENY / AUDIT_ALLOW; established flows
 * and re-checks use the enforced policy only.
 *
 * Cost budget (bench/datapath-prog.ts): the established path is parse (direct packet access)
 * + one coarse clock read + the config array slot + (egress) the source check + one conntrack
 * lookup + one per-CPU counter, and nothing else; a new flow looks up only the policy slices
 * the endpoint config says are non-empty (WEIR_EP_NO_*), so its cost does
 * not grow with empty tiers.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "weir_shared.h"
#include "parse.h"
#include "antispoof.h"
#include "conntrack.h"
#include "related.h"
#include "frag.h"
#include "nodeaddr.h"
#include "policy.h"
#include "events.h"

/* 0: the node's shared programs (endpoint from the tc filter's classid); else a fixed endpoint
 * (bpf_object .rodata, set by the loader). */
const volatile __u32 endpoint_id = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct weir_endpoint_config);
	__uint(max_entries, WEIR_MAX_ENDPOINTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weir_endpoints SEC(".maps");

/* One slot: the layout version of the pinned maps (struct weir_meta). Written and read by the
 * agent only (agent/src/datapath/layout.ts); the programs never look at it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct weir_meta);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weir_meta SEC(".maps");

/* What the flow helpers decided. */
enum weir_fate {
	WEIR_FATE_PASS = 0,
	WEIR_FATE_DROP = 1,
	WEIR_FATE_MISS = 2, /* no live conntrack entry: judge as a new flow */
};

/* The destination port policy matches on: only protocols with ports have one. */
static __always_inline __be16 weir_policy_port(const struct weir_pkt *pkt, __be16 dport)
{
	return pkt->has_ports ? dport : 0;
}

/* Everything one packet's judgement needs, so the helpers take one pointer. */
struct weir_ctx {
	struct weir_pkt pkt;
	struct weir_decision d;
	struct weir_ct_key ct_key;
	struct weir_ct_value *ct; /* the entry for ct_key, live or not; NULL when absent */
	__u64 now;
	__u32 ep_id;
	int from_a;
};

/* Policy's verdict on a flow its opener started in direction `opener` with `remote`, except that a
 * flow the pod's own node opens toward the pod always passes: NetworkPolicy cannot block a pod's
 * resident node (kubelet probes come from it). Flows the pod opens toward the node stay policy's.
 * The node's addresses are the agent's host netns's (nodeaddr.h). */
static __always_inline void weir_judge(const struct weir_ctx *x, __u32 ep_flags, __u8 opener,
				       const union weir_addr *remote, const struct weir_ipcache_value *peer,
				       __be16 port, struct weir_policy_result *res)
{
	if (opener == WEIR_DIR_INGRESS && weir_node_addr(remote)) {
		res->verdict = WEIR_VERDICT_ALLOW;
		res->reason = WEIR_REASON_NODE_ALLOWED;
		res->rule_id = WEIR_RULE_NONE;
		res->tier = WEIR_TIER_NONE;
		return;
	}
	weir_policy_eval(x->ep_id, ep_flags, opener, peer, x->pkt.protocol, port, res, 0);
}

/* A packet of a tracked flow: pass, drop (revoked) or miss (expired, or a SYN over a marker). */
static __always_inline int weir_flow_tracked(struct weir_ctx *x, const struct weir_endpoint_config *ep,
					     const union weir_addr *remote)
{
	struct weir_ct_value *ct = x->ct;
	struct weir_policy_result res;
	struct weir_ipcache_value peer;
	int reply;

	if (!ct || !weir_ct_live(ct, x->now))
		return WEIR_FATE_MISS;
	if (ct->flags & WEIR_CT_REVOKED) {
		/* A new connection on a revoked 5-tuple is judged afresh; nothing else passes. On an
		 * audit endpoint every packet is judged afresh (policy would let it through anyway). */
		if ((x->pkt.protocol == IPPROTO_TCP && weir_ct_may_create(&x->pkt)) || (ep->flags & WEIR_EP_AUDIT))
			return WEIR_FATE_MISS;
		x->d.reason = WEIR_REASON_REVOKED;
		x->d.remote_identity = ct->remote_identity;
		return WEIR_FATE_DROP;
	}
	reply = x->from_a != ct->opener_is_a;
	if (ct->generation != ep->generation) {
		/* Policy changed since this flow was allowed: re-check it as its opener saw it
		 * (the opener's direction; a reply's source port is the opener's dport). */
		weir_remote_of(remote, &peer);
		x->d.remote_identity = peer.identity;
		weir_judge(x, ep->flags, ct->direction, remote, &peer,
			   weir_policy_port(&x->pkt, reply ? x->pkt.sport : x->pkt.dport), &res);
		/* An audit endpoint keeps the flow (it was audited when it opened); switching the
		 * endpoint to enforce moves the generation again and revokes it here. */
		if (res.verdict != WEIR_VERDICT_ALLOW && !(ep->flags & WEIR_EP_AUDIT)) {
			weir_ct_revoke(ct, x->now);
			x->d.reason = WEIR_REASON_REVOKED;
			x->d.rule_id = res.rule_id;
			x->d.tier = res.tier;
			return WEIR_FATE_DROP;
		}
		ct->generation = ep->generation;
		ct->rule_id = res.rule_id;
		ct->remote_identity = x->d.remote_identity;
	}
	weir_ct_refresh(ct, &x->pkt, x->from_a, reply, x->now);
	x->d.reason = reply ? WEIR_REASON_CT_REPLY : WEIR_REASON_CT_ESTABLISHED;
	return WEIR_FATE_PASS;
}

/* Audit policies (WEIR_EP_AUDIT_POLICIES): the new flow judged as if every audit policy were
 * enforced (bpf/include/policy.h weir_whatif_eval, a global function the verifier checks once on
 * its own). Where that differs from the enforced verdict, an AUDIT_DENY ("would drop") or
 * AUDIT_ALLOW ("would allow") event names the audit verdict's rule; the packet's fate is the
 * enforced verdict's. */
static __always_inline void weir_audit_policies(struct weir_ctx *x, __u32 ep_flags, __u8 direction,
						const struct weir_ipcache_value *peer, __u8 enforced)
{
	struct weir_decision d = x->d;
	__u64 r = weir_whatif_eval(x->ep_id, ep_flags, peer->identity, peer->namespace_class,
				   direction | ((__u64)x->pkt.protocol << 8) |
					   ((__u64)weir_policy_port(&x->pkt, x->pkt.dport) << 16));
	__u8 verdict = r & 0xff;

	if ((verdict == WEIR_VERDICT_ALLOW) == (enforced == WEIR_VERDICT_ALLOW))
		return;
	d.verdict = verdict == WEIR_VERDICT_ALLOW ? WEIR_VERDICT_AUDIT_ALLOW : WEIR_VERDICT_AUDIT_DENY;
	d.reason = (r >> 8) & 0xff;
	d.tier = (r >> 16) & 0xff;
	d.rule_id = r >> 32;
	weir_emit(x->ep_id, &x->pkt, &d);
}

/* The first packet of a flow (or one of an untracked mid-stream TCP flow): policy decides. */
static __always_inline int weir_flow_new(struct weir_ctx *x, const struct weir_endpoint_config *ep,
					 const union weir_addr *remote, const __u8 direction)
{
	struct weir_policy_result res;
	struct weir_ipcache_value peer;

	weir_remote_of(remote, &peer);
	x->d.remote_identity = peer.identity;
	weir_judge(x, ep->flags, direction, remote, &peer, weir_policy_port(&x->pkt, x->pkt.dport), &res);
	x->d.rule_id = res.rule_id;
	x->d.tier = res.tier;
	x->d.reason = res.reason;
	if ((ep->flags & WEIR_EP_AUDIT_POLICIES) && res.reason != WEIR_REASON_NODE_ALLOWED)
		weir_audit_policies(x, ep->flags, direction, &peer, res.verdict);
	if (res.verdict != WEIR_VERDICT_ALLOW) {
		if (!(ep->flags & WEIR_EP_AUDIT))
			return WEIR_FATE_DROP;
		/* Audit: the event says what enforcing would have done (reason, rule, tier); the
		 * packet is counted as audit-allowed and the flow tracked like an allowed one. */
		x->d.verdict = WEIR_VERDICT_AUDIT_DENY;
		weir_emit(x->ep_id, &x->pkt, &x->d);
		x->d.reason = WEIR_REASON_AUDIT_ALLOWED;
	}
	/* Mid-stream TCP of an unknown flow passes on its own verdict but tracks nothing. */
	if (!weir_ct_may_create(&x->pkt))
		return WEIR_FATE_PASS;
	if (!weir_ct_charge(x->ep_id, ep->ct_quota, x->ct != NULL)) {
		x->d.reason = WEIR_REASON_CT_QUOTA;
		return WEIR_FATE_DROP;
	}
	weir_ct_create(&x->ct_key, &x->pkt, x->from_a, direction, ep->generation, res.rule_id, x->d.remote_identity,
		       x->now);
	if (res.verdict == WEIR_VERDICT_ALLOW &&
	    (ep->flags & (direction == WEIR_DIR_INGRESS ? WEIR_EP_EVENTS_INGRESS : WEIR_EP_EVENTS_EGRESS))) {
		x->d.verdict = WEIR_VERDICT_ALLOW;
		weir_emit(x->ep_id, &x->pkt, &x->d);
	}
	return WEIR_FATE_PASS;
}

/* Flow-fair shaping: the HTB leaf of this packet's flow, by skb hash (a socket's txhash on egress,
 * the flow dissector's hash otherwise), so a small flow never queues behind a bulk one. Only on
 * endpoints whose shaper is the HTB (the priority is meaningless, and left alone, elsewhere). */
static __always_inline void weir_flow_class(struct __sk_buff *skb, const struct weir_endpoint_config *ep,
					    const __u8 direction)
{
	__u8 flag = direction == WEIR_DIR_INGRESS ? WEIR_SHAPE_FLOW_CLASSES_INGRESS : WEIR_SHAPE_FLOW_CLASSES_EGRESS;
	__u32 leaf;

	if (!(ep->shaping & flag))
		return;
	leaf = bpf_get_hash_recalc(skb) % WEIR_FLOW_CLASS_LEAVES;
	skb->priority = (WEIR_FLOW_CLASS_MAJOR << 16) | (WEIR_FLOW_CLASS_BASE + WEIR_FLOW_CLASS_STEP * leaf);
}

/* Before any flow state: the endpoint has a config, the frame is one Weir passes on, and (egress)
 * it leaves from the endpoint's own MAC and addresses. Returns the drop reason, or 0. */
static __always_inline __u8 weir_frame_refused(const struct weir_cursor *c, const struct weir_endpoint_config *ep,
					       const struct weir_pkt *pkt, const int kind, const __u8 direction,
					       const int adopted)
{
	if (!ep || !(ep->flags & WEIR_EP_CONFIGURED))
		return WEIR_REASON_NO_ENDPOINT;
	if (kind == WEIR_PARSE_MALFORMED)
		return WEIR_REASON_MALFORMED;
	if (kind == WEIR_PARSE_L2_REFUSED)
		return WEIR_REASON_L2_REFUSED;
	if (direction == WEIR_DIR_EGRESS)
		return weir_check_source(c, ep, pkt, kind, adopted);
	return 0;
}

/* An IP packet's fate: its tracked flow's (weir_flow_tracked), a tracked flow's it quotes as an
 * ICMP error, or policy's as a new flow (weir_flow_new). Never WEIR_FATE_MISS. */
static __always_inline int weir_flow_fate(struct __sk_buff *skb, struct weir_ctx *x,
					  const struct weir_endpoint_config *ep, const union weir_addr *remote,
					  const __u8 direction)
{
	int fate;

	/* Coarse clock (tick resolution) is enough for second-scale lifetimes and much cheaper. */
	x->now = bpf_ktime_get_coarse_ns();
	if (x->pkt.frag == WEIR_FRAG_LATER)
		weir_frag_ports(x->ep_id, &x->pkt, x->now);
	x->from_a = weir_ct_key_build(x->ep_id, &x->pkt, &x->ct_key);
	x->ct = weir_ct_lookup(&x->ct_key);
	fate = weir_flow_tracked(x, ep, remote);
	if (fate == WEIR_FATE_MISS && x->pkt.icmp_error && weir_icmp_related(skb, x->ep_id, &x->pkt, x->now)) {
		x->d.reason = WEIR_REASON_CT_RELATED;
		fate = WEIR_FATE_PASS;
	}
	if (fate == WEIR_FATE_MISS)
		fate = weir_flow_new(x, ep, remote, direction);
	if (fate == WEIR_FATE_PASS && x->pkt.frag == WEIR_FRAG_FIRST)
		weir_frag_remember(x->ep_id, &x->pkt, x->now);
	return fate;
}

/* A passing IP packet: counted, given its flow's HTB leaf, and on ingress maybe handed to the
 * shaping IFB, whose root qdisc (TBF, or HTB with flow classes) paces; the IFB re-injects into
 * this device with classification skipped, so the packet is not evaluated twice. */
static __always_inline int weir_pass(struct __sk_buff *skb, const struct weir_ctx *x,
				     const struct weir_endpoint_config *ep, const __u8 direction)
{
	weir_count(x->ep_id, x->d.reason, x->pkt.len);
	weir_flow_class(skb, ep, direction);
	if (direction == WEIR_DIR_INGRESS && ep->ifb_ifindex != 0) {
		weir_count(x->ep_id, WEIR_REASON_REDIRECT_IFB, x->pkt.len);
		return bpf_redirect(ep->ifb_ifindex, 0);
	}
	return TC_ACT_OK;
}

static __always_inline int weir_handle(struct __sk_buff *skb, const __u8 direction)
{
	/* tc_classid is the filter classid's 16-bit minor: the endpoint id, plus WEIR_CLASSID_ADOPTED
	 * on a link a later plugin added (antispoof.h). Ids above WEIR_MAX_ENDPOINTS find no config. */
	const __u32 classid = skb->tc_classid;
	const int adopted = endpoint_id == 0 && (classid & WEIR_CLASSID_ADOPTED);
	struct weir_ctx x = {
		.ep_id = endpoint_id != 0 ? endpoint_id : classid & ~WEIR_CLASSID_ADOPTED,
		.d = { .rule_id = WEIR_RULE_NONE, .tier = WEIR_TIER_NONE, .direction = direction },
	};
	const struct weir_cursor c = weir_cursor_of(skb);
	struct weir_endpoint_config *ep;
	const union weir_addr *remote;
	int kind;

	kind = weir_parse(&c, &x.pkt);
	ep = bpf_map_lookup_elem(&weir_endpoints, &x.ep_id);
	x.d.reason = weir_frame_refused(&c, ep, &x.pkt, kind, direction, adopted);
	/* !ep: refused already; said again here, where the verifier tracks ep's NULL check. */
	if (x.d.reason != 0 || !ep)
		goto drop;
	if (kind != WEIR_PARSE_OK) {
		weir_count(x.ep_id, WEIR_REASON_L2_PASS, x.pkt.len);
		weir_flow_class(skb, ep, direction);
		return TC_ACT_OK;
	}

	remote = direction == WEIR_DIR_INGRESS ? &x.pkt.saddr : &x.pkt.daddr;
	/* The pod and its own node always talk (NetworkPolicy's rule), over the link meant for it. */
	if (adopted && weir_node_addr(remote)) {
		weir_count(x.ep_id, WEIR_REASON_NODE_ALLOWED, x.pkt.len);
		return TC_ACT_OK;
	}
	if (weir_flow_fate(skb, &x, ep, remote, direction) == WEIR_FATE_DROP)
		goto drop;
	return weir_pass(skb, &x, ep, direction);

drop:
	weir_count(x.ep_id, x.d.reason, x.pkt.len);
	x.d.verdict = WEIR_VERDICT_DENY;
	weir_emit(x.ep_id, &x.pkt, &x.d);
	return TC_ACT_SHOT;
}

SEC("tc")
int weir_ingress(struct __sk_buff *skb)
{
	return weir_handle(skb, WEIR_DIR_INGRESS);
}

SEC("tc")
int weir_egress(struct __sk_buff *skb)
{
	return weir_handle(skb, WEIR_DIR_EGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
