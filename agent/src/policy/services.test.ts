/**
 * Egress to a Service ClusterIP (services.ts, service-emit.ts): the ClusterIP is allowed by a rule
 * exactly when the rule allows every backend the Service's EndpointSlices list, at the slice's port.
 * Probes go through the reference evaluator over the compiled node state, as the datapath sees it.
 */
import { describe, expect, it } from 'vitest';
import { PolicyCompiler } from './compile.js';
import { parseAdminNetworkPolicy } from './model.js';
import { parseEndpointSlice, parseService } from './service-model.js';
import { anp, clusterState, compileCluster, must, np, podIp, probe, rawPod, rawService, rawSlice, type Objects } from './testkit.js';
import { assemblePods } from './testkit.js';

const VIP = '10.96.0.10';
const VIP2 = '10.96.0.11';
const egress = (name: string, rules: unknown[]): unknown =>
  np('x', name, { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: rules });
/** Service x/web on VIP port `port` → backends `backends` (pod specs "ns/pod") at `target`. */
const web = (backends: string[], port = 80, target = 80, vip = VIP, name = 'web'): Pick<Objects, 'services' | 'slices'> => ({
  services: [rawService('x', name, [vip], [['http', port]])],
  slices: [rawSlice('x', `${name}-1`, name, backends.map((b) => { const [ns, p] = b.split('/'); return podIp(ns ?? '', p ?? ''); }), [['http', target]])],
});
const verdict = (o: Objects, to: string, port: number, protocol: 'TCP' | 'UDP' = 'TCP'): string =>
  probe(compileCluster(new PolicyCompiler().load(clusterState(o))), 'x/a', to, port, protocol).verdict;

interface Case { name: string; objects: Objects; expect: [to: string, port: number, verdict: 'allow' | 'deny'][] }

const toYb = { to: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] };
const toNsY = { to: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] };

