/**
 * Encode/decode every struct shared with the BPF programs (bpf/include/weir_shared.h).
 * LAYOUT is the one place that knows sizes and offsets; codec.test.ts compares it with the
 * BTF of build/bpf/weir.bpf.o, so the C header and this file cannot drift apart silently.
 *
 * Byte order follows the header: addresses and ports inside map keys are network order;
 * every other integer is host order (little-endian: x86-64 and arm64 are the targets).
 */
import { formatIp, makeCidr, parseCidr, parseIp, type Cidr, type Family } from '../identity/cidr.js';
import { ANY_IDENTITY, type Direction, type PolicyEntry, type Tier, type Verdict } from './desired.js';

export const LAYOUT = {
  weir_ipcache_key: { size: 20, fields: { prefixlen: 0, addr: 4 } },
  weir_ipcache_value: { size: 8, fields: { identity: 0, reserved: 4 } },
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
    fields: { generation: 0, ifb_ifindex: 4, flags: 8, ct_quota: 12, mac: 16, addr_count: 22, pad: 23, addrs: 24 },
  },
  weir_ct_usage: { size: 8, fields: { entries: 0 } },
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

/** Map names as declared (and pinned by name) in the object. */
export const MAPS = {
  ipcache: 'weir_ipcache',
  policy: 'weir_policy',
  conntrack: 'weir_ct',
  endpoints: 'weir_endpoints',
  counters: 'weir_counters',
  events: 'weir_events',
  conntrackUsage: 'weir_ct_usage',
  eventBudget: 'weir_event_budget',
} as const;

export const PROGRAMS = { ingress: 'weir_ingress', egress: 'weir_egress' } as const;
/** The `const volatile` global each per-endpoint load sets. */
export const ENDPOINT_ID_CONSTANT = 'endpoint_id';

// The constants below mirror bpf/include/weir_shared.h; test/datapath/constants.test.ts
// compares every one of them with the header.
export const POLICY_FIXED_BITS = 88;
export const RULE_NONE = 0xffffffff;
export const TIER_NONE = 0xff;

export const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];
export const TIERS: readonly Tier[] = ['admin', 'network', 'baseline'];
export const VERDICT_CODES: Readonly<Record<Verdict, number>> = { allow: 1, pass: 2, deny: 3 };

/** enum weir_reason, in code order. */
export const REASONS = [
  'ct-established', 'ct-reply', 'policy-allow', 'default-allow', 'l2-pass', 'policy-deny',
  'default-deny', 'revoked', 'malformed', 'no-endpoint', 'events-lost', 'redirect-ifb',
  'spoofed', 'ct-quota', 'l2-refused', 'events-suppressed', 'ct-related',
] as const;
export type Reason = (typeof REASONS)[number];
/** Reasons that are a packet's drop (the others pass it, or count something that is not a packet fate). */
export const DROP_REASONS: ReadonlySet<Reason> = new Set<Reason>([
  'policy-deny', 'default-deny', 'revoked', 'malformed', 'no-endpoint', 'spoofed', 'ct-quota', 'l2-refused',
]);

export const ENDPOINT_FLAGS = { isolatedIngress: 1, isolatedEgress: 2, eventsIngress: 4, eventsEgress: 8, configured: 16, macKnown: 1 << 17 } as const;
/** Own addresses an endpoint config holds (WEIR_EP_MAX_ADDRS). */
export const MAX_ENDPOINT_ADDRS = 4;

/**
 * Lookup-skip bits of weir_endpoint_config.flags (WEIR_EP_NO_EXACT / WEIR_EP_NO_ANY): a set bit
 * tells the programs that a (tier, direction) slice of the endpoint's policy holds no entry of
 * that kind, so the trie lookup is skipped. Bit = shift + tier * 2 + direction.
 */
export const NO_EXACT_SHIFT = 5;
export const NO_ANY_SHIFT = 11;
const SKIP_MASK = 0xfff << NO_EXACT_SHIFT;

