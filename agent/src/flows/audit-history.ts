/**
 * What the node's audit policies and audit namespaces would have changed, kept so that
 * `weir audit report --since 1h` can answer about the past (issue 17) instead of listening for an
 * hour. Only distinct flows are kept (agent/src/api.ts AuditFlow: workloads, port, policy), never
 * single events, so memory is bounded by what differs, not by traffic: at most `maxFlows` entries
 * (the least recently seen goes first) and none older than `retentionMs`. A port scan through an
 * audit policy therefore pushes out old flows rather than growing the agent; the report says the
 * history is bounded. Lost on restart, like the flow stream.
 */
import { auditFlowKey, auditFlowOf, type AuditFlowEntry, type FlowRecord } from '../api.js';

export const AUDIT_HISTORY_MAX_FLOWS = 10_000;
export const AUDIT_HISTORY_RETENTION_MS = 24 * 60 * 60 * 1000;

interface Kept {
  entry: AuditFlowEntry;
  lastSeenMs: number;
}

export class AuditHistory {
  /** Insertion order = least recently seen first (an update re-inserts). */
  private readonly flows = new Map<string, Kept>();

  constructor(
    private readonly maxFlows = AUDIT_HISTORY_MAX_FLOWS,
    private readonly retentionMs = AUDIT_HISTORY_RETENTION_MS,
  ) {}

  get size(): number { return this.flows.size; }

  /** Counts an AUDIT record seen at `nowMs`; other records are ignored. */
  add(record: FlowRecord, nowMs: number): void {
    const flow = auditFlowOf(record);
    if (flow === undefined) return;
    const key = auditFlowKey(flow);
    const at = new Date(nowMs).toISOString();
    const cur = this.flows.get(key);
    this.flows.delete(key);
    this.flows.set(key, {
      entry: cur === undefined ? { ...flow, events: 1, firstSeen: at, lastSeen: at } : { ...cur.entry, events: cur.entry.events + 1, lastSeen: at },
      lastSeenMs: nowMs,
    });
    this.expire(nowMs);
    for (const oldest of this.flows.keys()) {
      if (this.flows.size <= this.maxFlows) break;
      this.flows.delete(oldest);
    }
  }

  /** The flows last seen at or after `sinceMs`, least recently seen first. */
  since(sinceMs: number, nowMs: number): AuditFlowEntry[] {
    this.expire(nowMs);
    return [...this.flows.values()].filter((k) => k.lastSeenMs >= sinceMs).map((k) => k.entry);
  }

  private expire(nowMs: number): void {
    for (const [key, kept] of this.flows) {
      if (nowMs - kept.lastSeenMs <= this.retentionMs) break;
      this.flows.delete(key);
    }
  }
}