const cases: Case[] = [
  {
    name: 'pod + namespace selector peer: allowed when the only backend is the selected pod',
    objects: { nps: [egress('p', [toYb])], ...web(['y/b']) },
    expect: [[VIP, 80, 'allow'], [podIp('y', 'b'), 80, 'allow'], [VIP, 81, 'deny']],
  },
  {
    name: 'pod + namespace selector peer: a backend it does not select denies the ClusterIP',
    objects: { nps: [egress('p', [toYb])], ...web(['y/c']) },
    expect: [[VIP, 80, 'deny']],
  },
  {
    name: 'namespace peer: every backend in the namespace → allowed; one outside → denied',
    objects: {
      nps: [egress('p', [toNsY])],
      services: [rawService('x', 'in', [VIP], [['', 80]]), rawService('x', 'mixed', [VIP2], [['', 80]])],
      slices: [
        rawSlice('x', 'in-1', 'in', [podIp('y', 'a'), podIp('y', 'c')], [['', 80]]),
        rawSlice('x', 'mixed-1', 'mixed', [podIp('y', 'a')], [['', 80]]),
        rawSlice('x', 'mixed-2', 'mixed', [podIp('z', 'a')], [['', 80]]),
      ],
    },
    expect: [[VIP, 80, 'allow'], [VIP2, 80, 'deny']],
  },
  {
    name: 'ipBlock with except: the backend address decides, except included',
    objects: {
      nps: [egress('p', [{ to: [{ ipBlock: { cidr: '10.2.0.0/16', except: ['10.2.0.2/32'] } }] }])],
      services: [rawService('x', 'ok', [VIP], [['', 80]]), rawService('x', 'excepted', [VIP2], [['', 80]])],
      slices: [rawSlice('x', 'ok-1', 'ok', [podIp('y', 'a')], [['', 80]]), rawSlice('x', 'ex-1', 'excepted', [podIp('y', 'a'), podIp('y', 'b')], [['', 80]])],
    },
    expect: [[VIP, 80, 'allow'], [VIP2, 80, 'deny']],
  },
  {
    name: 'ipBlock: a backend outside every pod (a selectorless Service) is judged by its address',
    objects: {
      nps: [egress('p', [{ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }] }])],
      services: [rawService('x', 'ext', [VIP], [['', 443]]), rawService('x', 'other', [VIP2], [['', 443]])],
      slices: [rawSlice('x', 'ext-1', 'ext', ['203.0.113.7'], [['', 443]]), rawSlice('x', 'other-1', 'other', ['198.51.100.7'], [['', 443]])],
    },
    expect: [[VIP, 443, 'allow'], [VIP2, 443, 'deny']],
  },
  {
    name: 'numeric port: matched against the target port the slice gives, not the Service port',
    objects: {
      nps: [egress('p', [{ ...toNsY, ports: [{ port: 81 }] }])],
      services: [rawService('x', 'to81', [VIP], [['', 80]]), rawService('x', 'to80', [VIP2], [['', 81]])],
      slices: [rawSlice('x', 'to81-1', 'to81', [podIp('y', 'a')], [['', 81]]), rawSlice('x', 'to80-1', 'to80', [podIp('y', 'a')], [['', 80]])],
    },
    expect: [[VIP, 80, 'allow'], [VIP, 81, 'deny'], [VIP2, 81, 'deny']],
  },
  {
    name: 'named port: resolved on each backend pod at the slice port',
    objects: {
      nps: [egress('p', [{ ports: [{ port: 'serve-81-tcp' }] }])],
      services: [rawService('x', 'to81', [VIP], [['http', 80]]), rawService('x', 'to80', [VIP2], [['http', 80]])],
      slices: [
        rawSlice('x', 'to81-1', 'to81', [podIp('y', 'a'), podIp('z', 'b')], [['http', 81]]),
        rawSlice('x', 'to80-1', 'to80', [podIp('y', 'a')], [['http', 80]]),
      ],
    },
    expect: [[VIP, 80, 'allow'], [VIP2, 80, 'deny']],
  },
  {
    name: 'named port: a non-pod backend has no named ports',
    objects: {
      nps: [egress('p', [{ ports: [{ port: 'serve-81-tcp' }] }])],
      services: [rawService('x', 'mixed', [VIP], [['http', 80]])],
      slices: [rawSlice('x', 'mixed-1', 'mixed', [podIp('y', 'a'), '203.0.113.7'], [['http', 81]])],
    },
    expect: [[VIP, 80, 'deny']],
  },
  {
    name: 'slice ports are matched to Service ports by name',
    objects: {
      nps: [egress('p', [{ ...toNsY, ports: [{ port: 81 }] }])],
      services: [rawService('x', 'two', [VIP], [['a', 80], ['b', 90]])],
      slices: [rawSlice('x', 'two-1', 'two', [podIp('y', 'a')], [['b', 80], ['a', 81]])],
    },
    expect: [[VIP, 80, 'allow'], [VIP, 90, 'deny']],
  },
  {
    name: 'a Service with no endpoints is allowed by no selector rule',
    objects: { nps: [egress('p', [toNsY])], services: [rawService('x', 'empty', [VIP], [['', 80]])] },
    expect: [[VIP, 80, 'deny']],
  },
  {
    name: 'two rules each allowing one backend do not together allow the ClusterIP (one rule must allow all)',
    objects: { nps: [egress('p', [toYb, { to: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'c' } } }] }])], ...web(['y/b', 'y/c']) },
    expect: [[VIP, 80, 'deny'], [podIp('y', 'b'), 80, 'allow'], [podIp('y', 'c'), 80, 'allow']],
  },
  {
    name: 'an ipBlock that contains the ClusterIP but not its backends does not allow it (the backends decide)',
    objects: {
      nps: [egress('p', [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] }])],
      services: [rawService('x', 'inside', ['172.20.0.10'], [['', 80]]), rawService('x', 'outside', ['172.20.0.11'], [['', 80]])],
      slices: [rawSlice('x', 'inside-1', 'inside', [podIp('z', 'c')], [['', 80]]), rawSlice('x', 'outside-1', 'outside', ['203.0.113.7'], [['', 80]])],
    },
    expect: [['172.20.0.10', 80, 'deny'], ['172.20.0.11', 80, 'allow'], ['172.20.0.12', 80, 'allow']],
  },
  {
    name: 'a rule with ports but no peers: judged at the backend port too (its ANY entry no longer lets a ClusterIP through to another port)',
    objects: {
      nps: [egress('p', [{ ports: [{ port: 80 }] }])],
      services: [rawService('x', 'same', [VIP], [['', 80]]), rawService('x', 'to22', [VIP2], [['', 80]])],
      slices: [rawSlice('x', 'same-1', 'same', [podIp('y', 'b')], [['', 80]]), rawSlice('x', 'to22-1', 'to22', [podIp('y', 'b')], [['', 22]])],
    },
    expect: [[VIP, 80, 'allow'], [VIP2, 80, 'deny'], [podIp('y', 'b'), 80, 'allow'], ['203.0.113.1', 80, 'allow']],
  },
  {
    name: 'a rule with ports but no peers does not stop another rule that allows every backend',
    objects: {
      nps: [egress('p', [{ ports: [{ port: 80 }] }, { ...toYb, ports: [{ port: 22 }] }])],
      services: [rawService('x', 'to22', [VIP2], [['', 80]])],
      slices: [rawSlice('x', 'to22-1', 'to22', [podIp('y', 'b')], [['', 22]])],
    },
    expect: [[VIP2, 80, 'allow']],
  },
  {
    name: 'allow-all egress still allows the ClusterIP',
    objects: { nps: [egress('p', [{}])], ...web(['z/c']) },
    expect: [[VIP, 80, 'allow'], [VIP, 443, 'allow']],
  },
  {
    name: 'not isolated: the ClusterIP is allowed as before',
    objects: web(['z/c']),
    expect: [[VIP, 80, 'allow']],
  },
  {
    name: 'AdminNetworkPolicy Deny reaching one backend denies the ClusterIP even when a NetworkPolicy allows all',
    objects: {
      nps: [egress('p', [toNsY])],
      anps: [anp('deny-yb', 10, { subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { pod: 'b' } } } }] }] })],
      ...web(['y/a', 'y/b']),
    },
    expect: [[VIP, 80, 'deny'], [podIp('y', 'a'), 80, 'allow']],
  },
  {
    name: 'AdminNetworkPolicy Pass reaching only some backends denies the ClusterIP',
    objects: {
      anps: [anp('pass-yb', 10, { subject: { namespaces: {} }, egress: [{ action: 'Pass', to: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { pod: 'b' } } } }] }] })],
      ...web(['y/a', 'y/b']),
    },
    expect: [[VIP, 80, 'deny'], [podIp('y', 'a'), 80, 'allow']],
  },
  {
    name: 'AdminNetworkPolicy Allow of every backend allows the ClusterIP over a NetworkPolicy default deny',
    objects: {
      nps: [egress('p', [])],
      anps: [anp('allow-y', 10, { subject: { namespaces: {} }, egress: [{ action: 'Allow', to: [{ namespaces: { matchLabels: { ns: 'y' } } }] }] })],
      ...web(['y/a', 'y/b']),
    },
    expect: [[VIP, 80, 'allow'], [podIp('z', 'a'), 80, 'deny']],
  },
];

