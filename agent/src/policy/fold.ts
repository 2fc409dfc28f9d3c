/**
 * Makes one longest-prefix lookup per identity sufficient. Within one (tier, direction, identity)
 * the datapath's LPM returns only the narrowest matching entry, so every entry must already carry
 * the strongest verdict of every broader entry that covers it. Duplicated keys collapse to the
 * strongest. Order: higher precedence, then deny > pass > allow. Audit entries (PolicyEntry.audit)
 * are a keyspace of their own in the trie, looked up separately: they are folded among themselves.
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

const TIER_INDEX = { admin: 0, network: 1, baseline: 2 } as const;

const KEYSPACE = { none: 0, rule: 1, isolation: 2 } as const;

/** (keyspace, tier, direction, identity) as one number: identities are u32, so (identity * 6 + …) * 3 + … stays exact. */
const groupOf = (e: PolicyEntry): number =>
  (e.identity * 6 + TIER_INDEX[e.tier] * 2 + (e.direction === 'ingress' ? 0 : 1)) * 3 + KEYSPACE[e.audit ?? 'none'];

const sameKey = (a: PolicyEntry, b: PolicyEntry): boolean =>
  a.protocol === b.protocol && a.port === b.port && a.portPrefixLength === b.portPrefixLength;

export function foldEntries(entries: PolicyEntry[]): PolicyEntry[] {
  // Hot path of every compile: numeric group keys, no per-entry strings, single-entry groups untouched.
  const groups = new Map<number, PolicyEntry | PolicyEntry[]>();
  for (const e of entries) {
    const g = groupOf(e);
    const cur = groups.get(g);
    if (cur === undefined) groups.set(g, e);
    else if (Array.isArray(cur)) cur.push(e);
    else groups.set(g, [cur, e]);
  }
  const out: PolicyEntry[] = [];
  for (const group of groups.values()) {
    if (!Array.isArray(group)) {
      out.push(group);
      continue;
    }
    // Collapse duplicate keys to the strongest.
    const list: PolicyEntry[] = [];
    for (const e of group) {
      const i = list.findIndex((x) => sameKey(x, e));
      const cur = i < 0 ? undefined : list[i];
      if (cur === undefined) list.push(e);
      else if (stronger(e, cur)) list[i] = e;
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
