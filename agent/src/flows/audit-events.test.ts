import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../api.js';
import type { FlowEvent } from '../datapath/codec.js';
import type { RuleOrigin } from '../datapath/desired.js';
import type { ObjectRef } from '../events.js';
import { AUDIT_EVENT_REASON, AuditPolicyEvents } from './audit-events.js';

const event: FlowEvent = {
  timestampNs: 1n, endpointId: 3, ruleId: 7, remoteIdentity: 300, packetLength: 60, family: 4,
  source: '10.9.0.2', destination: '10.9.0.3', sourcePort: 40312, destinationPort: 80, protocol: 6,
  direction: 'ingress', verdict: 'audit', reason: 'default-deny', tier: undefined,
};
const record = (source: string, destination = 'shop/web:80'): FlowRecord => ({
  time: 't', node: 'n1', endpoint: 'shop/web', direction: 'ingress', verdict: 'AUDIT', reason: 'default-deny',
  protocol: 'TCP', source, destination, policy: 'shop/deny-all (audit policy)', remoteIdentity: 300,
});
const auditNp: RuleOrigin = { kind: 'NetworkPolicy', policy: 'shop/deny-all', direction: 'ingress', audit: true };
const ref: ObjectRef = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: 'shop', name: 'deny-all', uid: 'u1' };

function setup() {
  let t = 0;
  const sent: Array<{ object: ObjectRef; reason: string; message: string }> = [];
  const lookups: string[] = [];
  const events = new AuditPolicyEvents(
    { warning: (object, reason, message) => sent.push({ object, reason, message }) },
    (kind, ns, name) => { lookups.push(`${kind} ${ns}/${name}`); return kind === 'NetworkPolicy' && ns === 'shop' && name === 'deny-all' ? ref : undefined; },
    () => t,
    600_000,
  );
  return { events, sent, lookups, advance: (ms: number) => { t += ms; } };
}

describe('Events on audit policies', () => {
  it('the first would-drop reports at once on the policy object; then one Event per window counting distinct flows', () => {
    const { events, sent, lookups, advance } = setup();
    events.add(event, auditNp, record('shop/client:40312'));
    expect(lookups).toEqual(['NetworkPolicy shop/deny-all']);
    expect(sent.map((e) => [e.object, e.reason])).toEqual([[ref, AUDIT_EVENT_REASON]]);
    expect(sent[0]?.message).toMatch(/^1 distinct flow would have been dropped by this audit policy just now .*weir audit report$/);
    // Within the window: counted, not reported. Another source port of the same pair is the same flow.
    advance(60_000);
    events.add(event, auditNp, record('shop/client:40999'));
    events.add(event, auditNp, record('shop/batch:5000'));
    events.add(event, auditNp, record('shop/client:41000', 'shop/web:8080'));
    expect(sent).toHaveLength(1);
    advance(600_000);
    events.add(event, auditNp, record('shop/client:42000'));
    expect(sent).toHaveLength(2);
    expect(sent[1]?.message).toMatch(/^3 distinct flows would have been dropped by this audit policy in the last 11 minutes/);
  });

  it('only would-drops decided by an audit policy count; unknown objects and deleted policies get nothing', () => {
    const { events, sent } = setup();
    events.add({ ...event, verdict: 'deny' }, auditNp, record('shop/a:1'));
    events.add({ ...event, verdict: 'audit-allow' }, auditNp, record('shop/a:1'));
    events.add(event, { ...auditNp, audit: undefined }, record('shop/a:1')); // an audit namespace's drop by an enforced policy
    events.add(event, { ...auditNp, policy: 'shop/gone' }, record('shop/a:1'));
    expect(sent).toEqual([]);
    events.add(event, auditNp, record('shop/a:1'));
    events.remove('NetworkPolicy', 'shop', 'deny-all');
    events.add(event, auditNp, record('shop/b:1')); // a fresh window: reported at once again
    expect(sent).toHaveLength(2);
  });
});