describe('egress to a Service ClusterIP', () => {
  for (const c of cases) {
    it(c.name, () => {
      for (const [to, port, want] of c.expect) expect(`${to}:${port} ${verdict(c.objects, to, port)}`).toBe(`${to}:${port} ${want}`);
    });
  }

  it('gives each ClusterIP its own identity, without a namespace class, that names the Service', () => {
    const c = new PolicyCompiler().load(clusterState({ ...web(['y/b']) }));
    const entry = c.ipcache().find((e) => e.cidr === `${VIP}/32`);
    expect(entry?.namespaceClass).toBeUndefined();
    const podIds = new Set(c.ipcache().filter((e) => e.cidr !== `${VIP}/32`).map((e) => e.identity));
    expect(entry !== undefined && podIds.has(entry.identity)).toBe(false);
    expect(entry === undefined ? undefined : c.describeIdentity(entry.identity)).toBe(`Service x/web (ClusterIP ${VIP})`);
    // Flow events name the destination by it (agent.ts flowNames).
    expect(c.serviceAt(VIP)).toBe('service x/web');
    expect(c.serviceAt(podIp('y', 'b'))).toBeUndefined();
  });

  it('an audit policy judges the ClusterIP by its backends too (what-if verdict), without enforcing', () => {
    const audited = (backend: string) => {
      const policy = egress('p', [toYb]) as { metadata: Record<string, unknown> };
      const objects = { nps: [{ ...policy, metadata: { ...policy.metadata, annotations: { 'weir.dev/enforcement': 'audit' } } }], ...web([backend]) };
      return probe(compileCluster(new PolicyCompiler().load(clusterState(objects))), 'x/a', VIP, 80);
    };
    const allowed = audited('y/b');
    expect(allowed.verdict).toBe('allow');
    expect(allowed.auditPolicies?.verdict).toBe('allow');
    const denied = audited('y/c');
    expect(denied.verdict).toBe('allow');
    expect(denied.auditPolicies?.verdict).toBe('deny');
    expect(denied.auditPolicies?.rule).toMatchObject({ policy: 'x/p', audit: true });
  });

  it('an admin Pass of every address with ports that misses the backend port denies the ClusterIP port (fail closed)', () => {
    const c = new PolicyCompiler().load(clusterState({
      anps: [anp('deny-22', 20, { subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ networks: ['0.0.0.0/0'] }], ports: [{ portNumber: { protocol: 'TCP', port: 22 } }] }] })],
      services: [rawService('x', 'to22', [VIP], [['', 80]])],
      slices: [rawSlice('x', 'to22-1', 'to22', [podIp('y', 'b')], [['', 22]])],
    }));
    // Pass of every address (the shape an unreadable Pass peer fails closed to), ports 80.
    const pass = must(parseAdminNetworkPolicy(anp('pass-80', 10, { subject: { namespaces: {} }, egress: [{ action: 'Pass', to: [{ networks: ['0.0.0.0/0'] }], ports: [{ portNumber: { protocol: 'TCP', port: 80 } }] }] })));
    c.upsertPolicy({ ...pass, egress: pass.egress.map((r) => ({ ...r, peers: [{ kind: 'all' as const }] })) });
    const state = compileCluster(c);
    // y/b:22 itself: the Pass does not match port 22, the Deny does.
    expect(probe(state, 'x/a', podIp('y', 'b'), 22).verdict).toBe('deny');
    expect(probe(state, 'x/a', VIP, 80).verdict).toBe('deny');
    expect(probe(state, 'x/a', '203.0.113.1', 80).verdict).toBe('allow');
  });

  it('names the Service in the explanation of a flow to its ClusterIP', () => {
    const state = compileCluster(new PolicyCompiler().load(clusterState({ nps: [egress('p', [toYb])], ...web(['y/b']) })));
    const r = probe(state, 'x/a', VIP, 80);
    expect(r.verdict).toBe('allow');
    expect(r.rule?.policy).toBe('x/p');
  });
});

