/**
 * The incremental compiler's contract: after ANY sequence of cluster changes applied one by one,
 * every node's desired state equals what a fresh compiler computes from the final cluster alone.
 * The compiler caches per policy, per selector and per endpoint group and marks caches dirty by
 * hand; a missed invalidation shows up here as a difference. Identity numbers and rule ids are
 * allocation order, so both sides are compared by what they stand for (the identity's description,
 * the rule's origin), never by number.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DesiredNodeState } from '../datapath/desired.js';
import { PolicyCompiler } from './compile.js';
import { parseAdminNetworkPolicy, parseNamespace, parseNetworkPolicy, type ClusterState } from './model.js';
import { parseEndpointSlice, parseService } from './service-model.js';
import { anp, assemblePods, must, np, rawPod, rawService, rawSlice } from './testkit.js';

const NS = ['x', 'y', 'z'] as const;
const POD_NAMES = ['a', 'b', 'c', 'd'] as const;
const NODES = ['n1', 'n2'] as const;

// ---------------------------------------------------------------- generated objects

const labelValue = (...values: string[]): fc.Arbitrary<string | undefined> => fc.option(fc.constantFrom(...values), { nil: undefined });
const labels: fc.Arbitrary<Record<string, string>> = fc.record({ app: labelValue('web', 'db'), tier: labelValue('front', 'back') })
  .map((l) => Object.fromEntries(Object.entries(l).filter((e): e is [string, string] => e[1] !== undefined)));
const podSelector = fc.oneof(
  fc.constant({}),
  fc.constantFrom('web', 'db').map((app) => ({ matchLabels: { app } })),
  fc.constant({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }),
  fc.constant({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] }),
);
const nsSelector = fc.oneof(
  fc.constant({}),
  fc.constantFrom('prod', 'dev').map((env) => ({ matchLabels: { env } })),
);
const port = fc.oneof(
  fc.constant({ protocol: 'TCP', port: 80 }),
  fc.constant({ protocol: 'UDP', port: 81 }),
  fc.constant({ protocol: 'TCP', port: 'serve-80-tcp' }),
  fc.constant({ protocol: 'TCP', port: 8000, endPort: 8100 }),
);
const npPeer = fc.oneof(
  podSelector.map((s) => ({ podSelector: s })),
  nsSelector.map((s) => ({ namespaceSelector: s })),
  fc.tuple(nsSelector, podSelector).map(([n, p]) => ({ namespaceSelector: n, podSelector: p })),
  fc.constant({ ipBlock: { cidr: '10.0.0.0/8', except: ['10.2.0.0/16'] } }),
  fc.constant({ ipBlock: { cidr: '10.1.0.0/24' } }),
  // Blocks that hold no pod address: patched in as new identities, without a rebuild.
  fc.constant({ ipBlock: { cidr: '172.16.0.0/12' } }),
  fc.constant({ ipBlock: { cidr: '172.16.0.0/12', except: ['172.16.1.0/24'] } }),
  fc.constant({ ipBlock: { cidr: '172.16.1.0/24' } }),
);
const npRule = (peerKey: 'from' | 'to') => fc.record({ peers: fc.option(fc.array(npPeer, { maxLength: 2 }), { nil: undefined }), ports: fc.option(fc.array(port, { maxLength: 2 }), { nil: undefined }) })
  .map((r) => ({ ...(r.peers ? { [peerKey]: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) }));
const networkPolicy = fc.record({
  ns: fc.constantFrom(...NS),
  name: fc.constantFrom('p1', 'p2'),
  podSelector,
  types: fc.constantFrom(['Ingress'], ['Egress'], ['Ingress', 'Egress']),
  ingress: fc.array(npRule('from'), { maxLength: 2 }),
  egress: fc.array(npRule('to'), { maxLength: 2 }),
}).map((p) => np(p.ns, p.name, { podSelector: p.podSelector, policyTypes: p.types, ingress: p.ingress, egress: p.egress }));
const adminPeer = fc.oneof(
  nsSelector.map((s) => ({ namespaces: s })),
  fc.tuple(nsSelector, podSelector).map(([n, p]) => ({ pods: { namespaceSelector: n, podSelector: p } })),
);
const adminPolicy = fc.record({
  name: fc.constantFrom('g1', 'g2'),
  priority: fc.integer({ min: 1, max: 3 }),
  subject: nsSelector,
  action: fc.constantFrom('Allow', 'Deny', 'Pass'),
  peers: fc.array(adminPeer, { minLength: 1, maxLength: 2 }),
  egress: fc.boolean(),
}).map((g) => anp(g.name, g.priority, {
  subject: { namespaces: g.subject },
  ...(g.egress ? { egress: [{ name: 'r', action: g.action, to: g.peers }] } : { ingress: [{ name: 'r', action: g.action, from: g.peers }] }),
}));

// Services and EndpointSlices: ClusterIPs judged by their backends (services.ts).
const SERVICES = ['s1', 's2'] as const;
const servicePorts = fc.array(fc.constantFrom<[string, number, string]>(['http', 80, 'TCP'], ['dns', 53, 'UDP'], ['alt', 8080, 'TCP']), { minLength: 1, maxLength: 2 })
  .map((ps) => ps.filter((p, i) => ps.findIndex((q) => q[0] === p[0]) === i));
const service = fc.record({
  ns: fc.constantFrom('x', 'y'), name: fc.constantFrom(...SERVICES), vip: fc.constantFrom('10.96.0.1', '10.96.0.2', '10.1.0.1'), ports: servicePorts,
}).map((v) => rawService(v.ns, v.name, [v.vip], v.ports));
const backendAddress = fc.oneof(
  fc.record({ ns: fc.constantFrom(...NS), name: fc.constantFrom(...POD_NAMES), variant: fc.integer({ min: 0, max: 1 }) })
    .map((b) => `10.${NS.indexOf(b.ns) + 1}.${b.variant}.${POD_NAMES.indexOf(b.name) + 1}`),
  fc.constantFrom('203.0.113.7', '172.16.1.9'),
);
const slice = fc.record({
  ns: fc.constantFrom('x', 'y'), name: fc.constantFrom('e1', 'e2'), service: fc.constantFrom(...SERVICES),
  addresses: fc.array(backendAddress, { maxLength: 3 }),
  ports: fc.array(fc.constantFrom<[string, number, string]>(['http', 80, 'TCP'], ['http', 81, 'TCP'], ['dns', 53, 'UDP'], ['alt', 8050, 'TCP']), { maxLength: 2 })
    .map((ps) => ps.filter((p, i) => ps.findIndex((q) => q[0] === p[0]) === i)),
}).map((v) => rawSlice(v.ns, v.name, v.service, v.addresses, v.ports));

type Op =
  | { op: 'namespace'; ns: string; env: string | undefined }
  | { op: 'pod'; ns: string; name: string; node: string; labels: Record<string, string>; ipVariant: number }
  | { op: 'removePod'; ns: string; name: string }
  | { op: 'policy'; object: unknown }
  | { op: 'removePolicy'; ns: string; name: string }
  | { op: 'anp'; object: unknown }
  | { op: 'removeAnp'; name: string }
  | { op: 'service'; object: unknown }
  | { op: 'removeService'; ns: string; name: string }
  | { op: 'slice'; object: unknown }
  | { op: 'removeSlice'; ns: string; name: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('namespace' as const), ns: fc.constantFrom<string>(...NS), env: labelValue('prod', 'dev') }),
  fc.record({
    op: fc.constant('pod' as const), ns: fc.constantFrom<string>(...NS), name: fc.constantFrom<string>(...POD_NAMES), node: fc.constantFrom<string>(...NODES), labels,
    ipVariant: fc.integer({ min: 0, max: 1 }),
  }),
  fc.record({ op: fc.constant('removePod' as const), ns: fc.constantFrom(...NS), name: fc.constantFrom(...POD_NAMES) }),
  fc.record({ op: fc.constant('policy' as const), object: networkPolicy }),
  fc.record({ op: fc.constant('removePolicy' as const), ns: fc.constantFrom(...NS), name: fc.constantFrom('p1', 'p2') }),
  fc.record({ op: fc.constant('anp' as const), object: adminPolicy }),
  fc.record({ op: fc.constant('removeAnp' as const), name: fc.constantFrom('g1', 'g2') }),
  fc.record({ op: fc.constant('service' as const), object: service }),
  fc.record({ op: fc.constant('removeService' as const), ns: fc.constantFrom('x', 'y'), name: fc.constantFrom(...SERVICES) }),
  fc.record({ op: fc.constant('slice' as const), object: slice }),
  fc.record({ op: fc.constant('removeSlice' as const), ns: fc.constantFrom('x', 'y'), name: fc.constantFrom('e1', 'e2') }),
);

/**
 * Service-heavy sequences: a Service and a slice exist from the start and most changes touch a
 * backend, a ClusterIP or an egress rule, so that ClusterIP entries are present when changes land
 * (in the general mix above that is rare).
 */