/** Skip bits for an endpoint whose policy is `entries` (pure; 0 would also be correct, only slower). */
export function policySkipFlags(entries: readonly Pick<PolicyEntry, 'tier' | 'direction' | 'identity'>[]): number {
  let present = 0;
  for (const e of entries) {
    const slot = tierCode(e.tier) * 2 + directionCode(e.direction);
    present |= 1 << ((e.identity === ANY_IDENTITY ? NO_ANY_SHIFT : NO_EXACT_SHIFT) + slot);
  }
  return SKIP_MASK & ~present;
}

/** Endpoint ids index the config and counter arrays: valid ids are 1..MAX_ENDPOINT_ID. */
export const MAX_ENDPOINTS = 1024;
export const MAX_ENDPOINT_ID = MAX_ENDPOINTS - 1;
/** Counter slots per endpoint in weir_counters (index = endpointId * REASON_SLOTS + reason). */
export const REASON_SLOTS = 32;

export const directionCode = (d: Direction): number => DIRECTIONS.indexOf(d);
export const tierCode = (t: Tier): number => TIERS.indexOf(t);
export const verdictCode = (v: Verdict): number => VERDICT_CODES[v];

function decodeDirection(code: number): Direction {
  const d = DIRECTIONS[code];
  if (d === undefined) throw new Error(`bad direction code ${code}`);
  return d;
}

function decodeVerdict(code: number): Verdict {
  switch (code) {
    case 1: return 'allow';
    case 2: return 'pass';
    case 3: return 'deny';
    default: throw new Error(`bad verdict code ${code}`);
  }
}

function decodeReason(code: number): Reason {
  const r = REASONS[code];
  if (r === undefined) throw new Error(`bad reason code ${code}`);
  return r;
}

// ---- addresses: 16 bytes, IPv4-mapped for IPv4 ----

const V4_MAPPED_PREFIX = 0xffffn << 32n;

function addrBytes(family: Family, addr: bigint): Buffer {
  const v = family === 4 ? V4_MAPPED_PREFIX | addr : addr;
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(v >> 64n, 0);
  b.writeBigUInt64BE(v & 0xffffffffffffffffn, 8);
  return b;
}

/** 16 network-order bytes → family + address (IPv4-mapped means IPv4). */
export function decodeAddr(b: Buffer, offset = 0): { family: Family; addr: bigint; text: string } {
  const v = (b.readBigUInt64BE(offset) << 64n) | b.readBigUInt64BE(offset + 8);
  if (v >> 32n === 0xffffn) {
    const addr = v & 0xffffffffn;
    return { family: 4, addr, text: formatIp(4, addr) };
  }
  return { family: 6, addr: v, text: formatIp(6, v) };
}

// ---- ipcache ----

export function encodeIpCacheKey(cidr: string): Buffer {
  const c = parseCidr(cidr);
  if (c === undefined) throw new Error(`ipcache: "${cidr}" is not a CIDR`);
  return encodeIpCacheKeyFrom(c);
}

export function encodeIpCacheKeyFrom(c: Cidr): Buffer {
  const b = Buffer.alloc(LAYOUT.weir_ipcache_key.size);
  b.writeUInt32LE(c.family === 4 ? 96 + c.prefix : c.prefix, 0);
  addrBytes(c.family, c.addr).copy(b, LAYOUT.weir_ipcache_key.fields.addr);
  return b;
}

export function decodeIpCacheKey(b: Buffer): string {
  const prefixlen = b.readUInt32LE(0);
  const a = decodeAddr(b, LAYOUT.weir_ipcache_key.fields.addr);
  const prefix = a.family === 4 ? prefixlen - 96 : prefixlen;
  return makeCidr(a.family, a.addr, prefix).canonical;
}

export function encodeIpCacheValue(identity: number): Buffer {
  const b = Buffer.alloc(LAYOUT.weir_ipcache_value.size);
  b.writeUInt32LE(identity, 0);
  return b;
}

export const decodeIpCacheValue = (b: Buffer): number => b.readUInt32LE(0);

// ---- policy ----

/** The part of a PolicyEntry that forms the LPM key. */
export type PolicyKeyFields = Pick<PolicyEntry, 'tier' | 'direction' | 'identity' | 'protocol' | 'port' | 'portPrefixLength'>;

