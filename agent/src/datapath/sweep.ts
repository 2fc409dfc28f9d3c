/**
 * Conntrack sweep: deletes expired entries and writes each endpoint's true count of live entries
 * into weir_ct_usage (bpf/include/conntrack.h). The programs add one to an endpoint's count per
 * entry they create and never subtract (an LRU eviction or an expiry is invisible to them), so
 * without this sweep the count would only grow and the endpoint would hit its quota for good.
 * Between sweeps the count can only be too high (fail closed: a new flow is refused early), or
 * too low by the entries created while the sweep ran.
 */
import { decodeConntrackKey, decodeConntrackValue, encodeEndpointId, LAYOUT, MAX_ENDPOINTS } from './codec.js';
import type { BpfMapPort } from './port.js';

export interface SweepResult {
  live: number;
  expired: number;
  /** endpoint id → live entries, for endpoints with at least one. */
  perEndpoint: Map<number, number>;
}

/** CLOCK_MONOTONIC in ns: the clock bpf_ktime_get_coarse_ns() reads (to a tick). */
export const monotonicNowNs = (): bigint => process.hrtime.bigint();

export function sweepConntrack(conntrack: BpfMapPort, usage: BpfMapPort, nowNs: bigint = monotonicNowNs()): SweepResult {
  const perEndpoint = new Map<number, number>();
  let expired = 0;
  let live = 0;
  for (const key of conntrack.keys()) {
    const value = conntrack.lookup(key);
    if (value === undefined) continue;
    if (decodeConntrackValue(value).expiresNs <= nowNs) {
      if (conntrack.delete(key)) expired++;
      continue;
    }
    live++;
    const id = decodeConntrackKey(key).endpointId;
    perEndpoint.set(id, (perEndpoint.get(id) ?? 0) + 1);
  }
  const value = Buffer.alloc(LAYOUT.weir_ct_usage.size);
  for (let id = 0; id < MAX_ENDPOINTS; id++) {
    const want = BigInt(perEndpoint.get(id) ?? 0);
    const key = encodeEndpointId(id);
    if (usage.lookup(key)?.readBigUInt64LE(0) === want) continue;
    value.writeBigUInt64LE(want, 0);
    usage.update(key, value);
  }
  return { live, expired, perEndpoint };
}
