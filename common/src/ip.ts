/**
 * IP addresses and CIDRs as typed values: the one IP grammar of Weir (the agent's policies and
 * identities, the webhook's and the lab's reading of Multus annotations). Addresses are held as
 * bigints so IPv4 and IPv6 share one code path; `canonical` is the one text form used in the
 * ipcache ("10.0.0.0/8", "fd00::/64").
 */

/**
 * How an IPv4 part with a leading zero ("010") reads. Kubernetes' (legacy) validation accepts it in
 * an ipBlock and means decimal 10, so the agent must read policies that way; Go's net.ParseIP
 * refuses it since Go 1.17, so Multus (and the webhook, which predicts Multus) must refuse it.
 */
export interface IpGrammar {
  leadingZeros: 'decimal' | 'refuse';
}
/** What the API server lets into a NetworkPolicy ipBlock. */
export const KUBERNETES_IP: IpGrammar = { leadingZeros: 'decimal' };
/** What Go's net.ParseIP / net.ParseCIDR accept (Multus, the CNI plugins). */
export const GO_IP: IpGrammar = { leadingZeros: 'refuse' };

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** Network address with host bits cleared. */
  addr: bigint;
  prefix: number;
  /** Canonical text form. */
  canonical: string;
}

const bitsOf = (family: Family): number => (family === 4 ? 32 : 128);

function parseV4(text: string, g: IpGrammar): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    if (g.leadingZeros === 'refuse' && p.length > 1 && p.startsWith('0')) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(text: string, grammar: IpGrammar): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const items = s.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i] ?? '';
      if (i === items.length - 1 && g.includes('.')) {
        // Embedded IPv4 tail (::ffff:1.2.3.4).
        const v4 = parseV4(g, grammar);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  let v = 0n;
  for (const g of all) v = (v << 16n) | BigInt(g);
  return v;
}

export function parseIp(text: string, grammar: IpGrammar = KUBERNETES_IP): { family: Family; addr: bigint } | undefined {
  if (text.includes(':')) {
    const addr = parseV6(text, grammar);
    return addr === undefined ? undefined : { family: 6, addr };
  }
  const addr = parseV4(text, grammar);
  return addr === undefined ? undefined : { family: 4, addr };
}

export function formatIp(family: Family, addr: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((addr >> s) & 0xffn)).join('.');
  }
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((addr >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (length ≥ 2) of zero groups, the first one on ties.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function mask(family: Family, prefix: number): bigint {
  const bits = bitsOf(family);
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
}

export function makeCidr(family: Family, addr: bigint, prefix: number): Cidr {
  const net = addr & mask(family, prefix);
  return { family, addr: net, prefix, canonical: `${formatIp(family, net)}/${prefix}` };
}

/** Parses "a.b.c.d/n" or "x::y/n"; host bits are cleared (Kubernetes accepts them in ipBlock). */
export function parseCidr(text: string, grammar: IpGrammar = KUBERNETES_IP): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash), grammar);
  const p = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,3}$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > bitsOf(ip.family)) return undefined;
  return makeCidr(ip.family, ip.addr, prefix);
}

/** A single address as a full-length CIDR. */
export function hostCidr(text: string): Cidr | undefined {
  const ip = parseIp(text);
  return ip === undefined ? undefined : makeCidr(ip.family, ip.addr, bitsOf(ip.family));
}

/** True when `inner` lies entirely inside `outer` (equal counts). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  return (inner.addr & mask(outer.family, outer.prefix)) === outer.addr;
}

export function ipInCidr(cidr: Cidr, family: Family, addr: bigint): boolean {
  return cidr.family === family && (addr & mask(family, cidr.prefix)) === cidr.addr;
}

/**
 * A set of CIDRs answering "which of them contain this address/CIDR" in O(prefix length):
 * a binary trie per family, each node holding the CIDRs that end there.
 */
export class CidrSet {
  private readonly roots: Record<Family, TrieNode> = { 4: newNode(), 6: newNode() };

  add(c: Cidr): void {
    let node = this.roots[c.family];
    const bits = bitsOf(c.family);
    for (let i = 0; i < c.prefix; i++) {
      const bit = Number((c.addr >> BigInt(bits - 1 - i)) & 1n);
      let next = node.child[bit];
      if (next === undefined) {
        next = newNode();
        node.child[bit] = next;
      }
      node = next;
    }
    if (!node.here.some((x) => x.canonical === c.canonical)) node.here.push(c);
  }

  /** Every member CIDR containing the `prefix`-bit block at `addr` (addr's host bits ignored). */
  containing(family: Family, addr: bigint, prefix: number = bitsOf(family)): Cidr[] {
    const out: Cidr[] = [];
    let node: TrieNode | undefined = this.roots[family];
    const bits = bitsOf(family);
    for (let i = 0; node !== undefined; i++) {
      out.push(...node.here);
      if (i >= prefix) break;
      const bit = Number((addr >> BigInt(bits - 1 - i)) & 1n);
      node = node.child[bit];
    }
    return out;
  }
}

interface TrieNode {
  child: [TrieNode | undefined, TrieNode | undefined];
  here: Cidr[];
}
function newNode(): TrieNode {
  return { child: [undefined, undefined], here: [] };
}
