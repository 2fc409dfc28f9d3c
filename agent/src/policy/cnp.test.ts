// ClusterNetworkPolicy through the real parser, resolver, compiler and evaluator: one table case per
// field and per ordering rule of apis/v1beta1/clusternetworkpolicy_types.go (network-policy-api
// v0.3.0). Model: namespaces x, y, z (label ns=<name>) × pods a, b, c at 10.<ns>.0.<pod>.
import { describe, expect, it } from 'vitest';
import { parseClusterNetworkPolicy } from './cnp.js';
import { parseNode, resolveClusterNetworkPolicy } from './cnp-resolve.js';
import { PolicyCompiler } from './compile.js';
import { anp, banp, clusterState, cnp, compileCluster, mnp, node, np, probe, must, type Objects } from './testkit.js';

type Expect = [from: string, to: string, port: number, protocol: 'TCP' | 'UDP' | 'SCTP', verdict: 'allow' | 'deny'];
interface Case {
  name: string;
  objects: Objects;
  expect: Expect[];
}

const ns = (n: string): Record<string, unknown> => ({ namespaces: { matchLabels: { ns: n } } });
const pod = (n: string, p: string): Record<string, unknown> => ({ pods: { namespaceSelector: { matchLabels: { ns: n } }, podSelector: { matchLabels: { pod: p } } } });
const subjectNs = (n: string): Record<string, unknown> => ({ namespaces: { matchLabels: { ns: n } } });
const tcp = (number: number): Record<string, unknown> => ({ tcp: { destinationPort: { number } } });
const denyIngressNp = (n: string): unknown => np(n, 'deny-in', { podSelector: {} });
const allowAllIngressNp = (n: string): unknown => np(n, 'allow-all', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] });

