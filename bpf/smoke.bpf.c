// SPDX-License-Identifier: GPL-2.0
// A deliberately trivial tc object for the native addon's own tests (issue 2 smoke test and
// native/*.test.ts). It exercises what the addon must handle: `const volatile` config in .rodata,
// a map pinned by name, an LPM trie (no batch ops), a per-CPU array and a ring buffer.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

// Config the loader sets before load; the defaults are what an unconfigured load sees.
const volatile __u32 smoke_verdict = TC_ACT_OK;
const volatile __u64 smoke_magic = 0;
const volatile __u8 smoke_emit = 1;

struct smoke_event {
	__u64 magic;
	__u32 len;
	__u32 seq;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} smoke_hash SEC(".maps");

struct smoke_lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__type(key, struct smoke_lpm_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} smoke_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} smoke_runs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} smoke_events SEC(".maps");

static __always_inline __u32 count_run(void)
{
	__u32 zero = 0;
	__u64 *runs = bpf_map_lookup_elem(&smoke_runs, &zero);

	if (!runs)
		return 0;
	*runs += 1;
	return (__u32)*runs;
}

SEC("tc")
int smoke_pass(struct __sk_buff *skb)
{
	__u32 seq = count_run();

	if (smoke_emit) {
		struct smoke_event ev = { .magic = smoke_magic, .len = skb->len, .seq = seq };

		bpf_ringbuf_output(&smoke_events, &ev, sizeof(ev), 0);
	}
	return smoke_verdict;
}

SEC("tc")
int smoke_drop(struct __sk_buff *skb)
{
	return TC_ACT_SHOT;
}