export function encodePolicyKey(endpointId: number, e: PolicyKeyFields): Buffer {
  if (e.protocol === 0 && e.portPrefixLength !== 0) {
    throw new Error('policy entry: a port needs a protocol (protocol 0 wildcards the port too)');
  }
  if (!Number.isInteger(e.portPrefixLength) || e.portPrefixLength < 0 || e.portPrefixLength > 16) {
    throw new Error(`policy entry: portPrefixLength ${e.portPrefixLength} outside 0..16`);
  }
  const f = LAYOUT.weir_policy_key.fields;
  const b = Buffer.alloc(LAYOUT.weir_policy_key.size);
  const prefixlen = e.protocol === 0 ? POLICY_FIXED_BITS : POLICY_FIXED_BITS + 8 + e.portPrefixLength;
  // Host bits of the port beyond the prefix are cleared: equal prefixes give equal keys.
  const portMask = e.portPrefixLength === 0 ? 0 : (0xffff << (16 - e.portPrefixLength)) & 0xffff;
  b.writeUInt32LE(prefixlen, f.prefixlen);
  b.writeUInt32LE(endpointId, f.endpoint_id);
  b.writeUInt32LE(e.identity, f.identity);
  b.writeUInt8(tierCode(e.tier), f.tier);
  b.writeUInt8(directionCode(e.direction), f.direction);
  b.writeUInt8(e.protocol, f.protocol);
  b.writeUInt16BE(e.port & portMask, f.dport);
  return b;
}

export interface DecodedPolicyKey extends PolicyKeyFields {
  endpointId: number;
}

export function decodePolicyKey(b: Buffer): DecodedPolicyKey {
  const f = LAYOUT.weir_policy_key.fields;
  const prefixlen = b.readUInt32LE(f.prefixlen);
  const tier = TIERS[b.readUInt8(f.tier)];
  if (tier === undefined) throw new Error(`bad tier code ${b.readUInt8(f.tier)}`);
  const protocol = b.readUInt8(f.protocol);
  if (![0, 6, 17, 132, 1, 58].includes(protocol)) throw new Error(`bad protocol ${protocol}`);
  return {
    endpointId: b.readUInt32LE(f.endpoint_id),
    identity: b.readUInt32LE(f.identity),
    tier,
    direction: decodeDirection(b.readUInt8(f.direction)),
    protocol: protocol as PolicyEntry['protocol'],
    port: b.readUInt16BE(f.dport),
    portPrefixLength: Math.max(0, prefixlen - POLICY_FIXED_BITS - 8),
  };
}

export type PolicyValueFields = Pick<PolicyEntry, 'verdict' | 'precedence' | 'ruleId'>;

export function encodePolicyValue(e: PolicyValueFields): Buffer {
  const f = LAYOUT.weir_policy_value.fields;
  const b = Buffer.alloc(LAYOUT.weir_policy_value.size);
  b.writeUInt32LE(e.precedence, f.precedence);
  b.writeUInt32LE(e.ruleId, f.rule_id);
  b.writeUInt8(verdictCode(e.verdict), f.verdict);
  return b;
}

export function decodePolicyValue(b: Buffer): PolicyValueFields {
  const f = LAYOUT.weir_policy_value.fields;
  return {
    precedence: b.readUInt32LE(f.precedence),
    ruleId: b.readUInt32LE(f.rule_id),
    verdict: decodeVerdict(b.readUInt8(f.verdict)),
  };
}

// ---- endpoint config ----

export interface EndpointConfig {
  generation: number;
  ifbIfindex: number;
  isolatedIngress: boolean;
  isolatedEgress: boolean;
  eventsIngress: boolean;
  eventsEgress: boolean;
  /** policySkipFlags of the endpoint's entries; absent = 0 = every slice is looked up. */
  skips?: number;
  /** Own addresses: the only sources the endpoint's egress may use (absent = none: no IP egress). */
  addresses?: EndpointAddresses;
  /** Live conntrack entries the endpoint may hold; absent or 0 = the datapath's default. */
  conntrackQuota?: number;
}

/** The endpoint's own MAC ("02:00:..", absent = not checked) and IPs (canonical text). */
export interface EndpointAddresses {
  mac?: string;
  ips: string[];
}

