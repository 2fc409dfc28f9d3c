import { splitFlowEnd } from '../api.js';
import type { FlowRecord } from './format.js';

/**
 * Fans flow records out to live subscribers (`weir observe` streams). A slow subscriber is the
 * subscriber's problem: the hub never buffers; the HTTP adapter drops records while its socket is
 * backed up.
 */
export interface FlowFilter {
  /** "ns/name": the pod is the endpoint, the source or the destination. */
  pod?: string;
  /** audit: only AUDIT records (flows an audit endpoint let through that policy would drop). */
  verdict?: 'allowed' | 'dropped' | 'audit';
}

const RECORD_VERDICT = { allowed: 'ALLOWED', dropped: 'DROPPED', audit: 'AUDIT' } as const;

export type FlowFilterParse = { ok: true; filter: FlowFilter } | { ok: false; error: string };

export function parseFlowFilter(params: URLSearchParams): FlowFilterParse {
  const filter: FlowFilter = {};
  for (const key of params.keys()) {
    if (key !== 'pod' && key !== 'verdict') return { ok: false, error: `unknown query parameter ${JSON.stringify(key)} (use pod=ns/name, verdict=allowed|dropped|audit)` };
  }
  const pod = params.get('pod');
  if (pod !== null) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(pod)) return { ok: false, error: `pod=${JSON.stringify(pod)} must be namespace/name` };
    filter.pod = pod;
  }
  const verdict = params.get('verdict');
  if (verdict !== null) {
    if (verdict !== 'allowed' && verdict !== 'dropped' && verdict !== 'audit') return { ok: false, error: `verdict=${JSON.stringify(verdict)} must be allowed, dropped or audit` };
    filter.verdict = verdict;
  }
  return { ok: true, filter };
}

export function flowMatches(record: FlowRecord, filter: FlowFilter): boolean {
  if (filter.verdict !== undefined && record.verdict !== RECORD_VERDICT[filter.verdict]) return false;
  if (filter.pod !== undefined) {
    const p = filter.pod;
    const ep = record.endpoint === p || record.endpoint.startsWith(`${p}/`);
    if (!ep && splitFlowEnd(record.source, record.protocol).host !== p && splitFlowEnd(record.destination, record.protocol).host !== p) return false;
  }
  return true;
}

export class FlowHub {
  private readonly subscribers = new Set<{ filter: FlowFilter; deliver: (r: FlowRecord) => void }>();

  subscribe(filter: FlowFilter, deliver: (r: FlowRecord) => void): () => void {
    const sub = { filter, deliver };
    this.subscribers.add(sub);
    return () => void this.subscribers.delete(sub);
  }

  get size(): number { return this.subscribers.size; }

  publish(record: FlowRecord): void {
    for (const s of this.subscribers) {
      if (!flowMatches(record, s.filter)) continue;
      try {
        s.deliver(record);
      } catch {
        // A broken subscriber must not stop the others.
      }
    }
  }
}
