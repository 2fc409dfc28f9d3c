import { describe, expect, it } from 'vitest';
import { ANY_IDENTITY, FIRST_ALLOCATED_IDENTITY, isNamespaceClass, type PolicyEntry } from '../datapath/desired.js';
import { PolicyCompiler, compileNode } from './compile.js';
import { foldEntries } from './fold.js';
import { parseAdminNetworkPolicy, parseMultiNetworkPolicy, parseNetworkPolicy, parsePod } from './model.js';
import { portMatches, portRangeToPrefixes } from './ports.js';
import { DEFAULT_DENY_INGRESS_RULE } from './rules.js';
import { explainFlow } from './evaluate.js';
import { anp, clusterState, compileCluster, flowEnd, must, np, podIp, probe, rawPod, type RawOpts } from './testkit.js';

describe('port ranges as masked prefixes', () => {
  it.each([
    [1, 65535, 16],
    [1, 65534, 30],
    [1024, 65535, 6],
    [10000, 20000, 11],
    [1, 1023, 10],
    [0, 1023, 1],
    [22, 23, 1],
    [80, 80, 1],
    [0, 65535, 1],
  ])('%i-%i → %i prefixes covering exactly the range', (lo, hi, n) => {
    const prefixes = portRangeToPrefixes(lo, hi);
    expect(prefixes).toHaveLength(n);
    for (const p of [lo - 1, lo, Math.floor((lo + hi) / 2), hi, hi + 1]) {
      if (p < 0 || p > 65535) continue;
      expect(prefixes.some((x) => portMatches(x, p))).toBe(p >= lo && p <= hi);
    }
  });
  it('never exceeds 30 entries (exhaustive over sampled ranges)', () => {
    for (let lo = 1; lo < 65535; lo += 997) {
      for (let hi = lo; hi <= 65535; hi += 4099) expect(portRangeToPrefixes(lo, hi).length).toBeLessThanOrEqual(30);
    }
  });
  it('an endPort rule emits one entry per prefix', () => {
    const s = clusterState({ nps: [np('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ port: 1024, endPort: 65535 }] }] })] });
    const ep = compileNode(s, { name: 'n1' }).endpoints.find((e) => e.namespace === 'x' && e.pod === 'a');
    expect(ep?.entries.map((e) => [e.identity, e.protocol, e.port, e.portPrefixLength]).sort((a, b) => (a[2] ?? 0) - (b[2] ?? 0))).toEqual([
      [ANY_IDENTITY, 6, 1024, 6],
      [ANY_IDENTITY, 6, 2048, 5],
      [ANY_IDENTITY, 6, 4096, 4],
      [ANY_IDENTITY, 6, 8192, 3],
      [ANY_IDENTITY, 6, 16384, 2],
      [ANY_IDENTITY, 6, 32768, 1],
    ]);
    expect(ep?.isolatedIngress).toBe(true);
    expect(ep?.isolatedEgress).toBe(false);
  });
});

describe('folding broader entries into narrower ones', () => {
  const e = (o: Partial<PolicyEntry>): PolicyEntry => ({
    tier: 'admin', direction: 'ingress', identity: 300, protocol: 6, port: 80, portPrefixLength: 16, verdict: 'allow', precedence: 1, ruleId: 2, ...o,
  });
  it('a narrow entry takes the stronger verdict of a covering broad entry', () => {
    const out = foldEntries([e({}), e({ protocol: 0, port: 0, portPrefixLength: 0, verdict: 'deny', precedence: 5, ruleId: 3 })]);
    const narrow = out.find((x) => x.protocol === 6);
    expect(narrow).toMatchObject({ verdict: 'deny', precedence: 5, ruleId: 3, port: 80, portPrefixLength: 16 });
  });
  it('a weaker broad entry leaves the narrow one alone', () => {
    const out = foldEntries([e({ precedence: 9 }), e({ protocol: 0, port: 0, portPrefixLength: 0, verdict: 'deny', precedence: 5 })]);
    expect(out.find((x) => x.protocol === 6)).toMatchObject({ verdict: 'allow', precedence: 9 });
  });
  it('does not fold across identities, tiers or directions; a non-covering port is untouched', () => {
    const out = foldEntries([
      e({}),
      e({ identity: 301, protocol: 0, port: 0, portPrefixLength: 0, verdict: 'deny', precedence: 9 }),
      e({ tier: 'baseline', protocol: 0, port: 0, portPrefixLength: 0, verdict: 'deny', precedence: 9 }),
      e({ direction: 'egress', protocol: 0, port: 0, portPrefixLength: 0, verdict: 'deny', precedence: 9 }),
      e({ port: 1024, portPrefixLength: 6, verdict: 'deny', precedence: 9 }),
    ]);
    expect(out.find((x) => x.tier === 'admin' && x.direction === 'ingress' && x.identity === 300 && x.port === 80)).toMatchObject({ verdict: 'allow' });
  });
  it('duplicate keys collapse to the strongest; equal precedence deny beats pass beats allow', () => {
    const out = foldEntries([e({ verdict: 'allow' }), e({ verdict: 'pass' }), e({ verdict: 'deny' })]);
    expect(out).toHaveLength(1);
    expect(out[0]?.verdict).toBe('deny');
  });
  it('compiled endpoints never hold two entries with the same LPM key', () => {
    const s = clusterState({
      nps: [
        np('x', 'p1', { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }, { from: [{ namespaceSelector: {} }], ports: [{ port: 80 }, { port: 'serve-80-tcp' }] }] }),
        np('x', 'p2', { podSelector: {}, ingress: [{ ports: [{ port: 80 }, { port: 70, endPort: 90 }] }] }),
      ],
      anps: [anp('a', 1, { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }], ports: [{ portNumber: { protocol: 'TCP', port: 80 } }] }] })],
    });
    for (const ep of compileNode(s, { name: 'n1' }).endpoints) {
      const keys = ep.entries.map((x) => `${x.tier}|${x.direction}|${x.identity}|${x.protocol}|${x.port}/${x.portPrefixLength}`);
      expect(new Set(keys).size).toBe(keys.length);
      for (const x of ep.entries) if (x.protocol === 0) expect(x.portPrefixLength).toBe(0);
    }
  });
});

