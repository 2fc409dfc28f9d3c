import { describe, expect, it } from 'vitest';
import { PolicyCompiler } from './compile.js';
import { anp, banp, clusterState, compileCluster, mnp, np, probe, type Objects, type RawOpts } from './testkit.js';

type Expect = [from: string, to: string, port: number, protocol: 'TCP' | 'UDP' | 'SCTP', verdict: 'allow' | 'deny'];
interface Case {
  name: string;
  objects: Objects;
  expect: Expect[];
}

const denyIngress = (ns: string): unknown => np(ns, 'deny-in', { podSelector: {} });
const allowFrom = (ns: string, name: string, from: unknown[], extra: Record<string, unknown> = {}): unknown =>
  np(ns, name, { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from, ...extra }] });
const webPorts = (port: number): RawOpts['ports'] => [{ name: 'web', containerPort: port }];

const cases: Case[] = [
  { name: 'no policy: everything allowed', objects: {}, expect: [['x/a', 'y/b', 80, 'TCP', 'allow'], ['z/c', 'x/a', 81, 'UDP', 'allow']] },
  {
    name: 'deny-all ingress (policyTypes defaulted to Ingress) isolates only ingress',
    objects: { nps: [denyIngress('x')] },
    expect: [['y/a', 'x/a', 80, 'TCP', 'deny'], ['x/b', 'x/a', 80, 'TCP', 'deny'], ['x/a', 'y/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'podSelector selects only matching pods',
    objects: { nps: [np('x', 'p', { podSelector: { matchLabels: { pod: 'a' } } })] },
    expect: [['y/a', 'x/a', 80, 'TCP', 'deny'], ['y/a', 'x/b', 80, 'TCP', 'allow']],
  },
  {
    name: 'egress section present without policyTypes: Ingress and Egress both isolated',
    objects: { nps: [np('x', 'p', { podSelector: {}, egress: [] })] },
    expect: [['x/a', 'y/a', 80, 'TCP', 'deny'], ['y/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'policyTypes [Egress] only: ingress stays open',
    objects: { nps: [np('x', 'p', { podSelector: {}, policyTypes: ['Egress'] })] },
    expect: [['x/a', 'y/a', 80, 'TCP', 'deny'], ['y/a', 'x/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'policyTypes [Ingress] with egress rules: egress rules ignored, egress open',
    objects: { nps: [np('x', 'p', { podSelector: {}, policyTypes: ['Ingress'], egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })] },
    expect: [['x/a', 'y/c', 80, 'TCP', 'allow'], ['y/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'from podSelector alone means the policy namespace',
    objects: { nps: [allowFrom('x', 'p', [{ podSelector: { matchLabels: { pod: 'b' } } }])] },
    expect: [['x/b', 'x/a', 80, 'TCP', 'allow'], ['x/c', 'x/a', 80, 'TCP', 'deny'], ['y/b', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'from namespaceSelector alone: every pod of matching namespaces',
    objects: { nps: [allowFrom('x', 'p', [{ namespaceSelector: { matchLabels: { ns: 'y' } } }])] },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/c', 'x/a', 80, 'TCP', 'allow'], ['x/b', 'x/a', 80, 'TCP', 'deny'], ['z/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'namespaceSelector + podSelector in one peer is AND',
    objects: { nps: [allowFrom('x', 'p', [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }])] },
    expect: [['y/b', 'x/a', 80, 'TCP', 'allow'], ['y/c', 'x/a', 80, 'TCP', 'deny'], ['x/b', 'x/a', 80, 'TCP', 'deny'], ['z/b', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'namespaceSelector and podSelector as separate peers is OR',
    objects: { nps: [allowFrom('x', 'p', [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, { podSelector: { matchLabels: { pod: 'b' } } }])] },
    expect: [['y/c', 'x/a', 80, 'TCP', 'allow'], ['x/b', 'x/a', 80, 'TCP', 'allow'], ['z/b', 'x/a', 80, 'TCP', 'deny'], ['x/c', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'empty namespaceSelector + podSelector: that pod in every namespace',
    objects: { nps: [allowFrom('x', 'p', [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'b' } } }])] },
    expect: [['z/b', 'x/a', 80, 'TCP', 'allow'], ['y/b', 'x/a', 80, 'TCP', 'allow'], ['z/c', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'absent from: all peers (ports still apply)',
    objects: { nps: [np('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] })] },
    expect: [['z/c', 'x/a', 80, 'TCP', 'allow'], ['z/c', 'x/a', 81, 'TCP', 'deny'], ['203.0.113.9', 'x/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'empty rule {} allows everything',
    objects: { nps: [np('x', 'p', { podSelector: {}, ingress: [{}] })] },
    expect: [['z/c', 'x/a', 9999, 'UDP', 'allow'], ['y/a', 'x/b', 80, 'SCTP', 'allow']],
  },
  {
    name: 'absent ports: every port and protocol of the peer',
    objects: { nps: [allowFrom('x', 'p', [{ podSelector: { matchLabels: { pod: 'b' } } }])] },
    expect: [['x/b', 'x/a', 81, 'UDP', 'allow'], ['x/b', 'x/a', 5000, 'SCTP', 'allow']],
  },
  {
    name: 'port without protocol defaults to TCP',
    objects: { nps: [np('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] })] },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/a', 'x/a', 80, 'UDP', 'deny']],
  },
  {
    name: 'protocol without port: every port of that protocol',
    objects: { nps: [np('x', 'p', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP' }] }] })] },
    expect: [['y/a', 'x/a', 81, 'UDP', 'allow'], ['y/a', 'x/a', 12345, 'UDP', 'allow'], ['y/a', 'x/a', 81, 'TCP', 'deny']],
  },
  {
    name: 'SCTP is not TCP',
    objects: { nps: [np('x', 'p', { podSelector: {}, ingress: [{ ports: [{ protocol: 'SCTP', port: 80 }] }] })] },
    expect: [['y/a', 'x/a', 80, 'SCTP', 'allow'], ['y/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'endPort range is inclusive',
    objects: { nps: [np('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 80, endPort: 85 }] }] })] },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/a', 'x/a', 83, 'TCP', 'allow'], ['y/a', 'x/a', 85, 'TCP', 'allow'], ['y/a', 'x/a', 79, 'TCP', 'deny'], ['y/a', 'x/a', 86, 'TCP', 'deny']],
  },
  {
    name: 'wide endPort range 1024-65535',
    objects: { nps: [np('x', 'p', { podSelector: {}, egress: [{ ports: [{ port: 1024, endPort: 65535, protocol: 'UDP' }] }], policyTypes: ['Egress'] })] },
    expect: [['x/a', 'y/a', 1024, 'UDP', 'allow'], ['x/a', 'y/a', 65535, 'UDP', 'allow'], ['x/a', 'y/a', 1023, 'UDP', 'deny']],
  },
  {
    name: 'named port on ingress resolves on this pod',
    objects: { nps: [np('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })] },
    expect: [['y/a', 'x/a', 81, 'TCP', 'allow'], ['y/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'named port with UDP protocol matches only the UDP container port',
    objects: { nps: [np('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 'serve-80-udp', protocol: 'UDP' }] }] })] },
    expect: [['y/a', 'x/a', 80, 'UDP', 'allow'], ['y/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'named port with mismatched protocol matches nothing',
    objects: { nps: [np('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 'serve-80-udp' }] }] })] },
    expect: [['y/a', 'x/a', 80, 'UDP', 'deny'], ['y/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'named port resolved on the destination, not the source',
    objects: {
      nps: [np('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 'web' }] }] })],
      podOpts: (ns, p) => (ns === 'x' && p === 'a' ? { ports: webPorts(8080) } : ns === 'y' && p === 'a' ? { ports: webPorts(9090) } : {}),
    },
    expect: [['y/a', 'x/a', 8080, 'TCP', 'allow'], ['y/a', 'x/a', 9090, 'TCP', 'deny'], ['y/a', 'x/b', 8080, 'TCP', 'deny']],
  },
  {
    name: 'named port on egress resolves per peer pod',
    objects: {
      nps: [np('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 'web' }] }] })],
      podOpts: (ns, p) => (ns === 'y' && p === 'a' ? { ports: webPorts(8080) } : ns === 'y' && p === 'b' ? { ports: webPorts(9090) } : {}),
    },
    expect: [['x/a', 'y/a', 8080, 'TCP', 'allow'], ['x/a', 'y/a', 9090, 'TCP', 'deny'], ['x/a', 'y/b', 9090, 'TCP', 'allow'], ['x/a', 'y/b', 8080, 'TCP', 'deny'], ['x/a', 'y/c', 8080, 'TCP', 'deny']],
  },
  {
    name: 'named port on egress with same labels but different numbers does not over-allow',
    objects: {
      nps: [np('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'web' }] }] })],
      podOpts: (ns, p) => (ns === 'y' ? { labels: { app: 'same' }, ports: webPorts(p === 'a' ? 8080 : 9090) } : {}),
    },
    expect: [['x/a', 'y/a', 8080, 'TCP', 'allow'], ['x/a', 'y/a', 9090, 'TCP', 'deny'], ['x/a', 'y/b', 9090, 'TCP', 'allow'], ['x/a', '203.0.113.1', 8080, 'TCP', 'deny']],
  },
  {
    name: 'policies are additive',
    objects: { nps: [allowFrom('x', 'p1', [{ podSelector: { matchLabels: { pod: 'b' } } }]), allowFrom('x', 'p2', [{ podSelector: { matchLabels: { pod: 'c' } } }])] },
    expect: [['x/b', 'x/a', 80, 'TCP', 'allow'], ['x/c', 'x/a', 80, 'TCP', 'allow'], ['y/b', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'additive across directions-only and rules-bearing policies: deny-all plus allow',
    objects: { nps: [denyIngress('x'), allowFrom('x', 'p', [{ namespaceSelector: { matchLabels: { ns: 'z' } } }])] },
    expect: [['z/a', 'x/a', 80, 'TCP', 'allow'], ['z/a', 'x/b', 80, 'TCP', 'deny']],
  },
  {
    name: 'both sides must allow: client egress deny beats server ingress allow',
    objects: {
      nps: [
        np('x', 'deny-out', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'] }),
        np('y', 'allow-in', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] }),
      ],
    },
    expect: [['x/a', 'y/a', 80, 'TCP', 'deny'], ['x/b', 'y/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'both sides must allow: server ingress deny beats client egress allow',
    objects: { nps: [np('x', 'out', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] }), denyIngress('y')] },
    expect: [['x/a', 'y/a', 80, 'TCP', 'deny'], ['x/a', 'z/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'a policy only affects its own namespace',
    objects: { nps: [denyIngress('z')] },
    expect: [['x/a', 'y/a', 80, 'TCP', 'allow'], ['x/a', 'z/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'matchExpressions In / NotIn / Exists / DoesNotExist',
    objects: {
      nps: [
        np('x', 'p', {
          podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['a', 'b'] }] },
          ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['y'] }] }, podSelector: { matchExpressions: [{ key: 'pod', operator: 'Exists' }, { key: 'tier', operator: 'DoesNotExist' }] } }] }],
        }),
      ],
    },
    expect: [['z/c', 'x/a', 80, 'TCP', 'allow'], ['y/c', 'x/a', 80, 'TCP', 'deny'], ['y/c', 'x/c', 80, 'TCP', 'allow'], ['z/c', 'x/b', 80, 'TCP', 'allow']],
  },
  {
    name: 'ipBlock matches pod IPs',
    objects: { nps: [np('x', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.2.0.0/16' } }] }] })] },
    expect: [['x/a', 'y/a', 80, 'TCP', 'allow'], ['x/a', 'y/c', 80, 'TCP', 'allow'], ['x/a', 'z/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'ipBlock except removes addresses from that peer',
    objects: { nps: [np('x', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.2.0.0/16', except: ['10.2.0.2/32'] } }] }] })] },
    expect: [['x/a', 'y/a', 80, 'TCP', 'allow'], ['x/a', 'y/b', 80, 'TCP', 'deny'], ['x/a', 'y/c', 80, 'TCP', 'allow']],
  },
  {
    name: 'an IP in both an ipBlock except and another peer is allowed',
    objects: { nps: [np('x', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.2.0.0/16', except: ['10.2.0.2/32'] } }, { ipBlock: { cidr: '10.2.0.2/32' } }] }] })] },
    expect: [['x/a', 'y/b', 80, 'TCP', 'allow'], ['x/a', 'z/b', 80, 'TCP', 'deny']],
  },
  {
    name: 'ipBlock except in one policy does not cancel another policy',
    objects: {
      nps: [
        np('x', 'p1', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.2.0.0/16', except: ['10.2.0.0/24'] } }] }] }),
        np('x', 'p2', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: {}, namespaceSelector: { matchLabels: { ns: 'y' } } }] }] }),
      ],
    },
    expect: [['x/a', 'y/b', 80, 'TCP', 'allow'], ['x/a', 'z/b', 80, 'TCP', 'deny']],
  },
  {
    name: 'ipBlock to external addresses with except',
    objects: { nps: [np('x', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }] }] })] },
    expect: [['x/a', '203.0.113.5', 443, 'TCP', 'allow'], ['x/a', '203.0.113.200', 443, 'TCP', 'deny'], ['x/a', '198.51.100.1', 443, 'TCP', 'deny']],
  },
  {
    name: 'ingress ipBlock from an external client; host bits in the CIDR are ignored',
    objects: { nps: [np('x', 'p', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.77/24' } }] }] })] },
    expect: [['203.0.113.7', 'x/a', 80, 'TCP', 'allow'], ['198.51.100.7', 'x/a', 80, 'TCP', 'deny'], ['y/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'named port that the pod does not have: isolated, nothing allowed',
    objects: { nps: [np('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 'nope' }] }] })] },
    expect: [['y/a', 'x/a', 80, 'TCP', 'deny'], ['y/a', 'x/a', 81, 'TCP', 'deny']],
  },
  {
    name: 'MultiNetworkPolicy applies to net1 of the NAD in policy-for, not to eth0',
    objects: { podOpts: () => ({ secondary: true }), mnps: [mnp('x', 'm', 'macnet', { podSelector: {}, policyTypes: ['Ingress'] })] },
    expect: [['y/a:net1', 'x/a:net1', 80, 'TCP', 'deny'], ['y/a', 'x/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'NetworkPolicy applies to eth0, not to net1',
    objects: { podOpts: () => ({ secondary: true }), nps: [denyIngress('x')] },
    expect: [['y/a:net1', 'x/a:net1', 80, 'TCP', 'allow'], ['y/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'MultiNetworkPolicy for another NAD (ns/name form) does not apply',
    objects: { podOpts: () => ({ secondary: true }), mnps: [mnp('x', 'm', 'y/macnet', { podSelector: {} })] },
    expect: [['y/a:net1', 'x/a:net1', 80, 'TCP', 'allow']],
  },
  {
    name: 'MultiNetworkPolicy allows a peer by selector on net1',
    objects: { podOpts: () => ({ secondary: true }), mnps: [mnp('x', 'm', 'x/macnet', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] })] },
    expect: [['y/a:net1', 'x/a:net1', 80, 'TCP', 'allow'], ['z/a:net1', 'x/a:net1', 80, 'TCP', 'deny']],
  },
  {
    name: 'AdminNetworkPolicy Deny cannot be re-allowed by NetworkPolicy',
    objects: {
      anps: [anp('deny-y', 10, { subject: { namespaces: { matchLabels: { ns: 'x' } } }, ingress: [{ action: 'Deny', from: [{ namespaces: { matchLabels: { ns: 'y' } } }] }] })],
      nps: [np('x', 'allow', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] })],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'deny'], ['z/a', 'x/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'AdminNetworkPolicy Allow overrides a NetworkPolicy deny-all',
    objects: {
      anps: [anp('allow-z', 10, { subject: { namespaces: {} }, ingress: [{ action: 'Allow', from: [{ namespaces: { matchLabels: { ns: 'z' } } }] }] })],
      nps: [denyIngress('x')],
    },
    expect: [['z/a', 'x/a', 80, 'TCP', 'allow'], ['y/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'AdminNetworkPolicy Pass hands over to NetworkPolicy',
    objects: {
      anps: [anp('pass-y', 5, { subject: { namespaces: {} }, ingress: [{ action: 'Pass', from: [{ namespaces: { matchLabels: { ns: 'y' } } }] }] }), anp('deny-all', 50, { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] })],
      nps: [np('x', 'allow-y', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 80 }] }] })],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/a', 'x/a', 81, 'TCP', 'deny'], ['y/a', 'z/a', 80, 'TCP', 'allow'], ['z/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'AdminNetworkPolicy Pass falls through to BaselineAdminNetworkPolicy when no NetworkPolicy isolates',
    objects: {
      anps: [anp('pass-y', 5, { subject: { namespaces: {} }, ingress: [{ action: 'Pass', from: [{ namespaces: { matchLabels: { ns: 'y' } } }] }] })],
      banp: banp({ subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: { matchLabels: { ns: 'y' } } }] }] }),
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'deny'], ['z/a', 'x/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'ANP priority: lower number wins',
    objects: {
      anps: [
        anp('late-deny', 20, { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: { matchLabels: { ns: 'y' } } }] }] }),
        anp('early-allow', 10, { subject: { namespaces: {} }, ingress: [{ action: 'Allow', from: [{ pods: { namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'a' } } } }] }] }),
      ],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['y/b', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'ANP rule order inside one policy',
    objects: {
      anps: [
        anp('ordered', 10, {
          subject: { namespaces: {} },
          ingress: [
            { action: 'Deny', from: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { pod: 'b' } } } }] },
            { action: 'Allow', from: [{ namespaces: {} }] },
            { action: 'Deny', from: [{ namespaces: {} }] },
          ],
        }),
      ],
      nps: [denyIngress('x')],
    },
    expect: [['y/b', 'x/a', 80, 'TCP', 'deny'], ['y/a', 'x/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'ANP same priority and position: deny beats allow',
    objects: {
      anps: [
        anp('a-allow', 10, { subject: { namespaces: {} }, ingress: [{ action: 'Allow', from: [{ namespaces: { matchLabels: { ns: 'y' } } }] }] }),
        anp('b-deny', 10, { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: { matchLabels: { ns: 'y' } } }] }] }),
      ],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'narrow port deny at higher priority beats a broad allow (fold)',
    objects: {
      anps: [
        anp('deny-80', 1, { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }], ports: [{ portNumber: { protocol: 'TCP', port: 80 } }] }] }),
        anp('allow-all', 2, { subject: { namespaces: {} }, ingress: [{ action: 'Allow', from: [{ namespaces: {} }] }] }),
      ],
      nps: [denyIngress('x')],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'deny'], ['y/a', 'x/a', 81, 'TCP', 'allow']],
  },
  {
    name: 'broad allow at higher priority covers a narrower lower-priority deny (fold into narrow entry)',
    objects: {
      anps: [
        anp('allow-y', 1, { subject: { namespaces: {} }, ingress: [{ action: 'Allow', from: [{ namespaces: { matchLabels: { ns: 'y' } } }] }] }),
        anp('deny-range', 2, { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: { matchLabels: { ns: 'y' } } }], ports: [{ portRange: { protocol: 'TCP', start: 70, end: 90 } }] }] }),
      ],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['z/a', 'x/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'ANP namedPort resolves on the destination',
    objects: { anps: [anp('deny-web', 1, { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }], ports: [{ namedPort: 'serve-81-udp' }] }] })] },
    expect: [['y/a', 'x/a', 81, 'UDP', 'deny'], ['y/a', 'x/a', 81, 'TCP', 'allow']],
  },
  {
    name: 'ANP egress networks peer',
    objects: { anps: [anp('no-ext', 1, { subject: { pods: { namespaceSelector: { matchLabels: { ns: 'x' } }, podSelector: { matchLabels: { pod: 'a' } } } }, egress: [{ action: 'Deny', to: [{ networks: ['203.0.113.0/24'] }] }] })] },
    expect: [['x/a', '203.0.113.9', 443, 'TCP', 'deny'], ['x/b', '203.0.113.9', 443, 'TCP', 'allow'], ['x/a', '198.51.100.9', 443, 'TCP', 'allow']],
  },
  {
    name: 'ANP unsupported peer fails closed (Deny matches all)',
    objects: { anps: [anp('nodes', 1, { subject: { namespaces: { matchLabels: { ns: 'x' } } }, egress: [{ action: 'Deny', to: [{ nodes: { matchLabels: {} } }] }] })] },
    expect: [['x/a', 'y/a', 80, 'TCP', 'deny'], ['y/a', 'x/a', 80, 'TCP', 'allow']],
  },
  {
    name: 'BaselineAdminNetworkPolicy applies only when NetworkPolicy does not isolate',
    objects: {
      banp: banp({ subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] }),
      nps: [allowFrom('x', 'p', [{ namespaceSelector: { matchLabels: { ns: 'y' } } }])],
    },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['z/a', 'x/a', 80, 'TCP', 'deny'], ['y/a', 'x/b', 80, 'TCP', 'deny'], ['x/a', 'y/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'BaselineAdminNetworkPolicy rule order',
    objects: { banp: banp({ subject: { namespaces: {} }, egress: [{ action: 'Allow', to: [{ namespaces: { matchLabels: { ns: 'z' } } }] }, { action: 'Deny', to: [{ namespaces: {} }] }] }) },
    expect: [['x/a', 'z/a', 80, 'TCP', 'allow'], ['x/a', 'y/a', 80, 'TCP', 'deny']],
  },
  {
    name: 'remote-node pods are peers through the ipcache',
    objects: { podOpts: (ns) => ({ node: ns === 'y' ? 'n2' : 'n1' }), nps: [allowFrom('x', 'p', [{ namespaceSelector: { matchLabels: { ns: 'y' } } }])] },
    expect: [['y/a', 'x/a', 80, 'TCP', 'allow'], ['z/a', 'x/a', 80, 'TCP', 'deny']],
  },
];

describe('compiler reachability (evaluated over the compiled entries)', () => {
  it.each(cases)('$name', ({ objects, expect: expected }) => {
    const state = compileCluster(new PolicyCompiler().load(clusterState(objects)));
    for (const [from, to, port, protocol, verdict] of expected) {
      const got = probe(state, from, to, port, protocol);
      expect({ flow: `${from} -> ${to} ${protocol}/${port}`, verdict: got.verdict }).toEqual({
        flow: `${from} -> ${to} ${protocol}/${port}`,
        verdict,
      });
    }
  });

  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });
});