function encodeMac(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
    throw new Error(`endpoint MAC "${mac}" is not six colon-separated hex bytes (e.g. 02:42:0a:00:00:05)`);
  }
  return Buffer.from(parts.join(''), 'hex');
}

const formatMac = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

export function encodeEndpointId(id: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(id, 0);
  return b;
}

export function encodeEndpointConfig(c: EndpointConfig): Buffer {
  const f = LAYOUT.weir_endpoint_config.fields;
  const b = Buffer.alloc(LAYOUT.weir_endpoint_config.size);
  const flags =
    ENDPOINT_FLAGS.configured |
    (c.isolatedIngress ? ENDPOINT_FLAGS.isolatedIngress : 0) |
    (c.isolatedEgress ? ENDPOINT_FLAGS.isolatedEgress : 0) |
    (c.eventsIngress ? ENDPOINT_FLAGS.eventsIngress : 0) |
    (c.eventsEgress ? ENDPOINT_FLAGS.eventsEgress : 0) |
    ((c.skips ?? 0) & SKIP_MASK);
  const a = c.addresses;
  if (a !== undefined && a.ips.length > MAX_ENDPOINT_ADDRS) {
    throw new Error(`endpoint has ${a.ips.length} IPs (${a.ips.join(', ')}); the datapath holds at most ${MAX_ENDPOINT_ADDRS} per interface`);
  }
  b.writeUInt32LE(c.generation >>> 0, f.generation);
  b.writeUInt32LE(c.ifbIfindex, f.ifb_ifindex);
  b.writeUInt32LE((flags | (a?.mac !== undefined ? ENDPOINT_FLAGS.macKnown : 0)) >>> 0, f.flags);
  b.writeUInt32LE(c.conntrackQuota ?? 0, f.ct_quota);
  if (a?.mac !== undefined) encodeMac(a.mac).copy(b, f.mac);
  b.writeUInt8(a?.ips.length ?? 0, f.addr_count);
  for (const [i, ip] of (a?.ips ?? []).entries()) {
    const c4 = parseIp(ip);
    if (c4 === undefined) throw new Error(`endpoint IP "${ip}" is not an IPv4 or IPv6 address`);
    addrBytes(c4.family, c4.addr).copy(b, f.addrs + 16 * i);
  }
  return b;
}

/** An all-zero slot: what a detached endpoint's config becomes (the map is an array). */
export const EMPTY_ENDPOINT_CONFIG = (): Buffer => Buffer.alloc(LAYOUT.weir_endpoint_config.size);

/** undefined for a slot that is not configured. */
export function decodeEndpointConfig(b: Buffer): EndpointConfig | undefined {
  const f = LAYOUT.weir_endpoint_config.fields;
  const flags = b.readUInt32LE(f.flags);
  if ((flags & ENDPOINT_FLAGS.configured) === 0) return undefined;
  const count = Math.min(b.readUInt8(f.addr_count), MAX_ENDPOINT_ADDRS);
  const ips = Array.from({ length: count }, (_, i) => decodeAddr(b, f.addrs + 16 * i).text);
  const mac = (flags & ENDPOINT_FLAGS.macKnown) !== 0 ? formatMac(b.subarray(f.mac, f.mac + 6)) : undefined;
  const quota = b.readUInt32LE(f.ct_quota);
  return {
    generation: b.readUInt32LE(f.generation),
    ifbIfindex: b.readUInt32LE(f.ifb_ifindex),
    isolatedIngress: (flags & ENDPOINT_FLAGS.isolatedIngress) !== 0,
    isolatedEgress: (flags & ENDPOINT_FLAGS.isolatedEgress) !== 0,
    eventsIngress: (flags & ENDPOINT_FLAGS.eventsIngress) !== 0,
    eventsEgress: (flags & ENDPOINT_FLAGS.eventsEgress) !== 0,
    skips: (flags & SKIP_MASK) >>> 0,
    addresses: mac === undefined ? { ips } : { mac, ips },
    ...(quota !== 0 ? { conntrackQuota: quota } : {}),
  };
}

// ---- conntrack (read side: inspection, GC, tests) ----

export interface ConntrackKey {
  endpointId: number;
  addrA: string;
  addrB: string;
  portA: number;
  portB: number;
  protocol: number;
}