const cases: Case[] = [
  // ---------------------------------------------------------------- tiers and actions
  {
    name: 'Admin Deny is final: a NetworkPolicy cannot re-allow it',
    objects: { cnps: [cnp('deny-y', 'Admin', 10, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')] }] })], nps: [allowAllIngressNp('x')] },
    expect: [['y/a', 'x/a', 80, 'TCP', 'deny'], ['z/a', 'x/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'Admin Accept is final: a NetworkPolicy default deny does not apply to it',
    objects: { cnps: [cnp('accept-z', 'Admin', 10, { subject: subjectNs('x'), ingress: [{ action: 'Accept', from: [ns('z')] }] })], nps: [denyIngressNp('x')] },
    expect: [['z/a', 'x/a', 80, 'TCP', 'allow'], ['y/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'Admin Pass skips the rest of the Admin tier and lets NetworkPolicy decide',
    objects: {
      cnps: [
        cnp('pass-y', 'Admin', 5, { subject: subjectNs('x'), ingress: [{ action: 'Pass', from: [ns('y')] }] }),
        cnp('deny-all', 'Admin', 50, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] }),
      ],
      nps: [np('x', 'allow-y-80', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 80 }] }] })],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/a', 'x/a', 81, 'TCP', 'deny'], ['z/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'Admin Pass with no NetworkPolicy reaches the Baseline tier',
    objects: {
      cnps: [
        cnp('pass-y', 'Admin', 5, { subject: subjectNs('x'), ingress: [{ action: 'Pass', from: [ns('y')] }] }),
        cnp('base-deny-y', 'Baseline', 5, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')] }] }),
      ],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'deny'], ['z/a', 'x/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'Baseline Deny yields to a NetworkPolicy that selects the pod',
    objects: {
      cnps: [cnp('base-deny-y', 'Baseline', 10, { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [ns('y')] }] })],
      nps: [np('x', 'allow-y', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] })],
    },
    // x/a is selected by the NetworkPolicy (allowed); x/b and z/a are not, so the Baseline Deny applies.
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/a', 'x/b', 80, 'TCP', 'deny'], ['y/a', 'z/a', 80, 'TCP', 'deny'], ['z/a', 'x/b', 80, 'TCP', 'allow']],
  },
  {
    name: 'Baseline Accept does not override a NetworkPolicy isolation',
    objects: { cnps: [cnp('base-accept', 'Baseline', 10, { subject: { namespaces: {} }, ingress: [{ action: 'Accept', from: [ns('y')] }] })], nps: [denyIngressNp('x')] },
    expect: [['y/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'Baseline Pass ends the Baseline tier: default allow',
    objects: {
      cnps: [
        cnp('base-pass-y', 'Baseline', 1, { subject: subjectNs('x'), ingress: [{ action: 'Pass', from: [pod('y', 'a')] }] }),
        cnp('base-deny-y', 'Baseline', 2, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')] }] }),
      ],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/b', 'x/a', 80, 'TCP', 'deny']],
  },
  // ---------------------------------------------------------------- priority and rule order
  {
    name: 'priority: the lower number is evaluated first',
    objects: {
      cnps: [
        cnp('late-deny', 'Admin', 20, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')] }] }),
        cnp('early-accept', 'Admin', 10, { subject: subjectNs('x'), ingress: [{ action: 'Accept', from: [pod('y', 'a')] }] }),
      ],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/b', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'priority in the Baseline tier too',
    objects: {
      cnps: [
        cnp('late-accept', 'Baseline', 900, { subject: subjectNs('x'), ingress: [{ action: 'Accept', from: [ns('y')] }] }),
        cnp('early-deny', 'Baseline', 100, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [pod('y', 'b')] }] }),
      ],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/b', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'rules of one policy: the one written first wins (Accept before Deny)',
    objects: {
      cnps: [cnp('ordered', 'Admin', 10, { subject: subjectNs('x'), ingress: [{ action: 'Accept', from: [pod('y', 'a')] }, { action: 'Deny', from: [ns('y')] }] })],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/b', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'rules of one policy: swapped, the Deny written first wins',
    objects: {
      cnps: [cnp('ordered', 'Admin', 10, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')] }, { action: 'Accept', from: [pod('y', 'a')] }] })],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'deny'], ['y/b', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'egress rule order and Pass on egress',
    objects: {
      cnps: [cnp('eg', 'Admin', 10, { subject: subjectNs('x'), egress: [{ action: 'Pass', to: [pod('y', 'a')] }, { action: 'Deny', to: [ns('y')] }] })],
      nps: [np('x', 'eg-deny', { podSelector: { matchLabels: { pod: 'b' } }, policyTypes: ['Egress'] })],
    },
    expect: [['x/a', 'y/a', 80, 'TCP', 'allow'], ['x/b', 'y/a', 80, 'TCP', 'deny'], ['x/a', 'y/b', 80, 'TCP', 'deny'], ['x/a', 'z/a', 80, 'TCP', 'allow']],
  },
  // ---------------------------------------------------------------- subject
  {
    name: 'subject.pods: namespace AND pod selector',
    objects: {
      cnps: [cnp('s', 'Admin', 10, { subject: { pods: { namespaceSelector: { matchLabels: { ns: 'x' } }, podSelector: { matchLabels: { pod: 'b' } } } }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] })],
    },
    expect: [['y/a', 'x/b', 80, 'TCP', 'deny'], ['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/a', 'z/b', 80, 'TCP', 'allow']],
  },
  // ---------------------------------------------------------------- protocols
  {
    name: 'protocols: tcp, udp and sctp destination port numbers',
    objects: {
      cnps: [cnp('p', 'Admin', 10, {
        subject: subjectNs('x'),
        ingress: [{ action: 'Deny', from: [ns('y')], protocols: [tcp(80), { udp: { destinationPort: { number: 53 } } }, { sctp: { destinationPort: { number: 9003 } } }] }],
      })],
    },
    expect: [
      ['y/a', 'x/a', 80, 'TCP', 'deny'], ['y/a', 'x/a', 81, 'TCP', 'allow'], ['y/a', 'x/a', 80, 'UDP', 'allow'],
      ['y/a', 'x/a', 53, 'UDP', 'deny'], ['y/a', 'x/a', 53, 'TCP', 'allow'], ['y/a', 'x/a', 9003, 'SCTP', 'deny'], ['y/a', 'x/a', 9003, 'TCP', 'allow'],
    ],
  },
  {
    name: 'protocols: a port range is inclusive at both ends',
    objects: {
      cnps: [cnp('r', 'Admin', 10, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')], protocols: [{ tcp: { destinationPort: { range: { start: 8080, end: 9090 } } } }] }] })],
    },
    expect: [['y/a', 'x/a', 8079, 'TCP', 'allow'], ['y/a', 'x/a', 8080, 'TCP', 'deny'], ['y/a', 'x/a', 8500, 'TCP', 'deny'], ['y/a', 'x/a', 9090, 'TCP', 'deny'], ['y/a', 'x/a', 9091, 'TCP', 'allow'], ['y/a', 'x/a', 8500, 'UDP', 'allow']],
  },
  {
    name: 'protocols: destinationNamedPort on ingress resolves on the destination pod, any protocol',
    objects: {
      podOpts: (n, p) => ({ ports: n === 'x' && p === 'a' ? [{ name: 'web', containerPort: 8080 }, { name: 'dns', containerPort: 5353, protocol: 'UDP' }] : [] }),
      cnps: [cnp('n', 'Admin', 10, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')], protocols: [{ destinationNamedPort: 'web' }, { destinationNamedPort: 'dns' }] }] })],
    },
    expect: [['y/a', 'x/a', 8080, 'TCP', 'deny'], ['y/a', 'x/a', 5353, 'UDP', 'deny'], ['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/a', 'x/b', 8080, 'TCP', 'allow']],
  },
  {
    name: 'protocols: destinationNamedPort on egress resolves on each destination pod',
    objects: {
      podOpts: (n, p) => ({ ports: n === 'y' ? [{ name: 'web', containerPort: p === 'a' ? 80 : 8080 }] : [] }),
      cnps: [cnp('n', 'Admin', 10, { subject: subjectNs('x'), egress: [{ action: 'Accept', to: [ns('y')], protocols: [{ destinationNamedPort: 'web' }] }, { action: 'Deny', to: [ns('y')] }] })],
    },
    expect: [['x/a', 'y/a', 80, 'TCP', 'allow'], ['x/a', 'y/a', 8080, 'TCP', 'deny'], ['x/a', 'y/b', 8080, 'TCP', 'allow'], ['x/a', 'y/b', 80, 'TCP', 'deny']],
  },
  // ---------------------------------------------------------------- networks and nodes
  {
    name: 'networks: CIDR peers match outside addresses and pod IPs alike',
    objects: {
      cnps: [cnp('net', 'Admin', 10, { subject: subjectNs('x'), egress: [{ action: 'Accept', to: [{ networks: ['10.2.0.1/32'] }] }, { action: 'Deny', to: [{ networks: ['10.2.0.0/16', '8.8.8.0/24'] }] }] })],
    },
    expect: [['x/a', 'y/a', 80, 'TCP', 'allow'], ['x/a', 'y/b', 80, 'TCP', 'deny'], ['x/a', '8.8.8.8', 443, 'TCP', 'deny'], ['x/a', '1.1.1.1', 443, 'TCP', 'allow'], ['x/a', 'z/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'nodes: the addresses of the Nodes the selector picks',
    objects: {
      nodes: [node('n1', { 'kubernetes.io/os': 'linux', role: 'worker' }, ['172.18.0.2', 'fd00::2']), node('n2', { 'kubernetes.io/os': 'linux' }, ['172.18.0.3']), node('n3', { 'kubernetes.io/os': 'windows' }, ['172.18.0.4'])],
      cnps: [cnp('nodes', 'Admin', 10, {
        subject: subjectNs('x'),
        egress: [{ action: 'Accept', to: [{ nodes: { matchLabels: { role: 'worker' } } }], protocols: [tcp(10250)] }, { action: 'Deny', to: [{ nodes: { matchLabels: { 'kubernetes.io/os': 'linux' } } }] }],
      })],
    },
    expect: [['x/a', '172.18.0.2', 10250, 'TCP', 'allow'], ['x/a', '172.18.0.2', 22, 'TCP', 'deny'], ['x/a', '172.18.0.3', 10250, 'TCP', 'deny'], ['x/a', '172.18.0.4', 22, 'TCP', 'allow']],
  },
  // ---------------------------------------------------------------- domainNames: not enforced, never a silent allow
  {
    name: 'domainNames on an Accept rule matches nothing: the Deny below still applies',
    objects: {
      cnps: [cnp('dns', 'Admin', 10, { subject: subjectNs('x'), egress: [{ action: 'Accept', to: [{ domainNames: ['example.com'] }] }, { action: 'Deny', to: [{ networks: ['0.0.0.0/0'] }] }] })],
    },
    expect: [['x/a', '93.184.215.14', 443, 'TCP', 'deny'], ['x/a', 'y/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'domainNames on a Deny rule fails closed: the rule denies all egress',
    objects: { cnps: [cnp('dns', 'Admin', 10, { subject: subjectNs('x'), egress: [{ action: 'Deny', to: [{ domainNames: ['evil.example'] }], protocols: [tcp(443)] }] })] },
    expect: [['x/a', '1.1.1.1', 80, 'TCP', 'deny'], ['x/a', 'y/a', 80, 'TCP', 'deny'], ['y/a', 'x/a', 80, 'TCP', 'allow']],
  },
  // ---------------------------------------------------------------- coexistence with v1alpha1 ANP/BANP
  {
    name: 'ANP and Admin CNP share the priority scale: the lower number wins whichever kind it is',
    objects: {
      anps: [anp('anp-deny', 10, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')] }] })],
      cnps: [cnp('cnp-accept-early', 'Admin', 5, { subject: subjectNs('x'), ingress: [{ action: 'Accept', from: [pod('y', 'a')] }] }), cnp('cnp-accept-late', 'Admin', 20, { subject: subjectNs('x'), ingress: [{ action: 'Accept', from: [pod('y', 'b')] }] })],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/b', 'x/a', 80, 'TCP', 'deny'], ['y/c', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'ANP and Admin CNP at the same priority: the ClusterNetworkPolicy goes first',
    objects: {
      anps: [anp('anp-deny', 10, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')] }] })],
      cnps: [cnp('cnp-accept', 'Admin', 10, { subject: subjectNs('x'), ingress: [{ action: 'Accept', from: [pod('y', 'a')] }] })],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/b', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'BANP comes after every Baseline CNP, even one at priority 1000',
    objects: {
      banp: banp({ subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [ns('y')] }] }),
      cnps: [cnp('base-accept', 'Baseline', 1000, { subject: subjectNs('x'), ingress: [{ action: 'Accept', from: [pod('y', 'a')] }] })],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/b', 'x/a', 80, 'TCP', 'deny'], ['y/a', 'z/a', 80, 'TCP', 'deny']],
  },
  // ---------------------------------------------------------------- secondary interfaces (policy-for)
  {
    name: 'without policy-for: the default interface only',
    objects: { podOpts: () => ({ secondary: true }), cnps: [cnp('eth0-only', 'Admin', 10, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')] }] })] },
    expect: [['y/a', 'x/a', 80, 'TCP', 'deny'], ['y/a:net1', 'x/a:net1', 80, 'TCP', 'allow']],
  },
  {
    name: 'with policy-for: only the interfaces on those NADs; an Admin Deny on net1 beats a MultiNetworkPolicy allow',
    objects: {
      podOpts: () => ({ secondary: true }),
      mnps: [mnp('x', 'allow-net1', 'x/macnet', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] })],
      cnps: [cnp('net1-deny', 'Admin', 10, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')] }] }, { 'k8s.v1.cni.cncf.io/policy-for': 'x/macnet' })],
    },
    expect: [['y/a:net1', 'x/a:net1', 80, 'TCP', 'deny'], ['z/a:net1', 'x/a:net1', 80, 'TCP', 'allow'], ['y/a', 'x/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'with policy-for: a Baseline Deny on net1 yields to a MultiNetworkPolicy allow',
    objects: {
      podOpts: () => ({ secondary: true }),
      mnps: [mnp('x', 'allow-a', 'x/macnet', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: {} }] }] })],
      cnps: [cnp('net1-base', 'Baseline', 10, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')] }] }, { 'k8s.v1.cni.cncf.io/policy-for': 'x/macnet' })],
    },
    expect: [['y/a:net1', 'x/a:net1', 80, 'TCP', 'allow'], ['y/a:net1', 'x/b:net1', 80, 'TCP', 'deny']],
  },
];

describe('ClusterNetworkPolicy: compiler table', () => {
  it.each(cases)('$name', ({ objects, expect: expectations }) => {
    const compiler = new PolicyCompiler().load(clusterState(objects));
    const state = compileCluster(compiler);
    for (const [from, to, port, protocol, verdict] of expectations) {
      expect(probe(state, from, to, port, protocol).verdict, `${from} -> ${to} ${port}/${protocol}`).toBe(verdict);
    }
  });

  it('names the policy, its tier and its rule in the deciding origin', () => {
    const compiler = new PolicyCompiler().load(clusterState({
      cnps: [cnp('guard', 'Baseline', 7, { subject: subjectNs('x'), ingress: [{ action: 'Accept', from: [ns('z')] }, { name: 'no-y', action: 'Deny', from: [ns('y')] }] })],
    }));
    const rule = probe(compileCluster(compiler), 'y/a', 'x/a', 80).rule;
    expect(rule).toMatchObject({ kind: 'ClusterNetworkPolicy', direction: 'ingress', index: 1, cnp: { name: 'guard', tier: 'Baseline', rule: 'no-y' } });
    expect(rule?.policy).toBe('ClusterNetworkPolicy guard (Baseline tier, rule #1 "no-y")');
  });

  it('an incremental upsert and removal match a full load', () => {
    const base = clusterState({ nps: [allowAllIngressNp('x')] });
    const policy = resolveClusterNetworkPolicy(must(parseClusterNetworkPolicy(cnp('d', 'Admin', 3, { subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')] }] }))), []).policy;
    const inc = new PolicyCompiler().load(base);
    inc.upsertPolicy(policy);
    expect(probe(compileCluster(inc), 'y/a', 'x/a', 80).verdict).toBe('deny');
    inc.removePolicy({ kind: 'ClusterNetworkPolicy', name: 'd' });
    expect(probe(compileCluster(inc), 'y/a', 'x/a', 80).verdict).toBe('allow');
  });
});

describe('ClusterNetworkPolicy: parser refusals name the field and the fix', () => {
  const errorsOf = (v: unknown): string[] => {
    const p = parseClusterNetworkPolicy(v);
    return p.ok ? [] : p.errors.map((e) => `${e.path}: ${e.message}`);
  };

  it.each<[string, Record<string, unknown>, string]>([
    ['v1alpha1 Allow', { tier: 'Admin', priority: 1, subject: subjectNs('x'), ingress: [{ action: 'Allow', from: [ns('y')] }] }, 'spec.ingress[0].action: "Allow" must be Accept, Deny or Pass (v1beta1 renamed Allow to Accept)'],
    ['tier', { tier: 'Developer', priority: 1, subject: subjectNs('x') }, 'spec.tier: "Developer" must be Admin or Baseline'],
    ['priority range', { tier: 'Admin', priority: 1001, subject: subjectNs('x') }, 'spec.priority: must be an integer in 0..1000'],
    ['missing priority', { tier: 'Admin', subject: subjectNs('x') }, 'spec.priority: is required (0..1000, lower first)'],
    ['subject with both', { tier: 'Admin', priority: 1, subject: { namespaces: {}, pods: { podSelector: {} } } }, 'spec.subject: must set exactly one of namespaces, pods'],
    ['empty from', { tier: 'Admin', priority: 1, subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [] }] }, 'spec.ingress[0].from: must list at least one item (omit the field instead)'],
    ['peer with two fields', { tier: 'Admin', priority: 1, subject: subjectNs('x'), egress: [{ action: 'Deny', to: [{ namespaces: {}, networks: ['10.0.0.0/8'] }] }] }, 'spec.egress[0].to[0]: must set exactly one of namespaces, pods, nodes, networks, domainNames (found namespaces, networks)'],
    ['range start >= end', { tier: 'Admin', priority: 1, subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')], protocols: [{ tcp: { destinationPort: { range: { start: 90, end: 90 } } } }] }] }, 'spec.ingress[0].protocols[0].tcp.destinationPort.range.end: must be greater than start (90); use number for one port'],
    ['two protocols in one item', { tier: 'Admin', priority: 1, subject: subjectNs('x'), ingress: [{ action: 'Deny', from: [ns('y')], protocols: [{ tcp: {}, udp: {} }] }] }, 'spec.ingress[0].protocols[0]: must set exactly one of tcp, udp, sctp, destinationNamedPort'],
    ['bad CIDR', { tier: 'Admin', priority: 1, subject: subjectNs('x'), egress: [{ action: 'Deny', to: [{ networks: ['10.0.0.0/33'] }] }] }, 'spec.egress[0].to[0].networks[0]: "10.0.0.0/33" is not a CIDR'],
    ['26 rules', { tier: 'Admin', priority: 1, subject: subjectNs('x'), ingress: Array.from({ length: 26 }, () => ({ action: 'Deny', from: [ns('y')] })) }, 'spec.ingress: must have at most 25 rules'],
  ])('%s', (_what, spec, message) => {
    expect(errorsOf({ metadata: { name: 'p' }, spec })).toContain(message);
  });

  it('policy-for on a cluster-scoped object needs namespace/name', () => {
    expect(errorsOf(cnp('p', 'Admin', 1, { subject: subjectNs('x') }, { 'k8s.v1.cni.cncf.io/policy-for': 'macnet' }))).toContain(
      'metadata.annotations["k8s.v1.cni.cncf.io/policy-for"]: "macnet" is not namespace/name',
    );
  });
});

describe('ClusterNetworkPolicy: what is not enforced is said, per field', () => {
  it('domainNames and unknown peers produce notes naming the field and the effect', () => {
    const spec = must(parseClusterNetworkPolicy(cnp('dns', 'Admin', 1, {
      subject: subjectNs('x'),
      egress: [{ action: 'Accept', to: [{ domainNames: ['example.com', '*.example.org'] }] }, { action: 'Pass', to: [{ someFuturePeer: {} }] }],
    })));
    const { policy, notes } = resolveClusterNetworkPolicy(spec, []);
    expect(notes).toEqual([
      'spec.egress[0].to[0]: domainNames (example.com, *.example.org) are not enforced by Weir; this Accept rule matches no traffic to it (lower rules decide)',
      'spec.egress[1].to[0]: a peer with no field Weir knows (someFuturePeer) cannot be enforced; this Pass rule denies all traffic instead (fail closed)',
    ]);
    expect(policy.egress.map((r) => [r.action, r.peers.map((p) => p.kind)])).toEqual([['Accept', ['none']], ['Deny', ['all']]]);
  });

  it('a node with only a Hostname address contributes nothing; IPs are deduplicated', () => {
    const n = must(parseNode({ metadata: { name: 'n' }, status: { addresses: [{ type: 'Hostname', address: 'n' }, { type: 'InternalIP', address: '10.9.0.1' }, { type: 'ExternalIP', address: '10.9.0.1' }] } }));
    expect(n.addresses.map((c) => c.canonical)).toEqual(['10.9.0.1/32']);
  });
});