const egressPolicy = fc.record({
  ns: fc.constantFrom(...NS), name: fc.constantFrom('p1', 'p2'), podSelector, egress: fc.array(npRule('to'), { minLength: 1, maxLength: 2 }),
}).map((p) => np(p.ns, p.name, { podSelector: p.podSelector, policyTypes: ['Egress'], egress: p.egress }));
/** The first Service of a service-heavy sequence and a slice that matches it (same name, port names). */
const matchedPair = fc.record({
  addresses: fc.array(fc.record({ ns: fc.constantFrom(...NS), name: fc.constantFrom(...POD_NAMES) }).map((b) => podAddress(b.ns, b.name, 0)), { minLength: 1, maxLength: 3 }),
  target: fc.constantFrom(80, 81),
});
const serviceOps: fc.Arbitrary<Op[]> = fc.tuple(
  fc.constant(rawService('x', 's1', ['10.96.0.1'], [['http', 80, 'TCP']])),
  matchedPair.map((m) => rawSlice('x', 'e1', 's1', m.addresses, [['http', m.target, 'TCP']])),
  fc.array(fc.oneof(
    { weight: 5, arbitrary: fc.record({
      op: fc.constant('pod' as const), ns: fc.constantFrom<string>(...NS), name: fc.constantFrom<string>(...POD_NAMES), node: fc.constantFrom<string>(...NODES), labels,
      ipVariant: fc.integer({ min: 0, max: 1 }),
    }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('removePod' as const), ns: fc.constantFrom(...NS), name: fc.constantFrom(...POD_NAMES) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('policy' as const), object: egressPolicy }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('anp' as const), object: adminPolicy }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('service' as const), object: service }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('slice' as const), object: slice }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('removeSlice' as const), ns: fc.constantFrom('x', 'y'), name: fc.constantFrom('e1', 'e2') }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('namespace' as const), ns: fc.constantFrom<string>(...NS), env: labelValue('prod', 'dev') }) },
  ), { minLength: 1, maxLength: 16 }),
).map(([svc, sl, rest]): Op[] => [{ op: 'service', object: svc }, { op: 'slice', object: sl }, ...rest]);

