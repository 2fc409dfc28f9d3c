import { describe, expect, it } from 'vitest';
import { parseIntent } from '../../../common/src/intent.js';
import { denialMessage, mutatePod, validatePod, type ClusterView, type Decision, type NamespaceInfo } from './index.js';
import { applyPatch, fakeView, type FakeCluster } from './testing.js';

const ipam = { type: 'spiderpool' };
const macvlan = { type: 'macvlan', master: 'ens192', mode: 'bridge', ipam };
const ipvlan = { type: 'ipvlan', master: 'ens192', ipam };
const conf = (plugins: object[], name = 'net'): object => ({ cniVersion: '0.3.1', name, plugins });
const NAD_CONFIGS: Record<string, object | string> = {
  dpdk: conf([{ type: 'sriov', resourceName: 'intel.com/sriov_dpdk', vlan: 100 }]),
  under: conf([macvlan, { type: 'weir' }, { type: 'coordinator' }]),
  sec: conf([macvlan, { type: 'weir' }]),
  nocoord: conf([macvlan, { type: 'weir' }]),
  plain: conf([macvlan]),
  typo: conf([macvlan, { type: 'weir' }, { type: 'coordinattor' }]),
  empty: '',
  cilium: conf([ipvlan, { type: 'cilium-cni' }, { type: 'coordinator' }], 'spidernet-chainer'),
  'cilium-badname': conf([ipvlan, { type: 'cilium-cni' }, { type: 'coordinator' }], 'ipvlan-conf'),
};
const ENABLED = { 'weir.dev/inject': 'enabled' };
const NAMESPACES: NamespaceInfo[] = [
  { name: 'team', labels: ENABLED, annotations: {} },
  { name: 'plain', labels: {}, annotations: {} },
  {
    name: 'defaults',
    labels: ENABLED,
    annotations: {
      'weir.dev/default-network': 'defaults/under',
      'weir.dev/networks': 'sec',
      'weir.dev/ingress-bandwidth': '10M',
      'weir.dev/default-route-nic': 'eth0',
    },
  },
  { name: 'jsondefaults', labels: ENABLED, annotations: { 'weir.dev/networks': '[{"name":"sec","ips":["10.0.0.5/24"]}]' } },
  { name: 'capped', labels: ENABLED, annotations: { 'weir.dev/max-ingress-bandwidth': '5M', 'weir.dev/max-egress-bandwidth': '1G' } },
  { name: 'badcap', labels: ENABLED, annotations: { 'weir.dev/max-ingress-bandwidth': 'lots' } },
  { name: 'baddefault', labels: ENABLED, annotations: { 'weir.dev/networks': 'a/b/c' } },
  { name: 'netadmin', labels: ENABLED, annotations: { 'weir.dev/allow-net-admin': 'true' } },
];
const nads: NonNullable<FakeCluster['nads']> = ['team', 'defaults', 'jsondefaults', 'capped', 'badcap', 'netadmin', 'kube-system'].flatMap((ns) =>
  Object.entries(NAD_CONFIGS).map(([name, config]) => ({ namespace: ns, name, config })),
);
// Annotated weir.dev/chain: enabled, but stored without weir (the NAD webhook fails open).
nads.push({ namespace: 'team', name: 'uninserted', config: conf([macvlan]), annotations: { 'weir.dev/chain': 'enabled' } });
const cluster = (coordinator: FakeCluster['coordinators']): ClusterView =>
  fakeView({ namespaces: NAMESPACES, nads, coordinators: coordinator });
const SYNCED = cluster([{ name: 'default', phase: 'Synced', reason: '' }]);
const NOT_READY = cluster([{ name: 'default', phase: 'NotReady', reason: 'No kube-controller-manager pod found, unable to get clusterCIDR' }]);
const NO_COORDINATOR = cluster([]);
const OPTS = { coordinatorName: 'default' };

