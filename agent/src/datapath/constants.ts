/**
 * Constants shared with the BPF programs: each mirrors a #define or enum of
 * bpf/include/weir_shared.h, and agent/src/datapath/constants.test.ts compares every one of them
 * with the header. Re-exported by codec.ts, which encodes the structs that carry them.
 */
import { ANY_IDENTITY, CLUSTER_IDENTITY, isNamespaceClass, type Direction, type PolicyEntry, type Tier, type Verdict } from './desired.js';

export type { Tier };

/**
 * WEIR_LAYOUT_VERSION: the layout of the pinned maps, kept in the pinned weir_meta map. Bumped
 * with any change to a pinned map's key or value (agent/src/datapath/layout.ts replaces pins of
 * another version).
 */
export const LAYOUT_VERSION = 1;

/** Struct sizes and member offsets of weir_shared.h (codec.test.ts checks them against the BTF). */
export const LAYOUT = {
  weir_ipcache_key: { size: 20, fields: { prefixlen: 0, addr: 4 } },
  weir_ipcache_value: { size: 8, fields: { identity: 0, namespace_class: 4 } },
  weir_policy_key: {
    size: 20,
    fields: { prefixlen: 0, endpoint_id: 4, identity: 8, tier: 12, direction: 13, reserved: 14, protocol: 15, dport: 16, pad: 18 },
  },
  weir_policy_value: { size: 12, fields: { precedence: 0, rule_id: 4, verdict: 8, pad: 9 } },
  weir_ct_key: { size: 44, fields: { endpoint_id: 0, addr_a: 4, addr_b: 20, port_a: 36, port_b: 38, protocol: 40, pad: 41 } },
  weir_ct_value: {
    size: 24,
    fields: { expires_ns: 0, generation: 8, rule_id: 12, opener_is_a: 16, direction: 17, flags: 18, pad: 19, remote_identity: 20 },
  },
  weir_endpoint_config: {
    size: 88,
    fields: { generation: 0, ifb_ifindex: 4, flags: 8, ct_quota: 12, mac: 16, addr_count: 22, shaping: 23, addrs: 24 },
  },
  weir_ct_usage: { size: 8, fields: { entries: 0 } },
  weir_meta: { size: 8, fields: { layout_version: 0, reserved: 4 } },
  weir_frag_key: { size: 44, fields: { endpoint_id: 0, id: 4, saddr: 8, daddr: 24, protocol: 40, pad: 41 } },
  weir_frag_value: { size: 16, fields: { expires_ns: 0, sport: 8, dport: 10, pad: 12 } },
  weir_event_budget: { size: 16, fields: { last_ns: 0, tokens: 8 } },
  weir_counter_value: { size: 16, fields: { packets: 0, bytes: 8 } },
  weir_flow_event: {
    size: 72,
    fields: {
      timestamp_ns: 0, endpoint_id: 8, rule_id: 12, remote_identity: 16, pkt_len: 20, saddr: 24, daddr: 40,
      sport: 56, dport: 58, protocol: 60, direction: 61, verdict: 62, reason: 63, family: 64, tier: 65, pad: 66,
    },
  },
} as const;

export type SharedStruct = keyof typeof LAYOUT;

export const POLICY_FIXED_BITS = 88;
export const RULE_NONE = 0xffffffff;
export const TIER_NONE = 0xff;

export const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];
export const TIERS: readonly Tier[] = ['admin', 'network', 'baseline'];
export const VERDICT_CODES: Readonly<Record<Verdict, number>> = { allow: 1, pass: 2, deny: 3 };
/** WEIR_VERDICT_AUDIT_DENY: flow events only (an audit endpoint's policy drop, let through). */
export const AUDIT_DENY_VERDICT_CODE = 4;
/** WEIR_VERDICT_AUDIT_ALLOW: flow events only (enforced policy drops, the audit policies would allow). */
export const AUDIT_ALLOW_VERDICT_CODE = 5;
/**
 * enum weir_policy_keyspace, the `reserved` byte of weir_policy_key: enforced entries, audit
 * policies' entries (PolicyEntry.audit 'rule'), audit NetworkPolicy isolation ('isolation').
 */
export const POLICY_KEYSPACES = { enforced: 0, audit: 1, auditIsolation: 2 } as const;
export function keyspaceOf(e: Pick<PolicyEntry, 'audit'>): number {
  if (e.audit === undefined) return POLICY_KEYSPACES.enforced;
  return e.audit === 'rule' ? POLICY_KEYSPACES.audit : POLICY_KEYSPACES.auditIsolation;
}

