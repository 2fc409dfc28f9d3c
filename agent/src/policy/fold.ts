/**
 * Makes one longest-prefix lookup per identity sufficient. Within one (tier, direction, identity)
 * the datapath's LPM returns only the narrowest matching entry, so every entry must already carry
 * the strongest verdict of every broader entry that covers it. Duplicated keys collapse to the
 * strongest. Order: higher precedence, then deny > pass > allow.
 */
import type { PolicyEntry, Verdict } from '../datapath/desired.js';
import { portMatches } from './ports.js';

const RANK: Record<Verdict, number> = { allow: 1, pass: 2, deny: 3 };

/** True when `a` beats `b`. */
export function stronger(a: Pick<PolicyEntry, 'precedence' | 'verdict'>, b: Pick<PolicyEntry, 'precedence' | 'verdict'>): boolean {
  if (a.precedence !== b.precedence) return a.precedence > b.precedence;
  return RANK[a.verdict] > RANK[b.verdict];
}

/** Bits of the (protocol, port) key an entry pins: 0 = protocol and port wildcarded. */
export const keyLength = (e: Pick<PolicyEntry, 'protocol' | 'portPrefixLength'>): number =>
  e.protocol === 0 ? 0 : 8 + e.portPrefixLength;

/** True when every packet matching `inner` also matches `outer` (same tier/direction/identity). */
export function covers(outer: PolicyEntry, inner: PolicyEntry): boolean {
  if (outer.protocol === 0) return true;
  if (outer.protocol !== inner.protocol || outer.portPrefixLength > inner.portPrefixLength) return false;
  return portMatches({ port: outer.port, prefixLength: outer.portPrefixLength }, inner.port);
}

export function foldEntries(entries: PolicyEntry[]): PolicyEntry[] {
  const groups = new Map<string, Map<string, PolicyEntry>>();
  for (const e of entries) {
    const g = `${e.tier}|${e.direction}|${e.identity}`;
    let group = groups.get(g);
    if (group === undefined) {
      group = new Map();
      groups.set(g, group);
    }
    const k = `${e.protocol}|${e.port}|${e.portPrefixLength}`;
    const cur = group.get(k);
    if (cur === undefined || stronger(e, cur)) group.set(k, e);
  }
  const out: PolicyEntry[] = [];
  for (const group of groups.values()) {
    const list = [...group.values()];
    if (list.length === 1) {
      out.push(...list);
      continue;
    }
    // Broader entries first, so each entry only needs to look at the ones before it.
    list.sort((a, b) => keyLength(a) - keyLength(b));
    const folded: PolicyEntry[] = [];
    for (const e of list) {
      let best = e;
      for (const f of folded) {
        if (keyLength(f) < keyLength(e) && covers(f, e) && stronger(f, best)) best = f;
      }
      folded.push(best === e ? e : { ...e, verdict: best.verdict, precedence: best.precedence, ruleId: best.ruleId });
    }
    out.push(...folded);
  }
  return out;
}
