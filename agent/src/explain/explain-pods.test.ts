import { describe, expect, it } from 'vitest';
import { explainPod, type RawCluster } from './explain-pods.js';
import { weirEndpointObject } from '../endpoints/weirendpoint.js';
import { np, podIp, rawPod, rawService, rawSlice } from '../policy/testkit.js';

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

describe('weir explain: egress to a Service ClusterIP', () => {
  const toB = np('x', 'to-b', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 8080 }] }] });
  const withService = (addresses: string[], sliceOverride?: unknown): RawCluster => ({
    ...cluster([toB]),
    services: [rawService('y', 'web', ['10.96.0.10'], [['http', 80]])],
    endpointSlices: [sliceOverride ?? rawSlice('y', 'web-1', 'web', addresses, [['http', 8080]])],
  });
  const q = { pod: { namespace: 'x', name: 'a' }, service: { namespace: 'y', name: 'web' }, port: 80, protocol: 'TCP' as const };

  it('names the Service and its backends, and the rule that allows every one of them', () => {
    const r = explainPod(withService([podIp('y', 'b')]), q);
    if (!r.ok) throw new Error(r.error);
    expect(r.explanation.flow).toMatchObject({ to: 'Service y/web (ClusterIP 10.96.0.10)', verdict: 'allow', rule: { policy: 'x/to-b', direction: 'egress' } });
    expect(r.explanation.flow?.steps[0]).toBe(`Service y/web: egress to ClusterIP 10.96.0.10:80 is judged by its backends ${podIp('y', 'b')}:8080: a rule allows it only when it allows every one of them`);
  });

  it('denies when one backend is outside the rule, and says why when a slice does not parse', () => {
    const r = explainPod(withService([podIp('y', 'b'), podIp('x', 'a')]), q);
    expect(r.ok && r.explanation.flow?.verdict).toBe('deny');
    const broken = { metadata: { namespace: 'y', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [{ addresses: ['not-an-ip'] }] };
    const b = explainPod(withService([], broken), q);
    if (!b.ok) throw new Error(b.error);
    expect(b.explanation.flow?.verdict).toBe('deny');
    expect(b.explanation.flow?.steps[0]).toContain('does not parse, so its backends are unknown');
    expect(b.explanation.ignored.some((l) => l.startsWith('EndpointSlice y/web-1: endpoints[0].addresses[0]'))).toBe(true);
    const missing = explainPod(withService([]), { ...q, service: { namespace: 'y', name: 'nope' } });
    expect(missing.ok ? '' : missing.error).toBe('service y/nope not found');
  });
});
