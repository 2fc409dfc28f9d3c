/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Identity-based policy. The ipcache turns the remote address into an identity and, for a pod,
 * its namespace class (miss -> WORLD, no class); the policy trie is then consulted per tier with
 * up to four lookups (exact identity, namespace class, WEIR_CLUSTER_IDENTITY, ANY_IDENTITY),
 * skipping the slices the endpoint config marks empty. The best of them wins, so a wide peer
 * ("every pod of namespace x", "every pod") is one entry per rule, however many pods it covers. Evaluation model (agent/src/datapath/desired.ts):
 *   admin:    allow/deny final; pass (or no match) -> network
 *   network:  a match allows; no match and isolated in this direction -> default deny
 *   baseline: allow/deny final
 *   otherwise allow.
 * Within a tier the highest precedence wins; at equal precedence deny > pass > allow, which
 * is exactly the numeric order of enum weir_verdict.
 */
#ifndef WEIR_POLICY_H
#define WEIR_POLICY_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "weir_shared.h"
#include "parse.h"

#define WEIR_IPCACHE_MAX_ENTRIES 131072
/* Partitioned by quota: every endpoint slot may hold WEIR_POLICY_MAX_PER_ENDPOINT entries and the
 * agent never writes more for one endpoint (agent/src/endpoints/capacity.ts), so no endpoint can
 * crowd out another. The trie is not preallocated: only entries in use cost memory. */