describe('identities and the ipcache', () => {
  it('pods with equal label sets share an identity ≥ FIRST_ALLOCATED_IDENTITY; different ones do not', () => {
    const s = clusterState({ podOpts: (ns, p) => ({ labels: { app: p === 'c' ? 'other' : 'web' } }) });
    const c = new PolicyCompiler().load(s);
    const [a] = c.identityOfPod('x', 'a');
    const [b] = c.identityOfPod('x', 'b');
    const [cc] = c.identityOfPod('x', 'c');
    const [ya] = c.identityOfPod('y', 'a');
    expect(a).toBeDefined();
    expect(a).toBeGreaterThanOrEqual(FIRST_ALLOCATED_IDENTITY);
    expect(a).toBe(b);
    expect(cc).not.toBe(a);
    expect(ya).not.toBe(a); // namespace is part of the label set
  });
  it('namespace labels cannot collide with pod labels', () => {
    const s = clusterState({ podOpts: (ns): RawOpts => ({ labels: ns === 'x' ? { ns: 'y' } : { pod: 'q' } }) });
    // x pods carry a pod label ns=y; a namespaceSelector ns=y must not pick them.
    s.networkPolicies.push(must(parseNetworkPolicy(np('z', 'p', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] }))));
    const st = compileCluster(new PolicyCompiler().load(s));
    expect(probe(st, 'x/a', 'z/a', 80).verdict).toBe('deny');
    expect(probe(st, 'y/a', 'z/a', 80).verdict).toBe('allow');
  });
  it('identities are stable across a reload and across unrelated changes', () => {
    const c = new PolicyCompiler().load(clusterState());
    const before = c.identityOfPod('y', 'b');
    c.load(clusterState({ nps: [np('x', 'p', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.0/24' } }] }] })] }));
    expect(c.identityOfPod('y', 'b')).toEqual(before);
    c.removePod('x', 'a');
    c.upsertPod(must(parsePod(rawPod('x', 'new', '10.9.9.9'))));
    expect(c.identityOfPod('y', 'b')).toEqual(before);
  });
  it('frees an identity when its last pod goes and reuses the id only later', () => {
    const c = new PolicyCompiler().load(clusterState({ podOpts: (ns, p) => ({ labels: { pod: p, uniq: `${ns}${p}` } }) }));
    const [id] = c.identityOfPod('z', 'c');
    expect(id).toBeDefined();
    c.removePod('z', 'c');
    expect(c.ipcache().some((e) => e.identity === id)).toBe(false);
    expect(c.describeIdentity(id ?? -1)).toBeUndefined();
  });
  it('ipcache: every pod IP on every network, ipBlock CIDRs and excepts, canonical forms', () => {
    const s = clusterState({
      podOpts: () => ({ secondary: true }),
      nps: [np('x', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: 'fd00:0:0::1/64', except: ['fd00::8000:0:0:0/65'] } }, { ipBlock: { cidr: '203.0.113.9/24', except: ['203.0.113.128/25'] } }] }] })],
    });
    const c = new PolicyCompiler().load(s);
    const cidrs = new Map(c.ipcache().map((e) => [e.cidr, e.identity]));
    expect(cidrs.get('10.1.0.1/32')).toBe(c.identityOfPod('x', 'a')[0]);
    expect(cidrs.get('192.168.1.1/32')).toBe(c.identityOfPod('x', 'a')[1]);
    for (const k of ['fd00::/64', 'fd00::8000:0:0:0/65', '203.0.113.0/24', '203.0.113.128/25']) expect(cidrs.has(k)).toBe(true);
    expect(cidrs.size).toBe(18 + 4);
    const ids = [...cidrs.values()];
    expect(new Set(['fd00::/64', 'fd00::8000:0:0:0/65', '203.0.113.0/24', '203.0.113.128/25'].map((k) => cidrs.get(k))).size).toBe(4);
    for (const id of ids) expect(id).toBeGreaterThanOrEqual(FIRST_ALLOCATED_IDENTITY);
  });
  it('a pod IP inside an ipBlock gets its own identity, distinct from label-mates outside it', () => {
    const s = clusterState({
      podOpts: (ns) => ({ labels: { app: 'same' } , node: ns === 'z' ? 'n2' : 'n1' }),
      nps: [np('x', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.2.0.0/16' } }] }] })],
    });
    const c = new PolicyCompiler().load(s);
    expect(c.identityOfPod('y', 'a')[0]).toBe(c.identityOfPod('y', 'b')[0]);
    const st = compileCluster(c);
    expect(probe(st, 'x/a', 'y/a', 80).verdict).toBe('allow');
  });
  it('a pod /32 equal to an ipBlock wins the ipcache slot', () => {
    const s = clusterState({ nps: [np('x', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: `${podIp('y', 'a')}/32` } }] }] })] });
    const c = new PolicyCompiler().load(s);
    const e = c.ipcache().filter((x) => x.cidr === `${podIp('y', 'a')}/32`);
    expect(e.map(({ cidr, identity }) => ({ cidr, identity }))).toEqual([{ cidr: `${podIp('y', 'a')}/32`, identity: c.identityOfPod('y', 'a')[0] }]);
    // A pod address carries its namespace's class (a CIDR claim has none).
    expect(isNamespaceClass(e[0]?.namespaceClass ?? 0)).toBe(true);
  });
  it('hostNetwork and finished pods get no endpoint and no ipcache entry', () => {
    const host = rawPod('x', 'h', '192.0.2.10') as { spec: Record<string, unknown> };
    host.spec['hostNetwork'] = true;
    const done = rawPod('x', 'd', '192.0.2.11') as { status: Record<string, unknown> };
    done.status['phase'] = 'Succeeded';
    const st = compileNode(clusterState({ extraPods: [host, done] }), { name: 'n1' });
    expect(st.endpoints.some((e) => e.pod === 'h' || e.pod === 'd')).toBe(false);
    expect(st.ipcache.some((e) => e.cidr.startsWith('192.0.2.'))).toBe(false);
  });
});

