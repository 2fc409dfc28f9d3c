/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Observability: per-CPU counters by {endpoint, reason} and flow events in one node-wide
 * ring buffer. A failed reserve (buffer full: the agent is behind) is counted as
 * WEIR_REASON_EVENTS_LOST for the endpoint, never blocks or drops the packet.
 *
 * Events are budgeted per endpoint: a token bucket per CPU (WEIR_EVENTS_PER_SEC, bursts of
 * WEIR_EVENTS_BURST) in weir_event_budget. An event over budget is not emitted and counted as
 * WEIR_REASON_EVENTS_SUPPRESSED, so a port scan against one pod cannot flood the ring buffer
 * (and the agent) at the expense of every other endpoint's events. The packet's own counter is
 * always kept, so metrics stay exact.
 */
#ifndef WEIR_EVENTS_H
#define WEIR_EVENTS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "weir_shared.h"
#include "parse.h"

#define WEIR_EVENTS_BYTES (1 << 20)
#define WEIR_EVENTS_PER_SEC 100
#define WEIR_EVENTS_BURST 200

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WEIR_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weir_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct weir_counter_value);
	__uint(max_entries, WEIR_MAX_ENDPOINTS *WEIR_REASON_SLOTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weir_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct weir_event_budget);
	__uint(max_entries, WEIR_MAX_ENDPOINTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weir_event_budget SEC(".maps");

static __always_inline void weir_count(__u32 endpoint_id, __u32 reason, __u32 bytes)
{
	/* Out-of-range ids make an out-of-range index: the lookup fails and nothing is counted. */
	__u32 index = endpoint_id * WEIR_REASON_SLOTS + reason;
	struct weir_counter_value *v = bpf_map_lookup_elem(&weir_counters, &index);

	if (v) {
		/* Per-CPU slot: plain adds are race-free. */
		v->packets += 1;
		v->bytes += bytes;
	}
}

/* Everything a flow event says about the decision (the packet supplies the rest). */
struct weir_decision {
	__u32 rule_id;
	__u32 remote_identity;
	__u8 verdict;
	__u8 reason;
	__u8 tier;
	__u8 direction;
};

/* Not inlined on purpose: it runs only for events, and as a real subprogram its prototype puts
 * struct weir_flow_event into the object's BTF, where the layout test reads it. */
static __noinline void weir_event_fill(struct weir_flow_event *e, __u32 endpoint_id, const struct weir_pkt *pkt,
				       const struct weir_decision *d)
{
	e->timestamp_ns = bpf_ktime_get_ns();
	e->endpoint_id = endpoint_id;
	e->rule_id = d->rule_id;
	e->remote_identity = d->remote_identity;
	e->pkt_len = pkt->len;
	__builtin_memcpy(e->saddr, pkt->saddr.b, 16);
	__builtin_memcpy(e->daddr, pkt->daddr.b, 16);
	e->sport = bpf_ntohs(pkt->sport);
	e->dport = bpf_ntohs(pkt->dport);
	e->protocol = pkt->protocol;
	e->direction = d->direction;
	e->verdict = d->verdict;
	e->reason = d->reason;
	e->family = pkt->family;
	e->tier = d->tier;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
}

/* Takes one token from the endpoint's bucket on this CPU; 0 when there is none. */
static __always_inline int weir_event_take(__u32 endpoint_id)
{
	struct weir_event_budget *b = bpf_map_lookup_elem(&weir_event_budget, &endpoint_id);
	__u64 now, add;

	if (!b)
		return 0;
	now = bpf_ktime_get_coarse_ns();
	add = (now - b->last_ns) / (1000000000ULL / WEIR_EVENTS_PER_SEC);
	if (add > 0) {
		/* Per-CPU slot: plain read-modify-write is race-free. */
		b->tokens = b->tokens + add > WEIR_EVENTS_BURST ? WEIR_EVENTS_BURST : b->tokens + add;
		b->last_ns += add * (1000000000ULL / WEIR_EVENTS_PER_SEC);
		if (now - b->last_ns > 1000000000ULL)
			b->last_ns = now; /* first use, or idle for long: no debt to carry */
	}
	if (b->tokens == 0)
		return 0;
	b->tokens--;
	return 1;
}

static __always_inline void weir_emit(__u32 endpoint_id, const struct weir_pkt *pkt, const struct weir_decision *d)
{
	if (!weir_event_take(endpoint_id)) {
		weir_count(endpoint_id, WEIR_REASON_EVENTS_SUPPRESSED, 0);
		return;
	}
	struct weir_flow_event *e = bpf_ringbuf_reserve(&weir_events, sizeof(*e), 0);

	if (!e) {
		weir_count(endpoint_id, WEIR_REASON_EVENTS_LOST, 0);
		return;
	}
	weir_event_fill(e, endpoint_id, pkt, d);
	bpf_ringbuf_submit(e, 0);
}

#endif /* WEIR_EVENTS_H */
