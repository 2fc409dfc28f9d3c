import { describe, expect, it } from 'vitest';
import type { PodExplanation } from '../../agent/src/explain/explain-pods.js';
import { explanationLines } from './explain.js';

const flow = { from: 'y/b', to: 'x/a', port: 80, protocol: 'TCP', verdict: 'allow' as const, rule: undefined, steps: ['enforced step'] };
const base: PodExplanation = {
  pod: 'x/a', node: 'n1', interfaces: [{ name: 'eth0', network: 'default', ips: ['10.1.0.1'], enforced: true }],
  policies: ['NetworkPolicy x/deny-all'], isolatedIngress: false, isolatedEgress: false, ignored: [], notEnforced: [], flow,
};

describe('weir explain output: audit policies', () => {
  it('prints the verdict with audit policies enforced, whether it changes, and its steps', () => {
    const withAudit: PodExplanation = {
      ...base,
      flow: { ...flow, auditPolicies: { verdict: 'deny', rule: { kind: 'NetworkPolicy', policy: 'x/deny-all', direction: 'ingress', audit: true }, steps: ['what-if step'] } },
    };
    expect(explanationLines(withAudit, false).slice(-4)).toEqual([
      'y/b -> x/a 80/TCP: ALLOWED',
      '  - enforced step',
      'with audit policies enforced: DENIED by x/deny-all (ingress) — AUDIT would drop',
      '  - what-if step',
    ]);
    const same: PodExplanation = { ...base, flow: { ...flow, auditPolicies: { verdict: 'allow', rule: undefined, steps: [] } } };
    expect(explanationLines(same, false).at(-1)).toBe('with audit policies enforced: ALLOWED — unchanged');
    expect(explanationLines(base, false).some((l) => l.includes('audit policies'))).toBe(false);
  });
});