describe('endpoints and rule origins', () => {
  it('compileNode emits only the node’s endpoints, one per interface, ipcache for all pods', () => {
    const s = clusterState({ podOpts: (ns) => ({ node: ns === 'x' ? 'n1' : 'n2', secondary: true }) });
    const st = compileNode(s, { name: 'n1' });
    expect(st.endpoints.map((e) => `${e.pod}:${e.interface}`).sort()).toEqual(['a:eth0', 'a:net1', 'b:eth0', 'b:net1', 'c:eth0', 'c:net1']);
    expect(st.ipcache).toHaveLength(18);
  });
  it('explainFlow names the deciding rule', () => {
    const s = clusterState({
      nps: [np('x', 'allow-b', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })],
      anps: [anp('deny-z', 3, { subject: { namespaces: {} }, ingress: [{ action: 'Allow', from: [{ namespaces: { matchLabels: { ns: 'y' } } }] }, { action: 'Deny', from: [{ namespaces: { matchLabels: { ns: 'z' } } }] }] })],
    });
    const st = compileCluster(new PolicyCompiler().load(s));
    expect(probe(st, 'x/b', 'x/a', 80).rule).toEqual({ kind: 'NetworkPolicy', policy: 'x/allow-b', direction: 'ingress', index: 0 });
    expect(probe(st, 'z/b', 'x/a', 80).rule).toEqual({ kind: 'AdminNetworkPolicy', policy: 'deny-z', direction: 'ingress', index: 1 });
    const dd = probe(st, 'x/c', 'x/a', 80);
    expect(dd.verdict).toBe('deny');
    expect(dd.rule).toEqual(st.rules[DEFAULT_DENY_INGRESS_RULE]);
    expect(dd.steps.join('\n')).toContain('isolated');
    expect(probe(st, 'x/a', 'z/a', 80).rule).toBeUndefined();
  });
  it('rule ids are stable across recompiles', () => {
    const c = new PolicyCompiler().load(clusterState({ nps: [np('x', 'p', { podSelector: {}, ingress: [{}] })] }));
    const r1 = c.compileNode({ name: 'n1' }).rules;
    c.upsertPolicy(must(parseNetworkPolicy(np('x', 'q', { podSelector: {}, ingress: [{}, {}] }))));
    const r2 = c.compileNode({ name: 'n1' }).rules;
    expect(r2.slice(0, r1.length)).toEqual(r1);
  });
});

