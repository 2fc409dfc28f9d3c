/**
 * Encode/decode every struct shared with the BPF programs (bpf/include/weir_shared.h).
 * LAYOUT (constants.ts) is the one place that knows sizes and offsets; codec.test.ts compares it
 * with the BTF of build/bpf/weir.bpf.o, so the C header and this file cannot drift apart silently.
 *
 * Byte order follows the header: addresses and ports inside map keys are network order;
 * every other integer is host order (little-endian: x86-64 and arm64 are the targets).
 */
import { makeCidr, parseCidr, type Cidr, type Family } from '../../../common/src/ip.js';
import type { Direction, PolicyEntry, Verdict } from './desired.js';


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
  frags: 'weir_frags',
  meta: 'weir_meta',
  nodeAddrs: 'weir_node_addrs',
} as const;

export const PROGRAMS = { ingress: 'weir_ingress', egress: 'weir_egress' } as const;
/** The `const volatile` global each per-endpoint load sets. */
export const ENDPOINT_ID_CONSTANT = 'endpoint_id';

export * from './constants.js';
export * from './addr.js';
export * from './endpoint-config.js';
import { addrBytes, decodeAddr } from './addr.js';
import {
  AUDIT_ALLOW_VERDICT_CODE, AUDIT_DENY_VERDICT_CODE, DIRECTIONS, LAYOUT, POLICY_FIXED_BITS, POLICY_KEYSPACES, keyspaceOf, REASON_SLOTS, REASONS, RULE_NONE, TIER_NONE, TIERS,
  directionCode, tierCode, verdictCode, type Reason, type Tier,
} from './constants.js';

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

/** weir_ipcache_value: the identity and, for a pod address, its namespace class (else 0). */
export function encodeIpCacheValue(identity: number, namespaceClass = 0): Buffer {
  const f = LAYOUT.weir_ipcache_value.fields;
  const b = Buffer.alloc(LAYOUT.weir_ipcache_value.size);
  b.writeUInt32LE(identity, f.identity);
  b.writeUInt32LE(namespaceClass, f.namespace_class);
  return b;
}


// ---- policy ----

/** The part of a PolicyEntry that forms the LPM key. */
export type PolicyKeyFields = Pick<PolicyEntry, 'tier' | 'direction' | 'identity' | 'protocol' | 'port' | 'portPrefixLength' | 'audit'>;

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
  b.writeUInt8(keyspaceOf(e), f.reserved);
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
  const keyspace = b.readUInt8(f.reserved);
  if (keyspace > POLICY_KEYSPACES.auditIsolation) throw new Error(`bad policy keyspace ${keyspace}`);
  return {
    ...(keyspace === POLICY_KEYSPACES.audit ? { audit: 'rule' as const } : keyspace === POLICY_KEYSPACES.auditIsolation ? { audit: 'isolation' as const } : {}),
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
  /**
   * 'audit': a drop that was not enforced, "would drop" — an audit endpoint let through a flow policy
   * drops, or the endpoint's audit policies would drop a flow the enforced policy allows (reason,
   * rule: the drop it would have been). 'audit-allow': "would allow" — the enforced policy drops a
   * flow the audit policies would allow (reason, rule: the audit allow).
   */
  verdict: 'allow' | 'deny' | 'audit' | 'audit-allow';
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
  const code = b.readUInt8(f.verdict);
  const decoded = code === AUDIT_DENY_VERDICT_CODE ? 'audit' : code === AUDIT_ALLOW_VERDICT_CODE ? 'audit-allow' : decodeVerdict(code);
  if (decoded === 'pass') throw new Error('flow event: verdict pass is never emitted');
  const verdict: FlowEvent['verdict'] = decoded;
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