interface PodSpec {
  annotations?: Record<string, string> | null;
  containers?: object[];
  initContainers?: object[];
  hostNetwork?: boolean;
}
function pod(p: PodSpec): Record<string, unknown> {
  const metadata: Record<string, unknown> = { name: 'p', namespace: 'x' };
  if (p.annotations !== null) metadata['annotations'] = p.annotations ?? {};
  const spec: Record<string, unknown> = { containers: p.containers ?? [{ name: 'app', image: 'busybox' }] };
  if (p.initContainers !== undefined) spec['initContainers'] = p.initContainers;
  if (p.hostNetwork !== undefined) spec['hostNetwork'] = p.hostNetwork;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

/** mutate → apply → validate, as the API server chains the two webhooks. */
function admit(p: Record<string, unknown>, ns: string, view: ClusterView, opts = OPTS) {
  const mutated = mutatePod(p, ns, view, opts);
  if (mutated.kind === 'deny') return { mutated, final: mutated, object: p };
  const object = applyPatch(p, mutated.patch);
  const final = validatePod(object, ns, view, opts);
  return { mutated, final, object };
}

function annotationsOf(o: Record<string, unknown>): Record<string, string> {
  const meta = o['metadata'] as { annotations?: Record<string, string> };
  return meta.annotations ?? {};
}

function codes(d: Decision): string[] {
  return d.kind === 'deny' ? [...new Set(d.refusals.map((r) => r.code))].sort() : [];
}

interface Case {
  name: string;
  ns?: string;
  pod: PodSpec;
  view?: ClusterView;
  opts?: { coordinatorName: string };
  /** Expected refusal codes of the final decision; [] = allowed. */
  codes: string[];
  /** Fragments the joined denial message must contain. */
  says?: string[];
  warn?: RegExp;
  skipped?: RegExp;
  /** Expected annotations after mutation (subset). */
  after?: Record<string, string>;
  /** Expected intent networks as "nad|iface|enforced". */
  intent?: string[];
  bandwidth?: { ingressBitsPerSecond?: number; egressBitsPerSecond?: number };
  /** Whether mutation drops NET_RAW (patches the containers). */
  rawDropped?: boolean;
}
const RAW_DROPPED = "NET_RAW dropped from every container: raw sockets get past Weir's egress policy (ping still works)";

const DN = 'v1.multus-cni.io/default-network';
const NETS = 'k8s.v1.cni.cncf.io/networks';
const ING = 'kubernetes.io/ingress-bandwidth';
const EGR = 'kubernetes.io/egress-bandwidth';
const DRN = 'ipam.spidernet.io/default-route-nic';
const netAdmin = [{ name: 'app', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }];

const cases: Case[] = [
  { name: 'no annotations: cluster default network, not enforced', pod: {}, codes: [], intent: ['null|eth0|false'] },
  { name: 'unlabelled namespace passes untouched', ns: 'plain', pod: { annotations: { [NETS]: 'a/b/c' } }, codes: [], skipped: /not labelled weir.dev\/inject=enabled/ },
  { name: 'hostNetwork pods are skipped', pod: { hostNetwork: true, annotations: { [NETS]: 'nothere' } }, codes: [], skipped: /hostNetwork/ },
  { name: 'mirror pods are skipped', pod: { annotations: { 'kubernetes.io/config.mirror': 'x', [NETS]: 'nothere' } }, codes: [], skipped: /mirror/ },
  { name: 'unknown namespace is refused (fail closed)', ns: 'ghost', pod: {}, codes: ['NAMESPACE_UNKNOWN'], says: ['namespace "ghost" is not in the webhook\'s cache'] },
  { name: 'no annotations map at all', pod: { annotations: null }, codes: [], intent: ['null|eth0|false'] },
  { name: 'default network with namespace', pod: { annotations: { [DN]: 'team/under' } }, codes: [], intent: ['team/under|eth0|true'] },
  { name: 'default network without namespace means kube-system', pod: { annotations: { [DN]: 'under' } }, codes: [], intent: ['kube-system/under|eth0|true'] },
  {
    name: 'default network missing: kube-system hint',
    pod: { annotations: { [DN]: 'missing' } },
    codes: ['POD_NAD_NOT_FOUND'],
    says: ['NetworkAttachmentDefinition kube-system/missing does not exist (v1.multus-cni.io/default-network without a namespace means kube-system, as in Multus)'],
  },
  { name: 'networks text form', pod: { annotations: { [NETS]: 'sec, nocoord' } }, codes: [], intent: ['null|eth0|false', 'team/sec|net1|true', 'team/nocoord|net2|true'] },
  { name: 'networks text form with namespaces and names', pod: { annotations: { [NETS]: 'team/sec@data0,capped/plain' } }, codes: [], intent: ['null|eth0|false', 'team/sec|data0|true', 'capped/plain|net2|false'] },
  {
    name: 'networks JSON form',
    pod: { annotations: { [NETS]: '[{"name":"sec","interface":"data0"},{"name":"plain","namespace":"capped"}]' } },
    codes: [],
    intent: ['null|eth0|false', 'team/sec|data0|true', 'capped/plain|net2|false'],
  },
  { name: 'empty networks annotation means none', pod: { annotations: { [NETS]: '' } }, codes: [], intent: ['null|eth0|false'] },
  { name: 'explicit eth0 collides with the default network', pod: { annotations: { [NETS]: 'sec@eth0' } }, codes: ['POD_INTERFACE_DUPLICATE'], says: ['interface "eth0" would be used by both the cluster default network and networks[0] team/sec'] },
  { name: 'explicit net2 collides with a positional name', pod: { annotations: { [NETS]: 'sec@net2,nocoord' } }, codes: ['POD_INTERFACE_DUPLICATE'] },
  { name: 'JSON interface name too long', pod: { annotations: { [NETS]: '[{"name":"sec","interface":"abcdefghijklmnop"}]' } }, codes: ['POD_INTERFACE_INVALID'] },
  { name: 'JSON interface name with a slash', pod: { annotations: { [NETS]: '[{"name":"sec","interface":"a/b"}]' } }, codes: ['POD_INTERFACE_INVALID'] },
  { name: 'JSON interface name with a space', pod: { annotations: { [NETS]: '[{"name":"sec","interface":"a b"}]' } }, codes: ['POD_INTERFACE_INVALID'] },
  { name: 'text interface name too long (Multus wording)', pod: { annotations: { [NETS]: 'sec@abcdefghijklmnop' } }, codes: ['POD_NETWORKS_INVALID'], says: ["must be less than 15 chars and not contain '/' or spaces. interface name 'abcdefghijklmnop'"] },
  { name: 'two slashes (Multus wording)', pod: { annotations: { [NETS]: 'a/b/c' } }, codes: ['POD_NETWORKS_INVALID'], says: ["parsePodNetworkObjectName: Invalid network object (failed at '/')"] },
  { name: 'uppercase name (Multus wording)', pod: { annotations: { [NETS]: 'Sec' } }, codes: ['POD_NETWORKS_INVALID'], says: ["mismatch @ 'Sec'"] },
  { name: 'JSON object instead of array', pod: { annotations: { [NETS]: '{"name":"sec"}' } }, codes: ['POD_NETWORKS_INVALID'] },
  { name: 'empty item', pod: { annotations: { [NETS]: 'sec,' } }, codes: ['POD_NETWORKS_INVALID'], says: ['entry 1 names no network'] },
  { name: 'second default network (text)', pod: { annotations: { [DN]: 'team/under,team/sec' } }, codes: ['POD_SECOND_DEFAULT_NETWORK'] },
  { name: 'second default network (JSON)', pod: { annotations: { [DN]: '[{"name":"under","namespace":"team"},{"name":"sec","namespace":"team"}]' } }, codes: ['POD_SECOND_DEFAULT_NETWORK'] },
  { name: 'default network JSON form, one entry', pod: { annotations: { [DN]: '[{"name":"under","namespace":"team"}]' } }, codes: [], intent: ['team/under|eth0|true'] },
  { name: 'referenced NAD with the coordinattor typo', pod: { annotations: { [NETS]: 'typo' } }, codes: ['POD_NAD_CHAIN_INVALID'], says: ['NetworkAttachmentDefinition team/typo is invalid (NAD_PLUGIN_NEAR_MISS): spec.config.plugins[2].type: "coordinattor" is not a known CNI plugin; did you mean "coordinator"?'] },
  { name: 'referenced NAD with an empty config: warning', pod: { annotations: { [NETS]: 'empty' } }, codes: [], warn: /NAD team\/empty has an empty spec.config/ },
  { name: 'a DPDK SR-IOV NAD without IPAM and without weir: attached, not enforced', pod: { annotations: { [NETS]: 'dpdk' } }, codes: [], intent: ['null|eth0|false', 'team/dpdk|net1|false'], rawDropped: false },
  {
    name: 'a NAD annotated weir.dev/chain: enabled but stored without weir (issue 12)',
    pod: { annotations: { [NETS]: 'uninserted' } },
    codes: ['POD_NAD_WEIR_MISSING'],
    says: ['k8s.v1.cni.cncf.io/networks"][0]: NetworkAttachmentDefinition team/uninserted is annotated weir.dev/chain: enabled but its chain has no {"type":"weir"}'],
  },
  { name: 'missing NAD', pod: { annotations: { [NETS]: 'nothere' } }, codes: ['POD_NAD_NOT_FOUND'], says: ['NetworkAttachmentDefinition team/nothere does not exist; create it or fix the reference'] },
  { name: 'missing NAD in another namespace', pod: { annotations: { [NETS]: 'other/sec' } }, codes: ['POD_NAD_NOT_FOUND'] },
  { name: 'cilium chain with the chainer name (not enforced by Weir)', pod: { annotations: { [NETS]: 'cilium' } }, codes: [], intent: ['null|eth0|false', 'team/cilium|net1|false'] },
  { name: 'cilium chain with the wrong chainer name', pod: { annotations: { [NETS]: 'cilium-badname' } }, codes: ['POD_NAD_CHAIN_INVALID'], says: ['spidernet-chainer'] },
  { name: 'default-route-nic names net1', pod: { annotations: { [NETS]: 'sec', [DRN]: 'net1' } }, codes: [] },
  { name: 'default-route-nic names eth0', pod: { annotations: { [NETS]: 'sec', [DRN]: 'eth0' } }, codes: [] },
  { name: 'default-route-nic names an explicit interface', pod: { annotations: { [NETS]: 'sec@data0', [DRN]: 'data0' } }, codes: [] },
  { name: 'default-route-nic names no interface', pod: { annotations: { [NETS]: 'sec', [DRN]: 'net5' } }, codes: ['POD_DEFAULT_ROUTE_NIC_UNKNOWN'], says: ['"net5" is not one of the pod\'s interfaces (eth0, net1)'] },
  { name: 'bandwidth on an enforced default network', pod: { annotations: { [DN]: 'team/under', [ING]: '10M', [EGR]: '1Gi' } }, codes: [], bandwidth: { ingressBitsPerSecond: 10_000_000, egressBitsPerSecond: 1024 ** 3 } },
  { name: 'bandwidth 100m is too small (runtime wording)', pod: { annotations: { [DN]: 'team/under', [ING]: '100m' } }, codes: ['BANDWIDTH_OUT_OF_RANGE'], says: ['"100m": resource is unreasonably small (< 1kbit)'] },
  { name: 'bandwidth 2P is too large (runtime wording)', pod: { annotations: { [DN]: 'team/under', [EGR]: '2P' } }, codes: ['BANDWIDTH_OUT_OF_RANGE'], says: ['resource is unreasonably large (> 1Pbit)'] },
  { name: 'bandwidth not a Quantity', pod: { annotations: { [DN]: 'team/under', [EGR]: 'fast' } }, codes: ['BANDWIDTH_INVALID'], says: ["quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"] },
  { name: 'bandwidth empty string (the runtime refuses it too)', pod: { annotations: { [DN]: 'team/under', [EGR]: '' } }, codes: ['BANDWIDTH_INVALID'] },
  { name: 'bandwidth on the cluster default network', pod: { annotations: { [ING]: '10M' } }, codes: ['BANDWIDTH_NOT_SHAPED'], says: ["Multus's cluster network, which Weir cannot see or shape"] },
  { name: 'bandwidth on a default NAD without weir', pod: { annotations: { [DN]: 'team/plain', [ING]: '10M' } }, codes: ['BANDWIDTH_NOT_SHAPED'], says: ['NetworkAttachmentDefinition team/plain has no {"type":"weir"} in its chain', 'weir.dev/chain: enabled'] },
  { name: 'bandwidth above the namespace cap', ns: 'capped', pod: { annotations: { [DN]: 'capped/under', [ING]: '10M' } }, codes: ['BANDWIDTH_ABOVE_CAP'], says: ['"10M" exceeds the cap 5M set by weir.dev/max-ingress-bandwidth on namespace "capped"'] },
  { name: 'bandwidth at the namespace cap', ns: 'capped', pod: { annotations: { [DN]: 'capped/under', [ING]: '5M', [EGR]: '1G' } }, codes: [] },
  { name: 'invalid namespace cap', ns: 'badcap', pod: { annotations: { [DN]: 'badcap/under', [ING]: '5M' } }, codes: ['NAMESPACE_CAP_INVALID'] },
  { name: 'coordinator NotReady', view: NOT_READY, pod: { annotations: { [DN]: 'team/under' } }, codes: ['COORDINATOR_NOT_SYNCED'], says: ['SpiderCoordinator "default" is NotReady (reason: No kube-controller-manager pod found, unable to get clusterCIDR)'] },
  { name: 'coordinator missing', view: NO_COORDINATOR, pod: { annotations: { [NETS]: 'cilium' } }, codes: ['COORDINATOR_MISSING'], says: ['SpiderCoordinator "default" does not exist'] },
  { name: 'coordinator NotReady but no chain uses it', view: NOT_READY, pod: { annotations: { [DN]: 'team/nocoord', [NETS]: 'sec' } }, codes: [] },
  { name: 'coordinator name is configurable', view: NOT_READY, opts: { coordinatorName: 'other' }, pod: { annotations: { [DN]: 'team/under' } }, codes: ['COORDINATOR_MISSING'], says: ['SpiderCoordinator "other"'] },
  { name: 'coordinator with no status', view: cluster([{ name: 'default', phase: undefined, reason: undefined }]), pod: { annotations: { [DN]: 'team/under' } }, codes: ['COORDINATOR_NOT_SYNCED'], says: ['is without a status.phase'] },
  { name: 'NET_ADMIN on an enforced interface', pod: { annotations: { [NETS]: 'sec' }, containers: netAdmin }, codes: ['POD_NET_ADMIN_ON_ENFORCED'], says: ['container "app" adds NET_ADMIN while Weir enforces interface(s) net1', 'weir.dev/allow-net-admin: "true"'] },
  { name: 'privileged init container on an enforced interface', pod: { annotations: { [DN]: 'team/under' }, initContainers: [{ name: 'init', securityContext: { privileged: true } }] }, codes: ['POD_NET_ADMIN_ON_ENFORCED'], says: ['spec.initContainers[0].securityContext.privileged'] },
  { name: 'CAP_NET_ADMIN in lower case', pod: { annotations: { [NETS]: 'sec' }, containers: [{ name: 'a', securityContext: { capabilities: { add: ['cap_net_admin'] } } }] }, codes: ['POD_NET_ADMIN_ON_ENFORCED'] },
  { name: 'capabilities ALL', pod: { annotations: { [NETS]: 'sec' }, containers: [{ name: 'a', securityContext: { capabilities: { add: ['ALL'] } } }] }, codes: ['POD_NET_ADMIN_ON_ENFORCED'] },
  { name: 'NET_ADMIN with nothing enforced', pod: { annotations: { [NETS]: 'plain' }, containers: netAdmin }, codes: [] },
  { name: 'NET_ADMIN allowed by the namespace opt-out', ns: 'netadmin', pod: { annotations: { [NETS]: 'sec' }, containers: netAdmin }, codes: [], warn: /weir.dev\/allow-net-admin/ },
  {
    name: 'namespace defaults are injected',
    ns: 'defaults',
    pod: {},
    codes: [],
    after: { [DN]: 'defaults/under', [NETS]: 'sec', [ING]: '10M', [DRN]: 'eth0' },
    intent: ['defaults/under|eth0|true', 'defaults/sec|net1|true'],
    bandwidth: { ingressBitsPerSecond: 10_000_000 },
  },
  { name: 'namespace defaults never overwrite pod values', ns: 'defaults', pod: { annotations: { [DN]: 'defaults/nocoord', [ING]: '1M' } }, codes: [], after: { [DN]: 'defaults/nocoord', [ING]: '1M', [NETS]: 'sec' } },
  { name: 'networks merge in text form', ns: 'defaults', pod: { annotations: { [NETS]: 'nocoord@data0' } }, codes: [], after: { [NETS]: 'nocoord@data0,sec' } },
  {
    name: 'networks merge in JSON form',
    ns: 'defaults',
    pod: { annotations: { [NETS]: '[{"name":"nocoord","interface":"data0"}]' } },
    codes: [],
    after: { [NETS]: '[{"name":"nocoord","interface":"data0"},{"name":"sec"}]' },
  },
  { name: 'networks merge skips a NAD the pod already lists', ns: 'defaults', pod: { annotations: { [NETS]: 'defaults/sec@data0' } }, codes: [], after: { [NETS]: 'defaults/sec@data0' } },
  {
    name: 'networks merge into text needs JSON: rewritten with a warning',
    ns: 'jsondefaults',
    pod: { annotations: { [NETS]: 'nocoord' } },
    codes: [],
    warn: /rewritten as JSON/,
    after: { [NETS]: '[{"name":"nocoord"},{"name":"sec","ips":["10.0.0.5/24"]}]' },
  },
  { name: 'an invalid namespace default is blamed on the namespace', ns: 'baddefault', pod: {}, codes: ['NAMESPACE_DEFAULT_INVALID'], says: ['namespace "baddefault" annotation weir.dev/networks'] },
  { name: 'an invalid namespace default unused when the pod merge cannot apply', ns: 'baddefault', pod: { annotations: { [NETS]: 'sec' } }, codes: ['NAMESPACE_DEFAULT_INVALID'] },
  { name: 'a client-supplied intent is replaced', pod: { annotations: { 'weir.dev/intent': '{"version":1}' } }, codes: [], warn: /replaced/, intent: ['null|eth0|false'] },
  {
    name: 'every problem at once',
    view: NOT_READY,
    pod: { annotations: { [DN]: 'team/under', [NETS]: 'sec@eth0,typo', [DRN]: 'net9', [ING]: '100m' }, containers: netAdmin },
    codes: ['BANDWIDTH_OUT_OF_RANGE', 'COORDINATOR_NOT_SYNCED', 'POD_DEFAULT_ROUTE_NIC_UNKNOWN', 'POD_INTERFACE_DUPLICATE', 'POD_NAD_CHAIN_INVALID', 'POD_NET_ADMIN_ON_ENFORCED'],
  },
];

describe('pods: mutate then validate', () => {
  it.each(cases)('$name', (c) => {
    const view = c.view ?? SYNCED;
    const { mutated, final, object } = admit(pod(c.pod), c.ns ?? 'team', view, c.opts ?? OPTS);
    expect(codes(final), final.kind === 'deny' ? denialMessage(final.refusals) : '').toEqual([...c.codes].sort());
    if (c.says !== undefined && final.kind === 'deny') {
      const msg = denialMessage(final.refusals);
      for (const s of c.says) expect(msg).toContain(s);
    }
    const all = [...mutated.warnings, ...final.warnings];
    // NET_RAW is dropped, with its warning, exactly when mutation touched the containers; that the
    // drop landed is checked by validate itself (it refuses a container that keeps NET_RAW).
    const touchedSpec = mutated.kind === 'allow' && mutated.patch.some((op) => op.path.startsWith('/spec/'));
    expect(all.includes(RAW_DROPPED), 'NET_RAW warning iff the containers were patched').toBe(touchedSpec);
    const warnings = all.filter((w) => w !== RAW_DROPPED);
    if (c.warn !== undefined) expect(warnings.join('\n')).toMatch(c.warn);
    else expect(warnings).toEqual([]);
    if (c.rawDropped !== undefined) expect(touchedSpec).toBe(c.rawDropped);
    for (const w of warnings) expect(w.length).toBeLessThan(120);
    if (c.skipped !== undefined) {
      expect(mutated.kind === 'allow' && mutated.skipped).toMatch(c.skipped);
      expect(mutated.kind === 'allow' && mutated.patch).toEqual([]);
    }
    const ann = annotationsOf(object);
    if (c.after !== undefined) for (const [k, v] of Object.entries(c.after)) expect(ann[k], k).toBe(v);
    if (c.intent !== undefined || c.bandwidth !== undefined) {
      const parsed = parseIntent(ann['weir.dev/intent']);
      expect(parsed.ok).toBe(true);
      if (parsed.ok) {
        if (c.intent !== undefined) expect(parsed.intent.networks.map((n) => `${n.nad}|${n.interface}|${n.enforced}`)).toEqual(c.intent);
        if (c.bandwidth !== undefined) expect(parsed.intent.bandwidth).toEqual(c.bandwidth);
      }
    }
    // Reinvocation: mutating the mutated pod again changes nothing.
    if (mutated.kind === 'allow') {
      const again = mutatePod(object, c.ns ?? 'team', view, c.opts ?? OPTS);
      expect(again.kind === 'allow' && again.patch).toEqual([]);
    }
  });
});

describe('pods: intent hand-over', () => {
  it('validate without mutate refuses: intent missing, NET_RAW not dropped', () => {
    const d = validatePod(pod({ annotations: { [NETS]: 'sec' } }), 'team', SYNCED, OPTS);
    expect(codes(d)).toEqual(['POD_INTENT_MISMATCH', 'POD_NET_RAW_ON_ENFORCED']);
    expect(d.kind === 'deny' && d.refusals.map((r) => r.message).join('\n')).toContain('metadata.annotations["weir.dev/intent"]: is missing; expected {"version":1');
  });
  it('an annotation changed after mutation is caught', () => {
    const { object } = admit(pod({ annotations: { [NETS]: 'sec' } }), 'team', SYNCED);
    const meta = object['metadata'] as { annotations: Record<string, string> };
    meta.annotations[NETS] = 'sec,nocoord';
    const d = validatePod(object, 'team', SYNCED, OPTS);
    expect(codes(d)).toEqual(['POD_INTENT_MISMATCH']);
    expect(d.kind === 'deny' && d.refusals[0]?.message).toContain('which no longer matches the annotations');
  });
  it('a garbage intent is refused by validate', () => {
    const { object } = admit(pod({}), 'team', SYNCED);
    (object['metadata'] as { annotations: Record<string, string> }).annotations['weir.dev/intent'] = 'nope';
    expect(codes(validatePod(object, 'team', SYNCED, OPTS))).toEqual(['POD_INTENT_MISMATCH']);
  });
  it('the intent is written with an add on /metadata/annotations when the pod has none', () => {
    const d = mutatePod(pod({ annotations: null }), 'team', SYNCED, OPTS);
    expect(d.kind === 'allow' && d.patch).toEqual([
      {
        op: 'add',
        path: '/metadata/annotations',
        value: { 'weir.dev/intent': '{"version":1,"networks":[{"nad":null,"interface":"eth0","default":true,"enforced":false}],"bandwidth":{}}' },
      },
    ]);
  });
  it('annotation keys are escaped in patch paths', () => {
    const d = mutatePod(pod({ annotations: { x: 'y' } }), 'defaults', SYNCED, OPTS);
    expect(d.kind === 'allow' && d.patch.map((o) => o.path)).toContain('/metadata/annotations/k8s.v1.cni.cncf.io~1networks');
  });
  it('malformed pods never throw; validate says what is wrong', () => {
    for (const bad of [null, 5, 'pod', [], { metadata: 5 }, { metadata: { annotations: { a: 1 } } }, { spec: { containers: 'x' } }]) {
      expect(() => mutatePod(bad, 'team', SYNCED, OPTS)).not.toThrow();
      const d = validatePod(bad, 'team', SYNCED, OPTS);
      expect(d.kind).toBe('deny');
      expect(codes(d)).toContain('POD_MALFORMED');
    }
  });
});
