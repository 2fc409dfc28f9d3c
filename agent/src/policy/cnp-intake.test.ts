import { describe, expect, it } from 'vitest';
import type { ClusterNetworkPolicy } from './cnp.js';
import { parseClusterNetworkPolicy } from './cnp.js';
import { ClusterPolicyIntake } from './cnp-intake.js';
import { parseNode } from './cnp-resolve.js';
import { cnp, must, node } from './testkit.js';

function setup(): { intake: ClusterPolicyIntake; upserts: ClusterNetworkPolicy[]; removed: string[]; notes: string[][] } {
  const upserts: ClusterNetworkPolicy[] = [];
  const removed: string[] = [];
  const notes: string[][] = [];
  const intake = new ClusterPolicyIntake({ upsertPolicy: (p) => upserts.push(p), removePolicy: (p) => removed.push(p.name) }, (_p, n) => notes.push(n));
  return { intake, upserts, removed, notes };
}

const toNodes = must(parseClusterNetworkPolicy(cnp('to-nodes', 'Admin', 1, { subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ nodes: { matchLabels: { role: 'worker' } } }] }] })));
const plain = must(parseClusterNetworkPolicy(cnp('plain', 'Admin', 2, { subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ networks: ['10.0.0.0/8'] }] }] })));
const addrs = (p: ClusterNetworkPolicy | undefined): string[] =>
  (p?.egress[0]?.peers ?? []).map((x) => (x.kind === 'ipBlock' ? x.block.cidr.canonical : x.kind));

describe('ClusterPolicyIntake', () => {
  it('resolves nodes peers again when a Node changes labels or addresses, not on a heartbeat', () => {
    const { intake, upserts } = setup();
    intake.upsertPolicy(toNodes, 'u1');
    intake.upsertPolicy(plain, 'u2');
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

  it('reports not-enforced notes once per change, and forgets a removed policy', () => {
    const { intake, notes, removed } = setup();
    const dns = must(parseClusterNetworkPolicy(cnp('dns', 'Admin', 1, { subject: { namespaces: {} }, egress: [{ action: 'Accept', to: [{ domainNames: ['example.com'] }] }] })));
    intake.upsertPolicy(dns, 'u1');
    intake.upsertPolicy(dns, 'u1');
    expect(notes).toHaveLength(1);
    expect(notes[0]?.[0]).toContain('spec.egress[0].to[0]: domainNames (example.com) are not enforced by Weir');
    expect([...intake.notEnforced().keys()]).toEqual(['dns']);
    intake.removePolicy('dns');
    expect(removed).toEqual(['dns']);
    expect(intake.notEnforced().size).toBe(0);
    intake.upsertPolicy(dns, 'u2');
    expect(notes).toHaveLength(2);
  });
});
