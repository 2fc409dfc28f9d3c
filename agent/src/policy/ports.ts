/**
 * Port ranges as masked power-of-two prefixes, the form an LPM key on (protocol, dport) can hold.
 * Greedy split: at each step take the largest aligned block that starts at `lo` and fits in the
 * range. This is the minimal aligned decomposition: at most 30 blocks for a 16-bit range
 * (e.g. 1..65534; 1..65535 needs 16).
 */

export interface PortPrefix {
  port: number;
  /** Leading bits of the port that must match: 16 = exact port, 0 = any port. */
  prefixLength: number;
}

export function portRangeToPrefixes(lo: number, hi: number): PortPrefix[] {
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > 65535 || lo > hi) {
    throw new RangeError(`bad port range ${lo}-${hi}`);
  }
  const out: PortPrefix[] = [];
  let cur = lo;
  while (cur <= hi) {
    let size = 1;
    // Grow while the block stays aligned at `cur` and inside the range.
    while (size < 65536 && cur % (size * 2) === 0 && cur + size * 2 - 1 <= hi) size *= 2;
    out.push({ port: cur, prefixLength: 16 - Math.log2(size) });
    cur += size;
  }
  return out;
}

/** True when `port` falls inside the prefix block. */
export function portMatches(prefix: PortPrefix, port: number): boolean {
  if (prefix.prefixLength === 0) return true;
  const shift = 16 - prefix.prefixLength;
  return port >>> shift === prefix.port >>> shift;
}
