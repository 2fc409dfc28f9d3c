/**
 * Desired map contents as hex-keyed maps, the add/delete diff against what a map holds (pure),
 * and writing such a diff into a map. Keys and values are compared as encoded bytes, so "changed" means the bytes differ.
 */
import { encodeIpCacheKey, encodeIpCacheValue, encodePolicyKey, encodePolicyValue, decodePolicyValue, verdictCode } from './codec.js';
import type { IpCacheEntry, PolicyEntry } from './desired.js';
import type { BpfMapPort } from './port.js';
import { isRecord } from '../../../common/src/records.js';

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
  for (const e of entries) out.set(encodeIpCacheKey(e.cidr).toString('hex'), encodeIpCacheValue(e.identity, e.namespaceClass).toString('hex'));
  return out;
}

/** Errnos a full map answers an insert with: E2BIG (hash, array), ENOSPC (LPM trie), ENOMEM. */
const MAP_FULL_ERRNOS = new Set([7, 12, 28]);
const isMapFull = (e: unknown): boolean => isRecord(e) && typeof e.errno === 'number' && MAP_FULL_ERRNOS.has(e.errno);

/**
 * Deletions first (they make room), then additions and changes. Returns what the map now holds.
 * A full map stops the writing at the first refused insert (`error`), or with `skipFull` skips
 * each refused insert and counts it (`failed`); any other error is thrown.
 */
export interface AppliedDiff {
  /** What the map holds now, as far as this diff went. */
  contents: MapContents;
  /** The full-map error that stopped the writing (without skipFull). */
  error?: unknown;
  failed: number;
}

export function applyDiff(map: BpfMapPort, diff: MapDiff, current: MapContents, skipFull = false): AppliedDiff {
  const contents = new Map(current);
  let failed = 0;
  for (const k of diff.deletes) {
    map.delete(Buffer.from(k, 'hex'));
    contents.delete(k);
  }
  for (const [k, v] of diff.upserts) {
    try {
      map.update(Buffer.from(k, 'hex'), Buffer.from(v, 'hex'));
    } catch (e) {
      if (!isMapFull(e)) throw e;
      if (!skipFull) return { contents, error: e, failed: 1 };
      failed++;
      continue;
    }
    contents.set(k, v);
  }
  return { contents, failed };
}

export function readContents(map: BpfMapPort): MapContents {
  const out: MapContents = new Map();
  for (const k of map.keys()) {
    const v = map.lookup(k);
    if (v !== undefined) out.set(k.toString('hex'), v.toString('hex'));
  }
  return out;
}
