/**
 * Desired map contents as hex-keyed maps, and the add/delete diff against what a map holds
 * (pure). Keys and values are compared as encoded bytes, so "changed" means the bytes differ.
 */
import { encodeIpCacheKey, encodeIpCacheValue, encodePolicyKey, encodePolicyValue, decodePolicyValue, verdictCode } from './codec.js';
import type { IpCacheEntry, PolicyEntry } from './desired.js';

/** hex(key) → hex(value) */
export type MapContents = Map<string, string>;

export interface MapDiff {
  /** New or changed entries, written with update(any). */
  upserts: Array<[key: string, value: string]>;
  deletes: string[];
  /** How many of the upserts replace an existing key with a different value. */
  changed: number;
}

export function diffContents(desired: MapContents, current: MapContents): MapDiff {
  const upserts: Array<[string, string]> = [];
  const deletes: string[] = [];
  let changed = 0;
  for (const [k, v] of desired) {
    const cur = current.get(k);
    if (cur === v) continue;
    if (cur !== undefined) changed++;
    upserts.push([k, v]);
  }
  for (const k of current.keys()) if (!desired.has(k)) deletes.push(k);
  return { upserts, deletes, changed };
}

/**
 * Policy entries of one endpoint as map contents. Two entries with the same key (the compiler
 * should not emit them, but a union of policies can) keep the one the datapath would prefer:
 * higher precedence, then deny > pass > allow.
 */
export function policyContents(endpointId: number, entries: readonly PolicyEntry[]): MapContents {
  const out: MapContents = new Map();
  for (const e of entries) {
    const k = encodePolicyKey(endpointId, e).toString('hex');
    const v = encodePolicyValue(e).toString('hex');
    const prev = out.get(k);
    if (prev !== undefined) {
      const p = decodePolicyValue(Buffer.from(prev, 'hex'));
      const better = e.precedence !== p.precedence ? e.precedence > p.precedence : verdictCode(e.verdict) > verdictCode(p.verdict);
      if (!better) continue;
    }
    out.set(k, v);
  }
  return out;
}

export function ipCacheContents(entries: readonly IpCacheEntry[]): MapContents {
  const out: MapContents = new Map();
  for (const e of entries) out.set(encodeIpCacheKey(e.cidr).toString('hex'), encodeIpCacheValue(e.identity).toString('hex'));
  return out;
}