#define WEIR_POLICY_MAX_ENTRIES (WEIR_MAX_ENDPOINTS * WEIR_POLICY_MAX_PER_ENDPOINT)

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct weir_ipcache_key);
	__type(value, struct weir_ipcache_value);
	__uint(max_entries, WEIR_IPCACHE_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weir_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct weir_policy_key);
	__type(value, struct weir_policy_value);
	__uint(max_entries, WEIR_POLICY_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weir_policy SEC(".maps");

/* The outcome of evaluating one new flow. */
struct weir_policy_result {
	__u32 rule_id;
	__u8 verdict; /* WEIR_VERDICT_ALLOW or WEIR_VERDICT_DENY */
	__u8 reason;  /* POLICY_ALLOW / DEFAULT_ALLOW / POLICY_DENY / DEFAULT_DENY */
	__u8 tier;    /* enum weir_tier of the deciding rule, WEIR_TIER_NONE when none */
};

/* The remote's identity and namespace class (0 unless the address is a pod's). */
static __always_inline void weir_remote_of(const union weir_addr *addr, struct weir_ipcache_value *out)
{
	struct weir_ipcache_key key = { .prefixlen = 128 };

	__builtin_memcpy(key.addr, addr->b, 16);
	struct weir_ipcache_value *v = bpf_map_lookup_elem(&weir_ipcache, &key);

	out->identity = v ? v->identity : WEIR_WORLD_IDENTITY;
	out->namespace_class = v ? v->namespace_class : 0;
}

/* True when candidate beats best under the in-tier ordering. */
static __always_inline int weir_policy_better(const struct weir_policy_value *cand,
					      const struct weir_policy_value *best)
{
	if (best->verdict == WEIR_VERDICT_NONE)
		return 1;
	if (cand->precedence != best->precedence)
		return cand->precedence > best->precedence;
	return cand->verdict > best->verdict;
}

/* One lookup of a tier: the entry for `identity` (an identity or a class), kept when it beats best. */
static __always_inline void weir_policy_consider(struct weir_policy_key *key, __u32 identity,
						 struct weir_policy_value *best)
{
	struct weir_policy_value *v;

	key->identity = identity;
	v = bpf_map_lookup_elem(&weir_policy, key);
	if (v && v->verdict != WEIR_VERDICT_NONE && weir_policy_better(v, best))
		*best = *v;
}

/* Best entry of one tier for the remote (exact | namespace class | cluster | ANY);
 * best->verdict stays NONE when nothing matched. Slices the endpoint config marks empty
 * (WEIR_EP_NO_*) are not looked up: the trie's cost grows with its size, a skipped lookup
 * costs nothing. Class lookups only happen for pods (namespace_class != 0). */
static __always_inline void weir_policy_tier(__u32 endpoint_id, __u32 ep_flags,
					     const struct weir_ipcache_value *remote, __u8 tier,
					     __u8 direction, __u8 protocol, __be16 dport,
					     struct weir_policy_value *best)
{
	struct weir_policy_key key = {
		.prefixlen = WEIR_POLICY_FULL_BITS,
		.endpoint_id = endpoint_id,
		.tier = tier,
		.direction = direction,
		.protocol = protocol,
		.dport = dport,
	};

	best->verdict = WEIR_VERDICT_NONE;
	if (remote->identity != WEIR_ANY_IDENTITY && !(ep_flags & WEIR_EP_NO_EXACT(tier, direction)))
		weir_policy_consider(&key, remote->identity, best);
	if (remote->namespace_class != 0) {
		if (!(ep_flags & WEIR_EP_NO_NAMESPACE(tier, direction)))
			weir_policy_consider(&key, remote->namespace_class, best);
		if (!(ep_flags & WEIR_EP_NO_CLUSTER(tier, direction)))
			weir_policy_consider(&key, WEIR_CLUSTER_IDENTITY, best);
	}
	if (!(ep_flags & WEIR_EP_NO_ANY(tier, direction)))
		weir_policy_consider(&key, WEIR_ANY_IDENTITY, best);
}

static __always_inline void weir_policy_decide(struct weir_policy_result *res, __u8 verdict,
					       __u8 reason, __u8 tier, __u32 rule_id)
{
	res->verdict = verdict;
	res->reason = reason;
	res->tier = tier;
	res->rule_id = rule_id;
}

/* Full three-tier evaluation for a new flow (or a re-check after a generation bump). */
static __always_inline void weir_policy_eval(__u32 endpoint_id, __u32 ep_flags, __u8 direction,
					     const struct weir_ipcache_value *remote, __u8 protocol, __be16 dport,
					     struct weir_policy_result *res)
{
	struct weir_policy_value best;
	__u32 isolated = direction == WEIR_DIR_INGRESS ? WEIR_EP_ISOLATED_INGRESS
						       : WEIR_EP_ISOLATED_EGRESS;

	weir_policy_tier(endpoint_id, ep_flags, remote, WEIR_TIER_ADMIN, direction, protocol, dport, &best);
	if (best.verdict == WEIR_VERDICT_ALLOW) {
		weir_policy_decide(res, WEIR_VERDICT_ALLOW, WEIR_REASON_POLICY_ALLOW, WEIR_TIER_ADMIN, best.rule_id);
		return;
	}
	if (best.verdict == WEIR_VERDICT_DENY) {
		weir_policy_decide(res, WEIR_VERDICT_DENY, WEIR_REASON_POLICY_DENY, WEIR_TIER_ADMIN, best.rule_id);
		return;
	}

	weir_policy_tier(endpoint_id, ep_flags, remote, WEIR_TIER_NETWORK, direction, protocol, dport, &best);
	if (best.verdict == WEIR_VERDICT_ALLOW) {
		weir_policy_decide(res, WEIR_VERDICT_ALLOW, WEIR_REASON_POLICY_ALLOW, WEIR_TIER_NETWORK, best.rule_id);
		return;
	}
	/* NetworkPolicy is allow-only; a deny here is still honoured rather than ignored. */
	if (best.verdict == WEIR_VERDICT_DENY) {
		weir_policy_decide(res, WEIR_VERDICT_DENY, WEIR_REASON_POLICY_DENY, WEIR_TIER_NETWORK, best.rule_id);
		return;
	}
	if (ep_flags & isolated) {
		weir_policy_decide(res, WEIR_VERDICT_DENY, WEIR_REASON_DEFAULT_DENY, WEIR_TIER_NONE, WEIR_RULE_NONE);
		return;
	}

	weir_policy_tier(endpoint_id, ep_flags, remote, WEIR_TIER_BASELINE, direction, protocol, dport, &best);
	if (best.verdict == WEIR_VERDICT_ALLOW) {
		weir_policy_decide(res, WEIR_VERDICT_ALLOW, WEIR_REASON_POLICY_ALLOW, WEIR_TIER_BASELINE, best.rule_id);
		return;
	}
	if (best.verdict == WEIR_VERDICT_DENY) {
		weir_policy_decide(res, WEIR_VERDICT_DENY, WEIR_REASON_POLICY_DENY, WEIR_TIER_BASELINE, best.rule_id);
		return;
	}
	weir_policy_decide(res, WEIR_VERDICT_ALLOW, WEIR_REASON_DEFAULT_ALLOW, WEIR_TIER_NONE, WEIR_RULE_NONE);
}

#endif /* WEIR_POLICY_H */