// ---------------------------------------------------------------- the cluster as it ends up

/** Unique per pod and variant, so a re-created pod may move to another address (IP reuse across pods is bindings.ts's job). */
const podAddress = (ns: string, name: string, variant: number): string =>
  `10.${NS.indexOf(ns as 'x') + 1}.${variant}.${POD_NAMES.indexOf(name as 'a') + 1}`;

class Cluster {
  readonly namespaces = new Map<string, Record<string, string>>(NS.map((n) => [n, { ns: n }]));
  readonly pods = new Map<string, unknown>();
  readonly policies = new Map<string, unknown>();
  readonly anps = new Map<string, unknown>();
  readonly services = new Map<string, unknown>();
  readonly slices = new Map<string, unknown>();

  state(): ClusterState {
    return {
      namespaces: [...this.namespaces].map(([name, l]) => must(parseNamespace({ metadata: { name, labels: l } }))),
      pods: assemblePods([...this.pods.values()]),
      networkPolicies: [...this.policies.values()].map((p) => must(parseNetworkPolicy(p))),
      multiNetworkPolicies: [],
      adminNetworkPolicies: [...this.anps.values()].map((p) => must(parseAdminNetworkPolicy(p))),
      baselineAdminNetworkPolicy: undefined,
      services: [...this.services.values()].map((v) => must(parseService(v))),
      endpointSlices: [...this.slices.values()].map((v) => must(parseEndpointSlice(v))),
    };
  }
}

