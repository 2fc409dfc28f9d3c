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

/* One trie lookup: the entry for `key`, kept when it beats best. */
static __always_inline void weir_policy_keep(const struct weir_policy_key *key, struct weir_policy_value *best)
{
	struct weir_policy_value *v = bpf_map_lookup_elem(&weir_policy, key);

	if (v && v->verdict != WEIR_VERDICT_NONE && weir_policy_better(v, best))
		*best = *v;
}

/* One lookup of a tier: the entry for `identity` (an identity or a class), kept when it beats best.
 * With `what_if` (a compile-time constant at every call) the audit keyspace is looked up too: each
 * keyspace is folded on its own, so the better of the two is the union's entry. */
static __always_inline void weir_policy_consider(struct weir_policy_key *key, __u32 identity,
						 struct weir_policy_value *best, const int what_if)
{
	key->identity = identity;
	key->reserved = WEIR_POLICY_ENFORCED;
	weir_policy_keep(key, best);
	if (!what_if)
		return;
	key->reserved = WEIR_POLICY_AUDIT;
	weir_policy_keep(key, best);
}

/* Best entry of one tier for the remote (exact | namespace class | cluster | ANY);
 * best->verdict stays NONE when nothing matched. Slices the endpoint config marks empty
 * (WEIR_EP_NO_*) are not looked up: the trie's cost grows with its size, a skipped lookup
 * costs nothing. Class lookups only happen for pods (namespace_class != 0). */
static __always_inline void weir_policy_tier(__u32 endpoint_id, __u32 ep_flags, const struct weir_ipcache_value *remote,
					     __u8 tier, __u8 direction, __u8 protocol, __be16 dport,
					     struct weir_policy_value *best, const int what_if)
{
	struct weir_policy_key key = {
		.prefixlen = WEIR_POLICY_FULL_BITS,
		.endpoint_id = endpoint_id,
		.tier = tier,
		.direction = direction,
		.protocol = protocol,
		.dport = dport,
	};

	/* Every field set: weir_policy_better reads precedence, and an uninitialised stack field lets
	 * the compiler read an undefined register, which the verifier refuses. */
	best->verdict = WEIR_VERDICT_NONE;
	best->precedence = 0;
	best->rule_id = WEIR_RULE_NONE;
	if (remote->identity != WEIR_ANY_IDENTITY && !(ep_flags & WEIR_EP_NO_EXACT(tier, direction)))
		weir_policy_consider(&key, remote->identity, best, what_if);
	if (remote->namespace_class != 0) {
		if (!(ep_flags & WEIR_EP_NO_NAMESPACE(tier, direction)))
			weir_policy_consider(&key, remote->namespace_class, best, what_if);
		if (!(ep_flags & WEIR_EP_NO_CLUSTER(tier, direction)))
			weir_policy_consider(&key, WEIR_CLUSTER_IDENTITY, best, what_if);
	}
	if (!(ep_flags & WEIR_EP_NO_ANY(tier, direction)))
		weir_policy_consider(&key, WEIR_ANY_IDENTITY, best, what_if);
}

static __always_inline void weir_policy_decide(struct weir_policy_result *res, __u8 verdict, __u8 reason, __u8 tier,
					       __u32 rule_id)
{
	res->verdict = verdict;
	res->reason = reason;
	res->tier = tier;
	res->rule_id = rule_id;
}

/* One tier's say: its best entry decides the flow (allow, or deny: NetworkPolicy is allow-only,
 * but a deny there is still honoured rather than ignored). Returns 1 when it decided, 0 when the
 * tier holds nothing for this flow and the next one judges. */
static __always_inline int weir_policy_tier_decides(__u32 endpoint_id, __u32 ep_flags,
						    const struct weir_ipcache_value *remote, __u8 tier, __u8 direction,
						    __u8 protocol, __be16 dport, struct weir_policy_result *res,
						    const int what_if)
{
	struct weir_policy_value best;

	weir_policy_tier(endpoint_id, ep_flags, remote, tier, direction, protocol, dport, &best, what_if);
	if (best.verdict == WEIR_VERDICT_ALLOW) {
		weir_policy_decide(res, WEIR_VERDICT_ALLOW, WEIR_REASON_POLICY_ALLOW, tier, best.rule_id);
		return 1;
	}
	if (best.verdict == WEIR_VERDICT_DENY) {
		weir_policy_decide(res, WEIR_VERDICT_DENY, WEIR_REASON_POLICY_DENY, tier, best.rule_id);
		return 1;
	}
	return 0;
}