/** enum weir_reason, in code order. */
export const REASONS = [
  'ct-established', 'ct-reply', 'policy-allow', 'default-allow', 'l2-pass', 'policy-deny',
  'default-deny', 'revoked', 'malformed', 'no-endpoint', 'events-lost', 'redirect-ifb',
  'spoofed', 'ct-quota', 'l2-refused', 'events-suppressed', 'ct-related', 'audit-allowed', 'node-allowed',
] as const;
export type Reason = (typeof REASONS)[number];
/** Reasons that are a packet's drop (the others pass it, or count something that is not a packet fate). */
export const DROP_REASONS: ReadonlySet<Reason> = new Set<Reason>([
  'policy-deny', 'default-deny', 'revoked', 'malformed', 'no-endpoint', 'spoofed', 'ct-quota', 'l2-refused',
]);

export const ENDPOINT_FLAGS = { isolatedIngress: 1, isolatedEgress: 2, eventsIngress: 4, eventsEgress: 8, configured: 16, macKnown: 1 << 17, audit: 1 << 18, auditPolicies: 0x8000_0000 } as const;
/** weir_endpoint_config.shaping (enum weir_shaping_flag): the directions shaped by HTB flow classes. */
export const SHAPING_FLAGS = { flowClassesIngress: 1, flowClassesEgress: 2 } as const;
/**
 * Flow-fair shaping's HTB layout (WEIR_FLOW_CLASS_*): root MAJOR:, parent MAJOR:1, leaf i is
 * MAJOR:(BASE + STEP * i); the programs put a flow in leaf (skb hash % LEAVES).
 */
export const FLOW_CLASS = { major: 0x1, leaves: 32, base: 0x18, step: 0x10 } as const;
/** Own addresses an endpoint config holds (WEIR_EP_MAX_ADDRS). */
export const MAX_ENDPOINT_ADDRS = 4;

/**
 * Lookup-skip bits of weir_endpoint_config.flags (WEIR_EP_NO_*): a set bit tells the programs
 * that a (tier, direction) slice of the endpoint's policy holds no entry of that kind (exact
 * identity, ANY, namespace class, cluster class), so the trie lookup is skipped.
 * Bit = shift + tier * 2 + direction.
 */
export const NO_EXACT_SHIFT = 5;
export const NO_ANY_SHIFT = 11;
export const NO_NAMESPACE_SHIFT = 19;
export const NO_CLUSTER_SHIFT = 25;
const SLICE_BITS = 0x3f;
export const SKIP_MASK =
  ((SLICE_BITS << NO_EXACT_SHIFT) | (SLICE_BITS << NO_ANY_SHIFT) | (SLICE_BITS << NO_NAMESPACE_SHIFT) | (SLICE_BITS << NO_CLUSTER_SHIFT)) >>> 0;

/** Which lookup an entry's identity field answers. */
function skipShift(identity: number): number {
  if (identity === ANY_IDENTITY) return NO_ANY_SHIFT;
  if (identity === CLUSTER_IDENTITY) return NO_CLUSTER_SHIFT;
  return isNamespaceClass(identity) ? NO_NAMESPACE_SHIFT : NO_EXACT_SHIFT;
}

/**
 * Skip bits for an endpoint whose policy is `entries` (pure; 0 would also be correct, only slower).
 * Audit rule entries count (the what-if evaluation looks them up in the same slices); audit
 * isolation entries do not (the programs look them up on their own, see bpf/include/policy.h).
 */
export function policySkipFlags(entries: readonly Pick<PolicyEntry, 'tier' | 'direction' | 'identity' | 'audit'>[]): number {
  let present = 0;
  for (const e of entries) {
    if (e.audit === 'isolation') continue;
    const slot = tierCode(e.tier) * 2 + directionCode(e.direction);
    present |= 1 << (skipShift(e.identity) + slot);
  }
  return (SKIP_MASK & ~present) >>> 0;
}

/** Whether the endpoint's policy holds audit entries (WEIR_EP_AUDIT_POLICIES: new flows are also judged as if they were enforced). */
export const hasAuditEntries = (entries: readonly Pick<PolicyEntry, 'audit'>[]): boolean => entries.some((e) => e.audit !== undefined);

/** Endpoint ids index the config and counter arrays: valid ids are 1..MAX_ENDPOINT_ID. */
export const MAX_ENDPOINTS = 1024;
export const MAX_ENDPOINT_ID = MAX_ENDPOINTS - 1;
/** Counter slots per endpoint in weir_counters (index = endpointId * REASON_SLOTS + reason). */
export const REASON_SLOTS = 32;

export const directionCode = (d: Direction): number => DIRECTIONS.indexOf(d);
export const tierCode = (t: Tier): number => TIERS.indexOf(t);
export const verdictCode = (v: Verdict): number => VERDICT_CODES[v];