function nameOf(object: unknown): { ns: string; name: string } {
  const meta = (object as { metadata: { namespace?: string; name: string } }).metadata;
  return { ns: meta.namespace ?? '', name: meta.name };
}

/** Applies one change to the model and, as the agent's intake would, to the incremental compiler. */
function apply(c: PolicyCompiler, cluster: Cluster, o: Op): void {
  switch (o.op) {
    case 'namespace': {
      const l: Record<string, string> = { ns: o.ns, ...(o.env ? { env: o.env } : {}) };
      cluster.namespaces.set(o.ns, l);
      c.upsertNamespace({ name: o.ns, labels: l });
      return;
    }
    case 'pod': {
      const raw = rawPod(o.ns, o.name, podAddress(o.ns, o.name, o.ipVariant), { node: o.node, labels: o.labels });
      cluster.pods.set(`${o.ns}/${o.name}`, raw);
      const [pod] = assemblePods([raw]);
      if (pod === undefined) throw new Error('the generated pod did not assemble');
      c.upsertPod(pod);
      return;
    }
    case 'removePod':
      cluster.pods.delete(`${o.ns}/${o.name}`);
      c.removePod(o.ns, o.name);
      return;
    case 'policy': {
      const { ns, name } = nameOf(o.object);
      cluster.policies.set(`${ns}/${name}`, o.object);
      c.upsertPolicy(must(parseNetworkPolicy(o.object)));
      return;
    }
    case 'removePolicy':
      cluster.policies.delete(`${o.ns}/${o.name}`);
      c.removePolicy({ kind: 'NetworkPolicy', namespace: o.ns, name: o.name });
      return;
    case 'anp':
      cluster.anps.set(nameOf(o.object).name, o.object);
      c.upsertPolicy(must(parseAdminNetworkPolicy(o.object)));
      return;
    case 'removeAnp':
      cluster.anps.delete(o.name);
      c.removePolicy({ kind: 'AdminNetworkPolicy', name: o.name });
      return;
    case 'service': {
      const { ns, name } = nameOf(o.object);
      cluster.services.set(`${ns}/${name}`, o.object);
      c.upsertService(must(parseService(o.object)));
      return;
    }
    case 'removeService':
      cluster.services.delete(`${o.ns}/${o.name}`);
      c.removeService(o.ns, o.name);
      return;
    case 'slice': {
      const { ns, name } = nameOf(o.object);
      cluster.slices.set(`${ns}/${name}`, o.object);
      c.upsertEndpointSlice(must(parseEndpointSlice(o.object)));
      return;
    }
    case 'removeSlice':
      cluster.slices.delete(`${o.ns}/${o.name}`);
      c.removeEndpointSlice(o.ns, o.name);
      return;
  }
}

// ---------------------------------------------------------------- comparison by meaning

function normalized(c: PolicyCompiler, node: string): unknown {
  const state: DesiredNodeState = c.compileNode({ name: node });
  const identity = (id: number): string => (id < 256 ? `reserved ${id}` : c.describeIdentity(id) ?? `unknown ${id}`);
  const rule = (id: number): string => JSON.stringify(state.rules[id] ?? `no rule ${id}`);
  return {
    ipcache: state.ipcache.map((e) => `${e.cidr} -> ${identity(e.identity)}`).sort(),
    endpoints: state.endpoints
      .map((e) => ({
        endpoint: `${e.namespace}/${e.pod}/${e.interface}`,
        isolated: [e.isolatedIngress, e.isolatedEgress],
        entries: e.entries.map((x) => `${x.tier} ${x.direction} ${identity(x.identity)} ${x.protocol}:${x.port}/${x.portPrefixLength} ${x.verdict} p${x.precedence} ${rule(x.ruleId)}`).sort(),
      }))
      .sort((a, b) => a.endpoint.localeCompare(b.endpoint)),
  };
}

