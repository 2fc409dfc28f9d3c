// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Weir's pod datapath: two tc (clsact, direct-action) programs attached to the pod's
 * interface INSIDE the pod netns. weir_ingress runs on tc ingress (traffic into the pod:
 * remote = source address), weir_egress on tc egress (traffic out of the pod: remote =
 * destination address); the policy port is always the destination port.
 *
 * One object load per endpoint interface: `endpoint_id` is set at load time, and every map is
 * pinned by name under the agent's pin root, so all loads on a node share one ipcache, policy
 * trie, conntrack table, endpoint table, counters and ring buffer.
 *
 * Per packet: parse -> (L2 pass) -> endpoint config (missing: fail closed) -> conntrack hit?
 * (re-check policy if the endpoint's generation moved) -> else policy for the new flow ->
 * conntrack create -> pass (ingress: maybe redirect to the shaping IFB). Every drop leaves
 * through the single `drop:` exit, which counts and emits the event.
 *
 * Cost budget (bench/datapath-prog.ts): the established path is parse (direct packet access)
 * + one coarse clock read + the config array slot + one conntrack lookup + one per-CPU counter,
 * and nothing else; a new flow looks up only the policy slices the endpoint config says are
 * non-empty (WEIR_EP_NO_EXACT / WEIR_EP_NO_ANY), so its cost does not grow with empty tiers.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "weir_shared.h"
#include "parse.h"
#include "conntrack.h"
#include "policy.h"
#include "events.h"

/* Set by the loader per endpoint (bpf_object .rodata). */
const volatile __u32 endpoint_id = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct weir_endpoint_config);
	__uint(max_entries, WEIR_MAX_ENDPOINTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weir_endpoints SEC(".maps");

/* The destination port policy matches on: only protocols with ports have one. */
static __always_inline __be16 weir_policy_port(const struct weir_pkt *pkt, __be16 dport)
{
	return pkt->has_ports ? dport : 0;
}

static __always_inline int weir_handle(struct __sk_buff *skb, const __u8 direction)
{
	const __u32 ep_id = endpoint_id;
	struct weir_pkt pkt = {};
	struct weir_decision d = { .rule_id = WEIR_RULE_NONE, .tier = 0xff, .direction = direction };
	struct weir_policy_result res;
	struct weir_ct_key ct_key = {};
	struct weir_ct_value *ct;
	struct weir_endpoint_config *ep;
	const union weir_addr *remote;
	__u64 now;
	int parsed, from_a, reply;

	parsed = weir_parse(skb, &pkt);
	if (parsed == WEIR_PARSE_L2_PASS) {
		weir_count(ep_id, WEIR_REASON_L2_PASS, skb->len);
		return TC_ACT_OK;
	}
	ep = bpf_map_lookup_elem(&weir_endpoints, &ep_id);
	if (!ep || !(ep->flags & WEIR_EP_CONFIGURED)) {
		d.reason = WEIR_REASON_NO_ENDPOINT;
		goto drop;
	}
	if (parsed != WEIR_PARSE_OK) {
		d.reason = WEIR_REASON_MALFORMED;
		goto drop;
	}

	remote = direction == WEIR_DIR_INGRESS ? &pkt.saddr : &pkt.daddr;
	/* Coarse clock (tick resolution) is enough for second-scale lifetimes and much cheaper. */
	now = bpf_ktime_get_coarse_ns();
	from_a = weir_ct_key_build(ep_id, &pkt, &ct_key);
	ct = weir_ct_lookup(&ct_key, now);
	if (ct) {
		reply = from_a != ct->opener_is_a;
		if (ct->generation != ep->generation) {
			/* Policy changed since this flow was allowed: re-check it as its opener saw
			 * it (the opener's direction; a reply's source port is the opener's dport). */
			d.remote_identity = weir_identity_of(remote);
			weir_policy_eval(ep_id, ep->flags, ct->direction, d.remote_identity, pkt.protocol,
					 weir_policy_port(&pkt, reply ? pkt.sport : pkt.dport), &res);
			if (res.verdict != WEIR_VERDICT_ALLOW) {
				bpf_map_delete_elem(&weir_ct, &ct_key);
				d.reason = WEIR_REASON_REVOKED;
				d.rule_id = res.rule_id;
				d.tier = res.tier;
				goto drop;
			}
			ct->generation = ep->generation;
			ct->rule_id = res.rule_id;
			ct->remote_identity = d.remote_identity;
		}
		weir_ct_refresh(ct, &pkt, from_a, reply, now);
		d.reason = reply ? WEIR_REASON_CT_REPLY : WEIR_REASON_CT_ESTABLISHED;
		goto pass;
	}

	/* New flow. */
	d.remote_identity = weir_identity_of(remote);
	weir_policy_eval(ep_id, ep->flags, direction, d.remote_identity, pkt.protocol,
			 weir_policy_port(&pkt, pkt.dport), &res);
	d.rule_id = res.rule_id;
	d.tier = res.tier;
	d.reason = res.reason;
	if (res.verdict != WEIR_VERDICT_ALLOW)
		goto drop;
	weir_ct_create(&ct_key, &pkt, from_a, direction, ep->generation, res.rule_id,
		       d.remote_identity, now);
	if (ep->flags & (direction == WEIR_DIR_INGRESS ? WEIR_EP_EVENTS_INGRESS : WEIR_EP_EVENTS_EGRESS)) {
		d.verdict = WEIR_VERDICT_ALLOW;
		weir_emit(ep_id, &pkt, &d);
	}

pass:
	weir_count(ep_id, d.reason, pkt.len);
	/* Ingress shaping: the IFB's root TBF paces, and the IFB re-injects into this device
	 * with classification skipped, so the packet is not evaluated twice. */
	if (direction == WEIR_DIR_INGRESS && ep->ifb_ifindex != 0) {
		weir_count(ep_id, WEIR_REASON_REDIRECT_IFB, pkt.len);
		return bpf_redirect(ep->ifb_ifindex, 0);
	}
	return TC_ACT_OK;

drop:
	weir_count(ep_id, d.reason, pkt.len);
	d.verdict = WEIR_VERDICT_DENY;
	weir_emit(ep_id, &pkt, &d);
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
