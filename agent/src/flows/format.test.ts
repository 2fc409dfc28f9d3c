import { describe, expect, it } from 'vitest';
import type { FlowEvent } from '../datapath/codec.js';
import { formatFlow, toFlowRecord, type FlowNames } from './format.js';

const names: FlowNames = {
  node: 'node-a',
  endpoint: (id) => (id === 3 ? 'ns/pod-b' : undefined),
  podByIp: (ip) => ({ '10.9.0.2': 'ns/pod-a', '10.9.0.3': 'ns/pod-b' } as Record<string, string>)[ip],
  isolatedBy: (id, direction) => (id === 3 && direction === 'ingress' ? ['NetworkPolicy ns/deny-all'] : []),
  rule: (id) => (id === 7 ? { policy: 'NetworkPolicy ns/deny-all', kind: 'NetworkPolicy', direction: 'ingress' } : id === 0 ? { policy: 'default deny', kind: 'DefaultDeny', direction: 'ingress' } : undefined),
};

const base: FlowEvent = {
  timestampNs: 1n, endpointId: 3, ruleId: 7, remoteIdentity: 300, packetLength: 60, family: 4,
  source: '10.9.0.2', destination: '10.9.0.3', sourcePort: 40312, destinationPort: 80, protocol: 6,
  direction: 'ingress', verdict: 'deny', reason: 'policy-deny', tier: 'network',
};

describe('flow formatting', () => {
  it('prints the line weir observe shows', () => {
    expect(formatFlow(toFlowRecord(base, names))).toBe('ns/pod-a:40312 -> ns/pod-b:80 TCP DROPPED (policy NetworkPolicy ns/deny-all, ingress)');
  });
  it('names the isolating policy on a default deny, unknown addresses and portless protocols', () => {
    const record = toFlowRecord({ ...base, ruleId: 0, source: '192.0.2.9', protocol: 1, reason: 'default-deny' }, names);
    expect(formatFlow(record)).toBe('192.0.2.9 -> ns/pod-b ICMP DROPPED (policy NetworkPolicy ns/deny-all (default deny), ingress)');
    const unnamed = toFlowRecord({ ...base, ruleId: 0, direction: 'egress', reason: 'default-deny' }, names);
    expect(unnamed.policy).toBe('default deny');
  });
  it('an audit event reads "AUDIT would drop" and names the rule that would have dropped, or the isolating policy', () => {
    const audit = toFlowRecord({ ...base, verdict: 'audit' }, names);
    expect(audit).toMatchObject({ verdict: 'AUDIT', reason: 'policy-deny' });
    expect(formatFlow(audit)).toBe('ns/pod-a:40312 -> ns/pod-b:80 TCP AUDIT would drop (policy NetworkPolicy ns/deny-all, ingress)');
    const byDefault = toFlowRecord({ ...base, verdict: 'audit', ruleId: undefined, reason: 'default-deny' }, names);
    expect(formatFlow(byDefault)).toBe('ns/pod-a:40312 -> ns/pod-b:80 TCP AUDIT would drop (policy NetworkPolicy ns/deny-all (default deny), ingress)');
  });
  it('audit policies: "AUDIT would allow" on a drop an audit policy would allow; the audit policy is marked', () => {
    const rule = (id: number): ReturnType<FlowNames['rule']> =>
      id === 9 ? { policy: 'ns/allow-web', kind: 'NetworkPolicy', direction: 'ingress', index: 0, audit: true } : names.rule(id);
    const wouldAllow = toFlowRecord({ ...base, ruleId: 9, verdict: 'audit-allow', reason: 'policy-allow' }, { ...names, rule });
    expect(wouldAllow).toMatchObject({ verdict: 'AUDIT', reason: 'policy-allow' });
    expect(formatFlow(wouldAllow)).toBe('ns/pod-a:40312 -> ns/pod-b:80 TCP AUDIT would allow (policy ns/allow-web (audit policy), ingress)');
  });
  it('brackets IPv6 and says when nothing selected the endpoint', () => {
    const record = toFlowRecord({ ...base, ruleId: undefined, verdict: 'allow', reason: 'default-allow', source: 'fd00::9', family: 6 }, names);
    expect(formatFlow(record)).toBe('[fd00::9]:40312 -> ns/pod-b:80 TCP ALLOWED (policy no policy selects it, ingress)');
  });
});
