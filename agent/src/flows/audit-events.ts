/**
 * A Kubernetes Event on each audit policy (issue 17), so `kubectl describe networkpolicy` shows
 * what it would break: "3 distinct flows would have been dropped by this audit policy in the last
 * 10 minutes; see weir audit report". Counted from the node's would-drop flow events (verdict audit,
 * the deciding rule an audit policy's). Rate-limited per policy: the first would-drop reports at
 * once, then at most one Event per window, when a new distinct flow arrives after it (no timer:
 * an audit policy that stops matching stops producing Events). Per node: each agent reports the
 * flows its own pods judged.
 */
import { splitFlowEnd, type FlowRecord } from '../api.js';
import type { FlowEvent } from '../datapath/codec.js';
import type { RuleOrigin } from '../datapath/desired.js';
import type { ObjectEventSink, ObjectRef } from '../events.js';
import { policyOf } from './verdicts.js';

export const AUDIT_EVENT_REASON = 'WeirAuditWouldDrop';
export const AUDIT_EVENT_WINDOW_MS = 10 * 60 * 1000;

/** The policy object behind a rule (kind, namespace '' for cluster-scoped, name), if it is known. */
export type PolicyObjectRef = (kind: string, namespace: string, name: string) => ObjectRef | undefined;

interface Pending {
  ref: ObjectRef;
  /** Distinct flows (source host, destination, protocol) since the last Event. */
  flows: Set<string>;
  lastEventAt: number | undefined;
  since: number;
}

export class AuditPolicyEvents {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly sink: ObjectEventSink,
    private readonly refOf: PolicyObjectRef,
    private readonly now: () => number,
    private readonly windowMs = AUDIT_EVENT_WINDOW_MS,
  ) {}

  add(event: FlowEvent, origin: RuleOrigin | undefined, record: FlowRecord): void {
    if (event.verdict !== 'audit' || origin?.audit !== true) return;
    const p = policyOf(origin, '');
    const key = `${p.kind}\u0000${p.namespace}\u0000${p.policy}`;
    let cur = this.pending.get(key);
    if (cur === undefined) {
      const ref = this.refOf(p.kind, p.namespace, p.policy);
      if (ref === undefined) return; // not (or no longer) a known object: nothing to attach it to
      this.pending.set(key, (cur = { ref, flows: new Set(), lastEventAt: undefined, since: this.now() }));
    }
    // The source port differs per connection: a flow is (source host, destination host:port, protocol).
    cur.flows.add(`${splitFlowEnd(record.source, record.protocol).host}\u0000${record.destination}\u0000${record.protocol}`);
    const t = this.now();
    if (cur.lastEventAt !== undefined && t - cur.lastEventAt < this.windowMs) return;
    const n = cur.flows.size;
    const minutes = Math.max(1, Math.round((t - cur.since) / 60_000));
    const span = cur.lastEventAt === undefined ? 'just now' : `in the last ${minutes} minute${minutes === 1 ? '' : 's'}`;
    this.sink.warning(cur.ref, AUDIT_EVENT_REASON,
      `${n} distinct flow${n === 1 ? '' : 's'} would have been dropped by this audit policy ${span} (weir.dev/enforcement: audit); see weir audit report`);
    cur.flows.clear();
    cur.lastEventAt = t;
    cur.since = t;
  }

  /** A deleted policy: forget its window. */
  remove(kind: string, namespace: string, name: string): void {
    this.pending.delete(`${kind}\u0000${namespace}\u0000${name}`);
  }
}
