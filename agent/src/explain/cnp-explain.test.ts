// `weir explain` over raw objects with ClusterNetworkPolicies: names the policy, its tier and the
// deciding rule, and says what it does not enforce.
import { describe, expect, it } from 'vitest';
import { explainPod, type RawCluster } from './explain-pods.js';
import { weirEndpointObject } from '../endpoints/weirendpoint.js';
import { cnp, node, rawPod } from '../policy/testkit.js';

/** What the agent that attached the pod publishes: eth0 is Weir-enforced. */
const endpoint = (ns: string, name: string, ip: string): unknown => weirEndpointObject({
  namespace: ns, name, podUid: `uid-${ns}-${name}`, node: 'n1', enforcement: [],
  interfaces: [{ name: 'eth0', network: undefined, isDefault: true, mac: undefined, ips: [ip], containerId: 'c', attachedAtMs: 1 }],
});

function cluster(cnps: unknown[]): RawCluster {
  return {
    namespaces: [{ metadata: { name: 'x', labels: { ns: 'x' } } }, { metadata: { name: 'y', labels: { ns: 'y' } } }],
    pods: [rawPod('x', 'a', '10.1.0.1'), rawPod('y', 'b', '10.2.0.2')],
    weirEndpoints: [endpoint('x', 'a', '10.1.0.1'), endpoint('y', 'b', '10.2.0.2')],
    networkPolicies: [], multiNetworkPolicies: [], adminNetworkPolicies: [], baselineAdminNetworkPolicies: [],
    clusterNetworkPolicies: cnps,
    nodes: [node('n1', {}, ['172.18.0.2'])],
  };
}

describe('weir explain with ClusterNetworkPolicy', () => {
  it('names the CNP, its tier and its rule; lists what is not enforced', () => {
    const raw = cluster([
      cnp('guard', 'Admin', 10, {
        subject: { namespaces: { matchLabels: { ns: 'x' } } },
        ingress: [{ name: 'no-y', action: 'Deny', from: [{ namespaces: { matchLabels: { ns: 'y' } } }] }],
        egress: [{ name: 'allow-example', action: 'Accept', to: [{ domainNames: ['example.com'] }] }],
      }),
    ]);
    const res = explainPod(raw, { pod: { namespace: 'x', name: 'a' }, peer: { namespace: 'y', name: 'b', direction: 'from' }, port: 80, protocol: 'TCP' });
    if (!res.ok) throw new Error(res.error);
    const e = res.explanation;
    expect(e.policies).toEqual(['ClusterNetworkPolicy guard (Admin tier)']);
    expect(e.flow?.verdict).toBe('deny');
    expect(e.flow?.rule?.policy).toBe('ClusterNetworkPolicy guard (Admin tier, rule #0 "no-y")');
    expect(e.notEnforced).toEqual([
      'ClusterNetworkPolicy guard: spec.egress[0].to[0]: domainNames (example.com) are not enforced by Weir; this Accept rule matches no traffic to it (lower rules decide)',
    ]);
  });

  it('a policy that does not select the pod adds no note', () => {
    const raw = cluster([cnp('elsewhere', 'Admin', 10, { subject: { namespaces: { matchLabels: { ns: 'y' } } }, egress: [{ action: 'Accept', to: [{ domainNames: ['example.com'] }] }] })]);
    const res = explainPod(raw, { pod: { namespace: 'x', name: 'a' }, port: 80, protocol: 'TCP' });
    if (!res.ok) throw new Error(res.error);
    expect(res.explanation.notEnforced).toEqual([]);
    expect(res.explanation.policies).toEqual([]);
  });
});