describe('egress to a ClusterIP, incrementally', () => {
  const setup = (): { c: PolicyCompiler; check: (port?: number) => string; revision: () => number | undefined } => {
    const c = new PolicyCompiler().load(clusterState({ nps: [egress('p', [toNsY])] }));
    const check = (port = 80): string => probe(compileCluster(c), 'x/a', VIP, port).verdict;
    const revision = (): number | undefined => c.compileEndpoint({ namespace: 'x', pod: 'a', interface: 'eth0' })?.revision;
    return { c, check, revision };
  };

  it('follows Service and EndpointSlice changes, and an endpoint that stops being allowed revokes', () => {
    const { c, check, revision } = setup();
    expect(check()).toBe('deny'); // no Service yet: the address is nobody's
    c.upsertService(must(parseService(rawService('x', 'web', [VIP], [['http', 80]]))));
    expect(check()).toBe('deny'); // no endpoints
    c.upsertEndpointSlice(must(parseEndpointSlice(rawSlice('x', 'web-1', 'web', [podIp('y', 'a')], [['http', 80]]))));
    expect(check()).toBe('allow');
    const before = revision();
    // A resync of the same objects changes nothing the agent would rewrite.
    c.upsertEndpointSlice(must(parseEndpointSlice(rawSlice('x', 'web-1', 'web', [podIp('y', 'a')], [['http', 80]]))));
    c.upsertService(must(parseService(rawService('x', 'web', [VIP], [['http', 80]]))));
    expect(revision()).toBe(before);
    // A second slice lists a backend outside namespace y: revoked.
    c.upsertEndpointSlice(must(parseEndpointSlice(rawSlice('x', 'web-2', 'web', [podIp('z', 'a')], [['http', 80]]))));
    expect(check()).toBe('deny');
    expect(revision()).not.toBe(before);
    c.removeEndpointSlice('x', 'web-2');
    expect(check()).toBe('allow');
    // Port renumbered: the ClusterIP follows the Service.
    c.upsertService(must(parseService(rawService('x', 'web', [VIP], [['http', 8080]]))));
    expect(check(80)).toBe('deny');
    expect(check(8080)).toBe('allow');
    c.removeService('x', 'web');
    expect(check(8080)).toBe('deny');
    expect(c.ipcache().some((e) => e.cidr === `${VIP}/32`)).toBe(false);
  });

  it('a slice that does not parse makes its Service allowed by no rule until it does', () => {
    const { c, check } = setup();
    c.upsertService(must(parseService(rawService('x', 'web', [VIP], [['http', 80]]))));
    c.upsertEndpointSlice(must(parseEndpointSlice(rawSlice('x', 'web-1', 'web', [podIp('y', 'a')], [['http', 80]]))));
    expect(check()).toBe('allow');
    c.brokenEndpointSlice('x', 'web-2', 'web');
    expect(check()).toBe('deny');
    c.removeEndpointSlice('x', 'web-2');
    expect(check()).toBe('allow');
  });

  it('a slice that does not parse keeps its Service unknown across a reload (namespace labels change)', () => {
    const { c, check } = setup();
    c.upsertService(must(parseService(rawService('x', 'web', [VIP], [['http', 80]]))));
    c.upsertEndpointSlice(must(parseEndpointSlice(rawSlice('x', 'web-1', 'web', [podIp('y', 'a')], [['http', 80]]))));
    c.brokenEndpointSlice('x', 'web-2', 'web');
    c.upsertNamespace({ name: 'z', labels: { ns: 'z', extra: 'yes' } });
    expect(check()).toBe('deny');
    c.removeEndpointSlice('x', 'web-2');
    expect(check()).toBe('allow');
  });

  it('a backend pod whose labels change revokes, and a relabel back restores', () => {
    const { c, check } = setup();
    c.upsertService(must(parseService(rawService('x', 'web', [VIP], [['http', 80]]))));
    c.upsertEndpointSlice(must(parseEndpointSlice(rawSlice('x', 'web-1', 'web', [podIp('y', 'a'), podIp('y', 'b')], [['http', 80]]))));
    const narrow = new PolicyCompiler().load(clusterState({ nps: [egress('p', [toYb])] }));
    expect(check()).toBe('allow');
    const relabel = (labels: Record<string, string>): void => {
      const [pod] = assemblePods([rawPod('y', 'a', podIp('y', 'a'), { labels })]);
      if (pod === undefined) throw new Error('pod');
      c.upsertPod(pod);
      narrow.upsertPod(pod);
    };
    // Namespace peer: still allowed after a relabel within y.
    relabel({ pod: 'b' });
    expect(check()).toBe('allow');
    // A narrower policy on a second compiler: y/a relabelled away from pod=b revokes there.
    narrow.upsertService(must(parseService(rawService('x', 'web', [VIP], [['http', 80]]))));
    narrow.upsertEndpointSlice(must(parseEndpointSlice(rawSlice('x', 'web-1', 'web', [podIp('y', 'a'), podIp('y', 'b')], [['http', 80]]))));
    expect(probe(compileCluster(narrow), 'x/a', VIP, 80).verdict).toBe('allow');
    relabel({ pod: 'a' });
    expect(probe(compileCluster(narrow), 'x/a', VIP, 80).verdict).toBe('deny');
    relabel({ pod: 'b' });
    expect(probe(compileCluster(narrow), 'x/a', VIP, 80).verdict).toBe('allow');
    // The backend pod goes: its address is nobody's, which the selector does not match.
    narrow.removePod('y', 'a');
    expect(probe(compileCluster(narrow), 'x/a', VIP, 80).verdict).toBe('deny');
  });

  it('keeps ClusterIP identities across a reload (namespace labels change)', () => {
    const { c } = setup();
    c.upsertService(must(parseService(rawService('x', 'web', [VIP], [['http', 80]]))));
    const id = c.ipcache().find((e) => e.cidr === `${VIP}/32`)?.identity;
    c.upsertNamespace({ name: 'z', labels: { ns: 'z', extra: 'yes' } });
    expect(c.ipcache().find((e) => e.cidr === `${VIP}/32`)?.identity).toBe(id);
  });
});