/* The rule of an audit NetworkPolicy isolating the endpoint in `direction` (its
 * WEIR_POLICY_AUDIT_ISOLATION entry), or WEIR_RULE_NONE when no audit policy isolates it. */
static __always_inline __u32 weir_audit_isolation(__u32 endpoint_id, __u8 direction)
{
	struct weir_policy_key key = {
		.prefixlen = WEIR_POLICY_FIXED_BITS,
		.endpoint_id = endpoint_id,
		.identity = WEIR_ANY_IDENTITY,
		.tier = WEIR_TIER_NETWORK,
		.direction = direction,
		.reserved = WEIR_POLICY_AUDIT_ISOLATION,
	};
	struct weir_policy_value *v = bpf_map_lookup_elem(&weir_policy, &key);

	return v ? v->rule_id : WEIR_RULE_NONE;
}

/* Full three-tier evaluation for a new flow (or a re-check after a generation bump). With
 * `what_if` (a constant: 0 for the enforced verdict, 1 for "every audit policy enforced") the
 * audit keyspace joins every lookup and an audit NetworkPolicy's isolation counts too. */
static __always_inline void weir_policy_eval(__u32 endpoint_id, __u32 ep_flags, __u8 direction,
					     const struct weir_ipcache_value *remote, __u8 protocol, __be16 dport,
					     struct weir_policy_result *res, const int what_if)
{
	__u32 audit_rule;
	__u32 isolated = direction == WEIR_DIR_INGRESS ? WEIR_EP_ISOLATED_INGRESS : WEIR_EP_ISOLATED_EGRESS;

	if (weir_policy_tier_decides(endpoint_id, ep_flags, remote, WEIR_TIER_ADMIN, direction, protocol, dport, res,
				     what_if) ||
	    weir_policy_tier_decides(endpoint_id, ep_flags, remote, WEIR_TIER_NETWORK, direction, protocol, dport, res,
				     what_if))
		return;
	if (ep_flags & isolated) {
		weir_policy_decide(res, WEIR_VERDICT_DENY, WEIR_REASON_DEFAULT_DENY, WEIR_TIER_NONE, WEIR_RULE_NONE);
		return;
	}
	if (what_if) {
		audit_rule = weir_audit_isolation(endpoint_id, direction);
		if (audit_rule != WEIR_RULE_NONE) {
			weir_policy_decide(res, WEIR_VERDICT_DENY, WEIR_REASON_DEFAULT_DENY, WEIR_TIER_NONE,
					   audit_rule);
			return;
		}
	}

	if (weir_policy_tier_decides(endpoint_id, ep_flags, remote, WEIR_TIER_BASELINE, direction, protocol, dport, res,
				     what_if))
		return;
	weir_policy_decide(res, WEIR_VERDICT_ALLOW, WEIR_REASON_DEFAULT_ALLOW, WEIR_TIER_NONE, WEIR_RULE_NONE);
}

/* The what-if verdict of a new flow (every audit policy enforced) as a global function, verified
 * once on its own rather than once per path of its caller. `flow` is direction | protocol << 8 |
 * dport << 16 (network order). Returns verdict | reason << 8 | tier << 16 | rule_id << 32. */
__noinline __u64 weir_whatif_eval(__u32 endpoint_id, __u32 ep_flags, __u32 identity, __u32 namespace_class, __u64 flow)
{
	struct weir_ipcache_value remote = { .identity = identity, .namespace_class = namespace_class };
	struct weir_policy_result res;

	weir_policy_eval(endpoint_id, ep_flags, flow & 0xff, &remote, (flow >> 8) & 0xff,
			 (__be16)((flow >> 16) & 0xffff), &res, 1);
	return res.verdict | ((__u64)res.reason << 8) | ((__u64)res.tier << 16) | ((__u64)res.rule_id << 32);
}

#endif /* WEIR_POLICY_H */
