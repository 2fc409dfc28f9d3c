/** Addresses as the BPF maps hold them: 16 network-order bytes, IPv4-mapped for IPv4. */
import { formatIp, type Family } from '../../../common/src/ip.js';

const V4_MAPPED_PREFIX = 0xffffn << 32n;

export function addrBytes(family: Family, addr: bigint): Buffer {
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