describe('Service and EndpointSlice parsers', () => {
  it('read clusterIPs of both families and skip headless and ExternalName', () => {
    const dual = must(parseService(rawService('x', 's', ['10.96.0.1', 'fd00::1'], [['', 80]])));
    expect(dual.clusterIPs.map((c) => c.canonical)).toEqual(['10.96.0.1/32', 'fd00::1/128']);
    expect(must(parseService(rawService('x', 's', ['None'], [['', 80]]))).clusterIPs).toEqual([]);
    const ext = { metadata: { namespace: 'x', name: 'e' }, spec: { type: 'ExternalName', externalName: 'example.com', clusterIP: '10.96.0.5' } };
    expect(must(parseService(ext)).clusterIPs).toEqual([]);
  });

  it('name the bad field', () => {
    const bad = parseService({ metadata: { namespace: 'x', name: 's' }, spec: { clusterIPs: ['10.96.0.999'], ports: [{ port: 'http' }] } });
    expect(bad.ok ? [] : bad.errors.map((e) => e.path)).toEqual(['spec.ports[0].port', 'spec.clusterIPs[0]']);
    const slice = parseEndpointSlice({ metadata: { namespace: 'x', name: 's-1' }, addressType: 'IPv4', endpoints: [{ addresses: ['fd00::1'] }] });
    expect(slice.ok ? [] : slice.errors.map((e) => e.path)).toEqual(['endpoints[0].addresses[0]']);
  });
});