export function decodeConntrackKey(b: Buffer): ConntrackKey {
  const f = LAYOUT.weir_ct_key.fields;
  return {
    endpointId: b.readUInt32LE(f.endpoint_id),
    addrA: decodeAddr(b, f.addr_a).text,
    addrB: decodeAddr(b, f.addr_b).text,
    portA: b.readUInt16BE(f.port_a),
    portB: b.readUInt16BE(f.port_b),
    protocol: b.readUInt8(f.protocol),
  };
}

export interface ConntrackValue {
  expiresNs: bigint;
  generation: number;
  ruleId: number;
  openerIsA: boolean;
  direction: Direction;
  flags: number;
  remoteIdentity: number;
}

export function decodeConntrackValue(b: Buffer): ConntrackValue {
  const f = LAYOUT.weir_ct_value.fields;
  return {
    expiresNs: b.readBigUInt64LE(f.expires_ns),
    generation: b.readUInt32LE(f.generation),
    ruleId: b.readUInt32LE(f.rule_id),
    openerIsA: b.readUInt8(f.opener_is_a) !== 0,
    direction: decodeDirection(b.readUInt8(f.direction)),
    flags: b.readUInt8(f.flags),
    remoteIdentity: b.readUInt32LE(f.remote_identity),
  };
}

// ---- counters ----

export function encodeCounterKey(endpointId: number, reason: Reason): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(endpointId * REASON_SLOTS + REASONS.indexOf(reason), 0);
  return b;
}

export function decodeCounterKey(b: Buffer): { endpointId: number; reason: Reason } {
  const index = b.readUInt32LE(0);
  return { endpointId: Math.floor(index / REASON_SLOTS), reason: decodeReason(index % REASON_SLOTS) };
}

/** Sums the per-CPU slots of one counter. */
export function sumCounterValues(perCpu: readonly Buffer[]): { packets: bigint; bytes: bigint } {
  let packets = 0n;
  let bytes = 0n;
  for (const v of perCpu) {
    packets += v.readBigUInt64LE(0);
    bytes += v.readBigUInt64LE(8);
  }
  return { packets, bytes };
}

// ---- flow events ----

export interface FlowEvent {
  timestampNs: bigint;
  endpointId: number;
  /** Index into DesiredNodeState.rules, or undefined when no rule decided (default allow/deny). */
  ruleId: number | undefined;
  remoteIdentity: number;
  packetLength: number;
  family: Family;
  source: string;
  destination: string;
  sourcePort: number;
  destinationPort: number;
  protocol: number;
  direction: Direction;
  verdict: 'allow' | 'deny';
  reason: Reason;
  tier: Tier | undefined;
}

export function decodeFlowEvent(b: Buffer): FlowEvent {
  if (b.length < LAYOUT.weir_flow_event.size) {
    throw new Error(`flow event: ${b.length} bytes, expected ${LAYOUT.weir_flow_event.size}`);
  }
  const f = LAYOUT.weir_flow_event.fields;
  const ruleId = b.readUInt32LE(f.rule_id);
  const tierCodeValue = b.readUInt8(f.tier);
  const verdict = decodeVerdict(b.readUInt8(f.verdict));
  if (verdict === 'pass') throw new Error('flow event: verdict pass is never emitted');
  return {
    timestampNs: b.readBigUInt64LE(f.timestamp_ns),
    endpointId: b.readUInt32LE(f.endpoint_id),
    ruleId: ruleId === RULE_NONE ? undefined : ruleId,
    remoteIdentity: b.readUInt32LE(f.remote_identity),
    packetLength: b.readUInt32LE(f.pkt_len),
    family: b.readUInt8(f.family) === 4 ? 4 : 6,
    source: decodeAddr(b, f.saddr).text,
    destination: decodeAddr(b, f.daddr).text,
    sourcePort: b.readUInt16LE(f.sport),
    destinationPort: b.readUInt16LE(f.dport),
    protocol: b.readUInt8(f.protocol),
    direction: decodeDirection(b.readUInt8(f.direction)),
    verdict,
    reason: decodeReason(b.readUInt8(f.reason)),
    tier: tierCodeValue === TIER_NONE ? undefined : TIERS[tierCodeValue],
  };
}
