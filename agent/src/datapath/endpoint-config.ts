/**
 * weir_endpoint_config (bpf/include/weir_shared.h): how the programs treat one endpoint, written
 * by the driver, read back by adoptExisting after an agent restart.
 */
import { parseIp } from '../../../common/src/ip.js';
import { addrBytes, decodeAddr } from './addr.js';
import { ENDPOINT_FLAGS, LAYOUT, SHAPING_FLAGS, MAX_ENDPOINT_ADDRS, SKIP_MASK } from './constants.js';

export interface EndpointConfig {
  generation: number;
  ifbIfindex: number;
  isolatedIngress: boolean;
  isolatedEgress: boolean;
  eventsIngress: boolean;
  eventsEgress: boolean;
  /** Audit mode: policy drops pass and are reported as AUDIT events (WEIR_EP_AUDIT). Absent = enforce. */
  audit?: boolean;
  /** The policy holds audit entries: new flows are also judged as if they were enforced (WEIR_EP_AUDIT_POLICIES). */
  auditPolicies?: boolean;
  /** policySkipFlags of the endpoint's entries; absent = 0 = every slice is looked up. */
  skips?: number;
  /** Own addresses: the only sources the endpoint's egress may use (absent = none: no IP egress). */
  addresses?: EndpointAddresses;
  /** Live conntrack entries the endpoint may hold; absent or 0 = the datapath's default. */
  conntrackQuota?: number;
  /** The direction is shaped by HTB flow classes: the programs set skb->priority (weir_endpoint_config.shaping). */
  flowClassesIngress?: boolean;
  flowClassesEgress?: boolean;
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
    (c.audit === true ? ENDPOINT_FLAGS.audit : 0) |
    (c.auditPolicies === true ? ENDPOINT_FLAGS.auditPolicies : 0) |
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
  b.writeUInt8((c.flowClassesIngress === true ? SHAPING_FLAGS.flowClassesIngress : 0) | (c.flowClassesEgress === true ? SHAPING_FLAGS.flowClassesEgress : 0), f.shaping);
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
  const shaping = b.readUInt8(f.shaping);
  return {
    generation: b.readUInt32LE(f.generation),
    ifbIfindex: b.readUInt32LE(f.ifb_ifindex),
    isolatedIngress: (flags & ENDPOINT_FLAGS.isolatedIngress) !== 0,
    isolatedEgress: (flags & ENDPOINT_FLAGS.isolatedEgress) !== 0,
    eventsIngress: (flags & ENDPOINT_FLAGS.eventsIngress) !== 0,
    eventsEgress: (flags & ENDPOINT_FLAGS.eventsEgress) !== 0,
    ...((flags & ENDPOINT_FLAGS.audit) !== 0 ? { audit: true } : {}),
    ...((flags & ENDPOINT_FLAGS.auditPolicies) !== 0 ? { auditPolicies: true } : {}),
    ...((shaping & SHAPING_FLAGS.flowClassesIngress) !== 0 ? { flowClassesIngress: true } : {}),
    ...((shaping & SHAPING_FLAGS.flowClassesEgress) !== 0 ? { flowClassesEgress: true } : {}),
    skips: (flags & SKIP_MASK) >>> 0,
    addresses: mac === undefined ? { ips } : { mac, ips },
    ...(quota !== 0 ? { conntrackQuota: quota } : {}),
  };
}