function incrementalEqualsFresh(ops: Op[]): void {
  const cluster = new Cluster();
  const incremental = new PolicyCompiler().load(cluster.state());
  for (const o of ops) {
    apply(incremental, cluster, o);
    // Reading in between is what the agent does after every event; it fills the caches that
    // later changes must invalidate.
    incremental.compileNode({ name: 'n1' });
  }
  const fresh = new PolicyCompiler().load(cluster.state());
  for (const node of NODES) expect(normalized(incremental, node)).toEqual(normalized(fresh, node));
}

/** Sequences the property found once, kept so they run every time. */
const FOUND: Array<[string, Op[]]> = [
  ['a deleted policy\'s ipBlock CIDRs left the ipcache', [
    { op: 'policy', object: np('x', 'p1', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.2.0.0/16'] } }] }] }) },
    { op: 'removePolicy', ns: 'x', name: 'p1' },
  ]],
  ['a namespace relabel after an AdminNetworkPolicy was replaced', [
    { op: 'anp', object: anp('g1', 1, { subject: { namespaces: {} }, ingress: [{ name: 'r', action: 'Allow', from: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } } }] }] }) },
    { op: 'anp', object: anp('g2', 1, { subject: { namespaces: { matchLabels: { env: 'dev' } } }, ingress: [{ name: 'r', action: 'Allow', from: [{ namespaces: {} }] }] }) },
    { op: 'anp', object: anp('g1', 1, { subject: { namespaces: {} }, ingress: [{ name: 'r', action: 'Allow', from: [{ pods: { namespaceSelector: { matchLabels: { env: 'dev' } }, podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] } } }] }] }) },
    { op: 'pod', ns: 'z', name: 'a', node: 'n1', labels: {}, ipVariant: 0 },
    { op: 'namespace', ns: 'z', env: 'dev' },
  ]],
  ['a new ipBlock CIDR inside a compiled rule\'s block, holding no pod address (patched in, not rebuilt)', [
    { op: 'pod', ns: 'x', name: 'a', node: 'n1', labels: {}, ipVariant: 0 },
    { op: 'policy', object: np('x', 'p1', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '172.16.0.0/12' } }] }] }) },
    { op: 'policy', object: np('y', 'p1', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '172.16.1.0/24' } }] }] }) },
  ]],
  ['a backend pod relabelled away from the egress rule\'s selector (the ClusterIP is revoked)', [
    { op: 'pod', ns: 'x', name: 'a', node: 'n1', labels: {}, ipVariant: 0 },
    { op: 'pod', ns: 'y', name: 'a', node: 'n2', labels: { app: 'web' }, ipVariant: 0 },
    { op: 'policy', object: np('x', 'p1', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } }] }] }) },
    { op: 'service', object: rawService('x', 's1', ['10.96.0.1'], [['http', 80, 'TCP']]) },
    { op: 'slice', object: rawSlice('x', 'e1', 's1', ['10.2.0.1'], [['http', 80, 'TCP']]) },
    { op: 'pod', ns: 'y', name: 'a', node: 'n2', labels: { app: 'db' }, ipVariant: 0 },
  ]],
  ['a backend pod that appears after its slice (the ClusterIP is granted)', [
    { op: 'pod', ns: 'x', name: 'a', node: 'n1', labels: {}, ipVariant: 0 },
    { op: 'policy', object: np('x', 'p1', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: {} }] }] }) },
    { op: 'service', object: rawService('x', 's1', ['10.96.0.1'], [['http', 80, 'TCP']]) },
    { op: 'slice', object: rawSlice('x', 'e1', 's1', ['10.2.0.1'], [['http', 80, 'TCP']]) },
    { op: 'pod', ns: 'y', name: 'a', node: 'n2', labels: {}, ipVariant: 0 },
  ]],
];

describe('PolicyCompiler: incremental equals fresh', () => {
  it.each(FOUND)('found once: %s', (_what, ops) => incrementalEqualsFresh(ops));

  it('any sequence of namespace, pod, NetworkPolicy, AdminNetworkPolicy, Service and EndpointSlice changes ends where a fresh compile of the final cluster is (500 sequences)', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 18 }), incrementalEqualsFresh), { numRuns: 500 });
  });

  it('service-heavy sequences (backends, ClusterIPs and egress rules changing) end where a fresh compile is (500 sequences)', () => {
    fc.assert(fc.property(serviceOps, incrementalEqualsFresh), { numRuns: 500 });
  });
});
