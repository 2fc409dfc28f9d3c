/**
 * Tiny packet builder for BPF_PROG_TEST_RUN: Ethernet frames with IPv4/IPv6 and
 * TCP/UDP/SCTP/ICMP/ICMPv6, ARP. Checksums are left zero (the programs never verify them).
 */
import { parseIp } from '../../common/src/ip.js';

const SRC_MAC = Buffer.from('020000000001', 'hex');
const DST_MAC = Buffer.from('020000000002', 'hex');

export const PROTO = { icmp: 1, tcp: 6, udp: 17, sctp: 132, icmpv6: 58 } as const;
export const TCP = { fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10 } as const;

function ether(ethertype: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(14);
  DST_MAC.copy(h, 0);
  SRC_MAC.copy(h, 6);
  h.writeUInt16BE(ethertype, 12);
  return Buffer.concat([h, payload]);
}

function addr(text: string, family: 4 | 6): Buffer {
  const ip = parseIp(text);
  if (ip === undefined || ip.family !== family) throw new Error(`bad IPv${family} address ${text}`);
  const b = Buffer.alloc(family === 4 ? 4 : 16);
  if (family === 4) b.writeUInt32BE(Number(ip.addr), 0);
  else {
    b.writeBigUInt64BE(ip.addr >> 64n, 0);
    b.writeBigUInt64BE(ip.addr & 0xffffffffffffffffn, 8);
  }
  return b;
}

export interface L4 {
  protocol: number;
  header: Buffer;
}

export const tcp = (sport: number, dport: number, flags: number = TCP.syn): L4 => {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt8(5 << 4, 12);
  h.writeUInt8(flags, 13);
  h.writeUInt16BE(65535, 14);
  return { protocol: PROTO.tcp, header: h };
};

export const udp = (sport: number, dport: number): L4 => {
  const h = Buffer.alloc(8 + 4);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(12, 4);
  return { protocol: PROTO.udp, header: h };
};

export const sctp = (sport: number, dport: number): L4 => {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  return { protocol: PROTO.sctp, header: h };
};

/** ICMP (v4) or ICMPv6 message with an echo identifier. */
export const icmp = (type: number, id = 0x1234, v6 = false): L4 => {
  const h = Buffer.alloc(8);
  h.writeUInt8(type, 0);
  h.writeUInt16BE(id, 4);
  return { protocol: v6 ? PROTO.icmpv6 : PROTO.icmp, header: h };
};

/** `fragmentOffset` is the raw flags+offset field (0x2000 = more fragments, low 13 bits = offset / 8). */
export function ipv4(src: string, dst: string, l4: L4, opts: { fragmentOffset?: number; id?: number } = {}): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt8(0x45, 0);
  h.writeUInt16BE(20 + l4.header.length, 2);
  h.writeUInt16BE(opts.id ?? 0, 4);
  h.writeUInt16BE(opts.fragmentOffset ?? 0, 6);
  h.writeUInt8(64, 8);
  h.writeUInt8(l4.protocol, 9);
  addr(src, 4).copy(h, 12);
  addr(dst, 4).copy(h, 16);
  return ether(0x0800, Buffer.concat([h, l4.header]));
}

/**
 * IPv6; `hopByHop` inserts an 8-byte hop-by-hop options header before the L4 header, `fragment`
 * a fragment header (offset in bytes, a multiple of 8; `more` = the M flag).
 */
export function ipv6(src: string, dst: string, l4: L4, opts: { hopByHop?: boolean; fragment?: { id: number; offset: number; more: boolean } } = {}): Buffer {
  const h = Buffer.alloc(40);
  let ext = opts.hopByHop ? Buffer.from([l4.protocol, 0, 5, 2, 0, 0, 1, 0]) : Buffer.alloc(0);
  let first = opts.hopByHop ? 0 : l4.protocol;
  if (opts.fragment !== undefined) {
    const f = Buffer.alloc(8);
    f.writeUInt8(l4.protocol, 0);
    f.writeUInt16BE(opts.fragment.offset | (opts.fragment.more ? 1 : 0), 2);
    f.writeUInt32BE(opts.fragment.id, 4);
    ext = f;
    first = 44;
  }
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(ext.length + l4.header.length, 4);
  h.writeUInt8(first, 6);
  h.writeUInt8(64, 7);
  addr(src, 6).copy(h, 8);
  addr(dst, 6).copy(h, 24);
  return ether(0x86dd, Buffer.concat([h, ext, l4.header]));
}

