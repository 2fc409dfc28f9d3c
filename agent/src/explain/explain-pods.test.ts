import { describe, expect, it } from 'vitest';
import { explainPod, type RawCluster } from './explain-pods.js';
import { weirEndpointObject } from '../endpoints/weirendpoint.js';
import { np, podIp, rawPod } from '../policy/testkit.js';

const cluster = (networkPolicies: unknown[]): RawCluster => ({
  namespaces: ['x', 'y'].map((name) => ({ metadata: { name, labels: { ns: name } } })),
  pods: [rawPod('x', 'a', podIp('x', 'a')), rawPod('y', 'b', podIp('y', 'b'))],
  networkPolicies, multiNetworkPolicies: [], adminNetworkPolicies: [], baselineAdminNetworkPolicies: [],
  // x/a's eth0 is a Weir endpoint (its agent published it), so its policy is explained.
  weirEndpoints: [weirEndpointObject({
    namespace: 'x', name: 'a', podUid: 'uid-x-a', node: 'n1', enforcement: [],
    interfaces: [{ name: 'eth0', network: undefined, isDefault: true, mac: undefined, ips: [podIp('x', 'a')], containerId: 'c', attachedAtMs: 1 }],
  })],
  nads: [],
});

describe('weir explain: a policy that does not parse', () => {
  it('is explained as the agent enforces it without a last good version (isolating), and listed', () => {
    const broken = np('x', 'broken', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ ipBlock: { cidr: 'nope' } }] }] });
    const r = explainPod(cluster([broken]), { pod: { namespace: 'x', name: 'a' }, peer: { namespace: 'y', name: 'b', direction: 'from' }, port: 80, protocol: 'TCP' });
    if (!r.ok) throw new Error(r.error);
    expect(r.explanation.isolatedIngress).toBe(true);
    expect(r.explanation.flow?.verdict).toBe('deny');
    expect(r.explanation.ignored).toEqual([
      'NetworkPolicy x/broken: spec.ingress[0].from[0].ipBlock.cidr "nope" is not a CIDR; explained as isolating what it selects (the agent may still enforce its last good version)',
    ]);
    const open = explainPod(cluster([]), { pod: { namespace: 'x', name: 'a' }, peer: { namespace: 'y', name: 'b', direction: 'from' }, port: 80, protocol: 'TCP' });
    expect(open.ok && open.explanation.flow?.verdict).toBe('allow');
  });
});

describe('weir explain: a namespace in audit mode', () => {
  it('a deny there passes and is named as what would drop it; enforce denies', () => {
    const deny = np('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] });
    const raw = cluster([deny]);
    const audited: RawCluster = { ...raw, namespaces: [{ metadata: { name: 'x', labels: { ns: 'x' }, annotations: { 'weir.dev/enforcement': 'audit' } } }, { metadata: { name: 'y', labels: { ns: 'y' } } }] };
    const q = { pod: { namespace: 'x', name: 'a' }, peer: { namespace: 'y', name: 'b', direction: 'from' as const }, port: 80, protocol: 'TCP' as const };
    const r = explainPod(audited, q);
    if (!r.ok) throw new Error(r.error);
    expect(r.explanation.flow?.verdict).toBe('allow');
    expect(r.explanation.flow?.audited?.rule?.kind).toBe('DefaultDeny');
    expect(r.explanation.flow?.steps.some((s) => s.includes('x audits (weir.dev/enforcement: audit): would drop, passes'))).toBe(true);
    const enforced = explainPod(raw, q);
    expect(enforced.ok && enforced.explanation.flow?.verdict).toBe('deny');
    expect(enforced.ok && enforced.explanation.flow?.audited).toBeUndefined();
  });
});

describe('weir explain: an audit policy', () => {
  it('the enforced verdict ignores it; the audit-policies verdict names it (would drop)', () => {
    const deny = np('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] }) as { metadata: Record<string, unknown> };
    const audited = { ...deny, metadata: { ...deny.metadata, annotations: { 'weir.dev/enforcement': 'audit' } } };
    const r = explainPod(cluster([audited]), { pod: { namespace: 'x', name: 'a' }, peer: { namespace: 'y', name: 'b', direction: 'from' }, port: 80, protocol: 'TCP' });
    if (!r.ok) throw new Error(r.error);
    expect(r.explanation.isolatedIngress).toBe(false);
    expect(r.explanation.flow?.verdict).toBe('allow');
    expect(r.explanation.flow?.auditPolicies?.verdict).toBe('deny');
    expect(r.explanation.flow?.auditPolicies?.rule).toMatchObject({ kind: 'NetworkPolicy', policy: 'x/deny-all', audit: true });
  });
});
