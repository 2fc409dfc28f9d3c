import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { FlowEvent } from '../datapath/codec.js';
import type { RuleOrigin } from '../datapath/desired.js';
import { PolicyVerdicts, verdictLabels, type PolicyVerdictLabel } from './verdicts.js';

const base: FlowEvent = {
  timestampNs: 1n, endpointId: 3, ruleId: 7, remoteIdentity: 300, packetLength: 60, family: 4,
  source: '10.9.0.2', destination: '10.9.0.3', sourcePort: 40312, destinationPort: 80, protocol: 6,
  direction: 'ingress', verdict: 'allow', reason: 'policy-allow', tier: 'network',
};
const np: RuleOrigin = { kind: 'NetworkPolicy', policy: 'ns-a/allow-web', direction: 'ingress', index: 0 };
const cnp: RuleOrigin = {
  kind: 'ClusterNetworkPolicy', policy: 'ClusterNetworkPolicy deny-ext (Admin tier, rule #0)', direction: 'egress', index: 0,
  cnp: { name: 'deny-ext', tier: 'Admin', rule: '' },
};
const anp: RuleOrigin = { kind: 'AdminNetworkPolicy', policy: 'guard', direction: 'ingress', index: 1 };
const defaultDeny: RuleOrigin = { kind: 'DefaultDeny', policy: 'default deny', direction: 'ingress' };

function counter(): { registry: Registry; c: Counter<PolicyVerdictLabel> } {
  const registry = new Registry();
  const c = new Counter({ name: 'weir_policy_verdicts_total', help: 'h', labelNames: ['namespace', 'policy', 'kind', 'direction', 'verdict'], registers: [registry] });
  return { registry, c };
}

describe('weir_policy_verdicts_total labels', () => {
  it('per policy and kind, never per pod; the default has policy "" in the endpoint namespace', () => {
    expect(verdictLabels(base, np, 'ns-a')).toEqual({ namespace: 'ns-a', policy: 'allow-web', kind: 'NetworkPolicy', direction: 'ingress', verdict: 'forwarded' });
    expect(verdictLabels({ ...base, verdict: 'deny', reason: 'policy-deny', direction: 'egress' }, cnp, 'ns-a'))
      .toEqual({ namespace: '', policy: 'deny-ext', kind: 'ClusterNetworkPolicy', direction: 'egress', verdict: 'dropped' });
    expect(verdictLabels({ ...base, verdict: 'deny', reason: 'policy-deny' }, anp, 'ns-a')?.policy).toBe('guard');
    expect(verdictLabels({ ...base, ruleId: undefined, verdict: 'deny', reason: 'default-deny' }, undefined, 'ns-b'))
      .toEqual({ namespace: 'ns-b', policy: '', kind: 'default', direction: 'ingress', verdict: 'dropped' });
    expect(verdictLabels({ ...base, ruleId: 0, verdict: 'deny', reason: 'default-deny' }, defaultDeny, 'ns-b')?.kind).toBe('default');
    expect(verdictLabels({ ...base, ruleId: undefined, reason: 'default-allow' }, undefined, 'ns-b')?.verdict).toBe('forwarded');
  });

  it('audit events count as audit_drop under the rule that would have dropped', () => {
    expect(verdictLabels({ ...base, verdict: 'audit', reason: 'policy-deny' }, anp, 'ns-a'))
      .toEqual({ namespace: '', policy: 'guard', kind: 'AdminNetworkPolicy', direction: 'ingress', verdict: 'audit_drop' });
    expect(verdictLabels({ ...base, ruleId: undefined, verdict: 'audit', reason: 'default-deny' }, undefined, 'ns-a')?.verdict).toBe('audit_drop');
  });

  it('audit policies: would-allow events count as audit_allow, would-drop as audit_drop, under the audit policy', () => {
    const auditNp: RuleOrigin = { ...np, audit: true };
    expect(verdictLabels({ ...base, verdict: 'audit-allow', reason: 'policy-allow' }, auditNp, 'ns-b'))
      .toEqual({ namespace: 'ns-a', policy: 'allow-web', kind: 'NetworkPolicy', direction: 'ingress', verdict: 'audit_allow' });
    // An audit NetworkPolicy's isolation (no rule index) names the policy on a would-drop.
    const isolation: RuleOrigin = { kind: 'NetworkPolicy', policy: 'ns-a/deny-all', direction: 'ingress', audit: true };
    expect(verdictLabels({ ...base, verdict: 'audit', reason: 'default-deny' }, isolation, 'ns-a'))
      .toEqual({ namespace: 'ns-a', policy: 'deny-all', kind: 'NetworkPolicy', direction: 'ingress', verdict: 'audit_drop' });
  });

  it('non-policy drops and conntrack are not policy verdicts', () => {
    for (const reason of ['spoofed', 'malformed', 'l2-refused', 'no-endpoint', 'ct-quota', 'revoked'] as const) {
      expect(verdictLabels({ ...base, ruleId: undefined, verdict: 'deny', reason }, undefined, 'ns-a'), reason).toBeUndefined();
    }
  });
});

describe('PolicyVerdicts', () => {
  it('counts per label set and removes a deleted policy\'s series, leaving the others', async () => {
    const { registry, c } = counter();
    const v = new PolicyVerdicts(c);
    v.count(base, np, 'ns-a');
    v.count(base, np, 'ns-a');
    v.count({ ...base, verdict: 'audit', reason: 'policy-deny', sourcePort: 1 }, np, 'ns-a');
    v.count({ ...base, verdict: 'deny', reason: 'policy-deny', direction: 'egress' }, cnp, 'ns-a');
    let text = await registry.metrics();
    expect(text).toMatch(/weir_policy_verdicts_total\{namespace="ns-a",policy="allow-web",kind="NetworkPolicy",direction="ingress",verdict="forwarded"\} 2/);
    expect(text).toMatch(/policy="allow-web",kind="NetworkPolicy",direction="ingress",verdict="audit_drop"\} 1/);
    v.removePolicy('NetworkPolicy', 'ns-a', 'allow-web');
    text = await registry.metrics();
    expect(text).not.toMatch(/allow-web/);
    expect(text).toMatch(/policy="deny-ext",kind="ClusterNetworkPolicy",direction="egress",verdict="dropped"\} 1/);
    // Removing a policy that has no series is harmless.
    v.removePolicy('NetworkPolicy', 'ns-a', 'never-seen');
  });
});
