// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark-only programs for bench/datapath-prog.ts (never attached by the agent).
 *
 * It compiles weir.bpf.c itself into this object, so bench_new_flow runs exactly the code of
 * weir_ingress, against the same maps pinned by name. What BPF_PROG_TEST_RUN cannot do on its
 * own is present a NEW flow on every repetition: it replays one packet. So bench_new_flow first
 * rewrites the TCP source port and the low 16 bits of the local (destination) address from a
 * counter, giving 2^32 distinct 5-tuples: every repetition is a conntrack miss, a policy
 * evaluation (ipcache + policy trie, the remote address stays the same) and a conntrack insert.
 * bench_rewrite_only measures that rewrite alone, and bench_parse_only is the baseline: the
 * packet parser and nothing else.
 */
#include "weir.bpf.c"

/* Repetitions run on one CPU, one after another: a plain global is enough. */
__u32 bench_seq = 0;

#define BENCH_ETH 14
#define BENCH_IPV4_DADDR_LO (BENCH_ETH + 18)
#define BENCH_TCP_SPORT (BENCH_ETH + 20)

static __always_inline int bench_fresh_tuple(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u32 n = bench_seq++;

	if (data + BENCH_TCP_SPORT + 2 > end)
		return -1;
	*(__u16 *)(data + BENCH_IPV4_DADDR_LO) = (__u16)(n >> 16);
	*(__u16 *)(data + BENCH_TCP_SPORT) = (__u16)n;
	return 0;
}

SEC("tc")
int bench_new_flow(struct __sk_buff *skb)
{
	if (bench_fresh_tuple(skb) < 0)
		return TC_ACT_SHOT;
	return weir_handle(skb, WEIR_DIR_INGRESS);
}

SEC("tc")
int bench_rewrite_only(struct __sk_buff *skb)
{
	return bench_fresh_tuple(skb) < 0 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int bench_parse_only(struct __sk_buff *skb)
{
	struct weir_pkt pkt = {};

	/* Use the parse result so the compiler cannot drop the parser. */
	const struct weir_cursor c = weir_cursor_of(skb);

	if (weir_parse(&c, &pkt) != WEIR_PARSE_OK)
		return TC_ACT_SHOT;
	return pkt.protocol == IPPROTO_TCP ? TC_ACT_OK : TC_ACT_UNSPEC;
}

/* The floor: what BPF_PROG_TEST_RUN itself costs per repetition. */
SEC("tc")
int bench_empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}