export function arpRequest(senderIp: string, targetIp: string): Buffer {
  return arp(1, senderIp, targetIp);
}

const macBytes = (mac: string): Buffer => Buffer.from(mac.replaceAll(':', ''), 'hex');

/** ARP request (op 1) or reply (op 2); the sender MAC defaults to the frame's source MAC. */
export function arp(op: 1 | 2, senderIp: string, targetIp: string, senderMac?: string): Buffer {
  const p = Buffer.alloc(28);
  p.writeUInt16BE(1, 0); // Ethernet
  p.writeUInt16BE(0x0800, 2);
  p.writeUInt8(6, 4);
  p.writeUInt8(4, 5);
  p.writeUInt16BE(op, 6);
  (senderMac === undefined ? SRC_MAC : macBytes(senderMac)).copy(p, 8);
  addr(senderIp, 4).copy(p, 14);
  addr(targetIp, 4).copy(p, 24);
  return ether(0x0806, p);
}

/**
 * ICMPv6 neighbour discovery: NS (135) / NA (136) carry `target`; RS (133) / RA (134) none.
 * `llMac` adds a source (NS/RS/RA) or target (NA) link-layer address option.
 */
export function nd(type: 133 | 134 | 135 | 136, src: string, dst: string, opts: { target?: string; llMac?: string } = {}): Buffer {
  const body = type === 135 || type === 136 ? Buffer.alloc(24) : Buffer.alloc(type === 134 ? 16 : 8);
  body.writeUInt8(type, 0);
  if (opts.target !== undefined) addr(opts.target, 6).copy(body, 8);
  const opt = opts.llMac === undefined ? Buffer.alloc(0) : Buffer.concat([Buffer.from([type === 136 ? 2 : 1, 1]), macBytes(opts.llMac)]);
  return ipv6(src, dst, { protocol: PROTO.icmpv6, header: Buffer.concat([body, opt]) });
}

/** The same frame with another source MAC. */
export function fromMac(frame: Buffer, mac: string): Buffer {
  const f = Buffer.from(frame);
  macBytes(mac).copy(f, 6);
  return f;
}

/** The same frame with an 802.1Q tag (VLAN `id`) inserted after the MAC addresses. */
export function vlanTagged(frame: Buffer, id: number): Buffer {
  const tag = Buffer.alloc(4);
  tag.writeUInt16BE(0x8100, 0);
  tag.writeUInt16BE(id & 0xfff, 2);
  return Buffer.concat([frame.subarray(0, 12), tag, frame.subarray(12)]);
}

/** The same frame with its ethertype field overwritten. */
export function withEthertype(frame: Buffer, ethertype: number): Buffer {
  const f = Buffer.from(frame);
  f.writeUInt16BE(ethertype, 12);
  return f;
}

/** An ICMP (or ICMPv6) error of `type`/`code` quoting `quoted` (a whole frame; its IP part is quoted). */
export function icmpError(type: number, code: number, quoted: Buffer, v6 = false): L4 {
  const h = Buffer.alloc(8);
  h.writeUInt8(type, 0);
  h.writeUInt8(code, 1);
  if (!v6 && type === 3 && code === 4) h.writeUInt16BE(1400, 6); // next-hop MTU
  if (v6 && type === 2) h.writeUInt32BE(1280, 4); // MTU
  return { protocol: v6 ? PROTO.icmpv6 : PROTO.icmp, header: Buffer.concat([h, quoted.subarray(14)]) };
}

/** A later fragment's payload: bytes of the datagram, no L4 header. */
export const payload = (protocol: number, bytes: number): L4 => ({ protocol, header: Buffer.alloc(bytes, 0x61) });
