import { describe, expect, it } from 'vitest';
import { ClusterPolicyIntake, isolateClusterNetworkPolicy, parseClusterNetworkPolicyForIntake } from './cnp-intake.js';
import { parseNode } from './cnp-resolve.js';
import type { PolicyCompiler } from './compile.js';
import { cnp, must, node, np } from './testkit.js';
import { parseNetworkPolicy } from './model.js';

type CompilerPolicy = Parameters<PolicyCompiler['upsertPolicy']>[0];

function setup(): { intake: ClusterPolicyIntake; upserts: CompilerPolicy[]; removed: string[]; notes: string[][] } {
  const upserts: CompilerPolicy[] = [];
  const removed: string[] = [];
  const notes: string[][] = [];
  const intake = new ClusterPolicyIntake({ upsertPolicy: (p) => upserts.push(p), removePolicy: (p) => removed.push(p.name) }, (_p, n) => notes.push(n));
  return { intake, upserts, removed, notes };
}

const withUid = (o: unknown, uid: string): unknown => {
  const r = o as { metadata: Record<string, unknown> };
  return { ...r, metadata: { ...r.metadata, uid } };
};
const toNodes = must(parseClusterNetworkPolicyForIntake(withUid(cnp('to-nodes', 'Admin', 1, { subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ nodes: { matchLabels: { role: 'worker' } } }] }] }), 'u1')));
const plain = must(parseClusterNetworkPolicyForIntake(cnp('plain', 'Admin', 2, { subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ networks: ['10.0.0.0/8'] }] }] })));
const addrs = (p: CompilerPolicy | undefined): string[] => {
  if (p?.kind !== 'ClusterNetworkPolicy') return [];
  return (p.egress[0]?.peers ?? []).map((x) => (x.kind === 'ipBlock' ? x.block.cidr.canonical : x.kind));
};

describe('ClusterPolicyIntake', () => {
  it('resolves nodes peers again when a Node changes labels or addresses, not on a heartbeat', () => {
    const { intake, upserts } = setup();
    intake.upsertPolicy(toNodes);
    intake.upsertPolicy(plain);
    expect(addrs(upserts.at(0))).toEqual(['none']);
    upserts.length = 0;
    intake.upsertNode(must(parseNode(node('n1', { role: 'worker' }, ['172.18.0.2']))));
    expect(upserts.map((p) => p.name)).toEqual(['to-nodes']);
    expect(addrs(upserts.at(0))).toEqual(['172.18.0.2/32']);
    upserts.length = 0;
    intake.upsertNode(must(parseNode(node('n1', { role: 'worker' }, ['172.18.0.2']))));
    expect(upserts).toEqual([]);
    intake.upsertNode(must(parseNode(node('n1', { role: 'infra' }, ['172.18.0.2']))));
    expect(addrs(upserts.at(0))).toEqual(['none']);
    upserts.length = 0;
    intake.upsertNode(must(parseNode(node('n2', { role: 'worker' }, ['172.18.0.3', 'fd00::3']))));
    expect(addrs(upserts.at(0))).toEqual(['172.18.0.3/32', 'fd00::3/128']);
    upserts.length = 0;
    intake.removeNode('n2');
    expect(addrs(upserts.at(0))).toEqual(['none']);
  });

  it('reports not-enforced notes once per change, with the uid, and forgets a removed policy', () => {
    const { intake, notes, removed } = setup();
    const reported: string[] = [];
    const i2 = new ClusterPolicyIntake({ upsertPolicy: () => undefined, removePolicy: () => undefined }, (p) => reported.push(`${p.name}/${p.uid}`));
    const dns = must(parseClusterNetworkPolicyForIntake(withUid(cnp('dns', 'Admin', 1, { subject: { namespaces: {} }, egress: [{ action: 'Accept', to: [{ domainNames: ['example.com'] }] }] }), 'u9')));
    i2.upsertPolicy(dns);
    expect(reported).toEqual(['dns/u9']);
    intake.upsertPolicy(dns);
    intake.upsertPolicy(dns);
    expect(notes).toHaveLength(1);
    expect(notes[0]?.[0]).toContain('spec.egress[0].to[0]: domainNames (example.com) are not enforced by Weir');
    expect([...intake.notEnforced().keys()]).toEqual(['dns']);
    intake.removePolicy({ kind: 'ClusterNetworkPolicy', name: 'dns' });
    expect(removed).toEqual(['dns']);
    expect(intake.notEnforced().size).toBe(0);
    intake.upsertPolicy(dns);
    expect(notes).toHaveLength(2);
  });

  it('passes every other kind straight to the compiler', () => {
    const { intake, upserts, removed } = setup();
    const p = must(parseNetworkPolicy(np('x', 'n', { podSelector: {} })));
    intake.upsertPolicy(p);
    intake.removePolicy({ kind: 'NetworkPolicy', namespace: 'x', name: 'n' });
    expect(upserts).toEqual([p]);
    expect(removed).toEqual(['n']);
  });
});

describe('an unreadable ClusterNetworkPolicy (intake.ts fallback)', () => {
  it('isolates its subjects in its tier at its priority: deny all, both directions', () => {
    const bad = cnp('typo', 'Baseline', 40, { subject: { namespaces: { matchLabels: { ns: 'x' } } }, ingress: [{ action: 'Allow', from: [{ namespaces: {} }] }] });
    expect(parseClusterNetworkPolicyForIntake(bad).ok).toBe(false);
    const isolation = isolateClusterNetworkPolicy(bad);
    expect(isolation?.what).toBe('denies all traffic of the subjects it selects, in the Baseline tier at priority 40');
    const iso = isolation?.policy;
    expect(iso).toMatchObject({ kind: 'ClusterNetworkPolicy', name: 'typo', tier: 'Baseline', priority: 40, subject: { namespaces: { matchLabels: { ns: 'x' } } } });
    expect([...(iso?.ingress ?? []), ...(iso?.egress ?? [])].map((r) => [r.action, r.peers, r.ports])).toEqual([['Deny', [{ kind: 'all' }], 'all'], ['Deny', [{ kind: 'all' }], 'all']]);
    expect(iso?.spec).toBeUndefined();
  });

  it('takes the Admin tier and priority 0 when those do not read; none when the subject does not', () => {
    expect(isolateClusterNetworkPolicy({ metadata: { name: 'p' }, spec: { tier: 'Middle', priority: -1, subject: { namespaces: {} } } })?.policy).toMatchObject({ tier: 'Admin', priority: 0 });
    expect(isolateClusterNetworkPolicy({ metadata: { name: 'p' }, spec: { tier: 'Admin', priority: 1, subject: { namespaces: {}, pods: { podSelector: {} } } } })).toBeUndefined();
  });
});