describe('incremental updates equal a full compile', () => {
  const norm = (c: PolicyCompiler): unknown => {
    const st = c.compileNode({ name: 'n1' });
    return {
      ipcache: [...st.ipcache].sort((a, b) => a.cidr.localeCompare(b.cidr)),
      // Revisions count the compiler's own changes: compared by content instead.
      endpoints: st.endpoints.map(({ revision: _, ...e }) => ({ ...e, entries: e.entries.map((x) => ({ ...x, ruleId: st.rules[x.ruleId] })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) })),
    };
  };
  const pol = np('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'new' } } }], ports: [{ port: 'serve-80-tcp' }] }] });
  const egressNamed = np('y', 'e', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'web' }] }] });
  const newPod = rawPod('z', 'n', '10.3.0.99', { labels: { role: 'new' }, ports: [{ name: 'web', containerPort: 7000 }] });

  it('an endpoint\'s revision stays while its entries stay, and moves when they change in place', () => {
    const c = new PolicyCompiler().load(clusterState({ nps: [pol] }));
    const key = { namespace: 'x', pod: 'a', interface: 'eth0' };
    const first = c.compileEndpoint(key);
    expect(first?.revision).toBeDefined();
    c.upsertPod(must(parsePod(rawPod('y', 'unrelated', '10.2.0.77', { labels: { role: 'other' } }))));
    expect(c.compileEndpoint(key)?.revision).toBe(first?.revision);
    // A pod the policy's peer selects appears: its identity is patched into x/a's entries.
    c.upsertPod(must(parsePod(newPod)));
    const second = c.compileEndpoint(key);
    expect(second?.entries.length).toBeGreaterThan(0);
    expect(second?.revision).not.toBe(first?.revision);
  });
  it('pod added then removed, policy changed, namespace relabelled', () => {
    const base = clusterState({ nps: [pol, egressNamed] });
    const inc = new PolicyCompiler().load(base);
    inc.compileNode({ name: 'n1' });
    const p = must(parsePod(newPod));
    inc.upsertPod(p);
    expect(norm(inc)).toEqual(norm(new PolicyCompiler().load({ ...base, pods: [...base.pods, p] })));
    const st = inc.compileNode({ name: 'n1' });
    expect(explainFlow(st, { from: { ip: '10.3.0.99' }, to: flowEnd('x/a'), port: 80, protocol: 'TCP' }).verdict).toBe('allow');
    expect(explainFlow(st, { from: { ip: '10.3.0.99' }, to: flowEnd('x/a'), port: 81, protocol: 'TCP' }).verdict).toBe('deny');

    const changed = must(parseNetworkPolicy(np('x', 'p', { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: {} }] }] })));
    inc.upsertPolicy(changed);
    const full2 = { ...base, pods: [...base.pods, p], networkPolicies: [changed, must(parseNetworkPolicy(egressNamed))] };
    expect(norm(inc)).toEqual(norm(new PolicyCompiler().load(full2)));

    inc.removePod('z', 'n');
    expect(norm(inc)).toEqual(norm(new PolicyCompiler().load({ ...full2, pods: base.pods })));

    inc.upsertNamespace({ name: 'z', labels: { ns: 'z', team: 't', 'kubernetes.io/metadata.name': 'z' } });
    inc.upsertPolicy(must(parseAdminNetworkPolicy(anp('t', 1, { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: { matchLabels: { team: 't' } } }] }] }))));
    const st3 = inc.compileNode({ name: 'n1' });
    expect(probe(st3, 'z/a', 'x/c', 80).verdict).toBe('deny');
    inc.removePolicy({ kind: 'AdminNetworkPolicy', name: 't' });
    expect(probe(inc.compileNode({ name: 'n1' }), 'z/a', 'x/c', 80).verdict).toBe('allow');
  });

  it('a policy with a new ipBlock CIDR re-identifies pod IPs inside it', () => {
    const inc = new PolicyCompiler().load(clusterState());
    inc.compileNode({ name: 'n1' });
    inc.upsertPolicy(must(parseNetworkPolicy(np('x', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.2.0.0/16' } }] }] }))));
    const st = inc.compileNode({ name: 'n1' });
    expect(probe(st, 'x/a', 'y/b', 80).verdict).toBe('allow');
    expect(probe(st, 'x/a', 'z/b', 80).verdict).toBe('deny');
  });
});

describe('parsers report every bad field with its path', () => {
  it('NetworkPolicy', () => {
    const r = parseNetworkPolicy({
      metadata: { name: 'p' },
      spec: {
        podSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] },
        policyTypes: ['Sideways'],
        ingress: [{ from: [{}, { ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/24'] } }], ports: [{ port: 80, endPort: 70 }, { protocol: 'ICMP' }] }],
      },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.path)).toEqual([
      'metadata.namespace',
      'spec.podSelector.matchExpressions[0].operator',
      'spec.ingress[0].from[0]',
      'spec.ingress[0].from[1].ipBlock.except[0]',
      'spec.ingress[0].ports[0].endPort',
      'spec.ingress[0].ports[1].protocol',
      'spec.policyTypes[0]',
    ]);
  });
  it('MultiNetworkPolicy requires policy-for and parses [ns/]name lists', () => {
    const bad = parseMultiNetworkPolicy({ metadata: { namespace: 'x', name: 'm' }, spec: { podSelector: {} } });
    expect(bad.ok).toBe(false);
    const good = must(parseMultiNetworkPolicy({ metadata: { namespace: 'x', name: 'm', annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'a, y/b' } }, spec: { podSelector: {} } }));
    expect(good.policyFor).toEqual([{ namespace: 'x', name: 'a' }, { namespace: 'y', name: 'b' }]);
  });
  it('AdminNetworkPolicy: priority range, actions, ports', () => {
    const r = parseAdminNetworkPolicy({ metadata: { name: 'a' }, spec: { priority: 1001, subject: {}, ingress: [{ action: 'Maybe', from: [{ namespaces: {} }], ports: [{ portRange: { start: 9, end: 1 } }] }] } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.path)).toEqual(['spec.priority', 'spec.subject', 'spec.ingress[0].action', 'spec.ingress[0].ports[0].portRange.end']);
  });
  it('Pod: only status.podIPs on eth0; a forged network-status names no interface and is no parse error', () => {
    const forged = JSON.stringify([
      { name: 'x/bogus', interface: 'net9', ips: ['10.2.0.1'], default: true },
      { name: 'x/macnet', interface: 'net1', ips: ['192.168.1.1'] },
    ]);
    const raw = rawPod('x', 'a', '10.1.0.1');
    const p = must(parsePod({ ...(raw as object), metadata: { namespace: 'x', name: 'a', annotations: { 'k8s.v1.cni.cncf.io/network-status': forged } } }));
    expect(p.defaultInterface).toBe('eth0');
    expect(p.interfaces).toEqual([{ name: 'eth0', network: undefined, ips: ['10.1.0.1'] }]);
    expect(parsePod({ metadata: { namespace: 'x', name: 'a', annotations: { 'k8s.v1.cni.cncf.io/network-status': '{' } } }).ok).toBe(true);
  });
  it('rejects non-objects without throwing', () => {
    for (const f of [parseNetworkPolicy, parseMultiNetworkPolicy, parseAdminNetworkPolicy, parsePod]) {
      expect(f(42).ok).toBe(false);
      expect(f(null).ok).toBe(false);
    }
  });
});
