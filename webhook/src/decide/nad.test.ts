import { describe, expect, it } from 'vitest';
import { denialMessage, mutateNad, validateNad } from './index.js';
import { applyPatch, fakeView } from './testing.js';

// 'team' is opted in (weir.dev/inject=enabled): every NAD there is in Weir's scope. 'other' is not.
const view = fakeView({
  namespaces: [
    { name: 'team', labels: { 'weir.dev/inject': 'enabled' }, annotations: {} },
    { name: 'other', labels: {}, annotations: {} },
  ],
});
const weir = { type: 'weir' };
const ipam = { type: 'spiderpool', default_ipv4_ippool: ['v4'] };
const macvlan = { type: 'macvlan', master: 'ens192', mode: 'bridge', ipam };
const ipvlan = { type: 'ipvlan', master: 'ens192', ipam };
const coordinator = { txQueueLen: 0, tunePodRoutes: true, mode: 'auto', type: 'coordinator' };
const list = (plugins: object[], name = 'net', cniVersion: string | null = '0.3.1'): object =>
  cniVersion === null ? { name, plugins } : { cniVersion, name, plugins };

function nad(config: object | string, annotations: Record<string, string> = {}, name = 'under', namespace = 'team'): object {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name, namespace, annotations },
    spec: { config: typeof config === 'string' ? config : JSON.stringify(config) },
  };
}

interface Case {
  name: string;
  config: object | string;
  codes?: string[];
  warn?: RegExp;
  message?: string;
}

const cases: Case[] = [
  // From Spiderpool's docs (ipvlan_bandwidth.md / cilium-chaining.md).
  { name: 'ipvlan → cilium-cni → coordinator, name spidernet-chainer', config: list([ipvlan, { type: 'cilium-cni' }, coordinator], 'spidernet-chainer') },
  { name: 'ipvlan → cilium-cni → coordinator, legacy terway-chainer', config: list([ipvlan, { type: 'cilium-cni' }, coordinator], 'terway-chainer'), warn: /legacy/ },
  {
    name: 'ipvlan → cilium-cni → coordinator, wrong chainer name',
    config: list([ipvlan, { type: 'cilium-cni' }, coordinator], 'ipvlan-conf'),
    codes: ['NAD_CILIUM_CHAINER_NAME'],
    message: 'spec.config.name: is "ipvlan-conf" but cilium-cni only chains a conflist named "spidernet-chainer" (legacy "terway-chainer"); set "name": "spidernet-chainer"',
  },
  {
    name: 'the coordinattor typo',
    config: list([macvlan, { type: 'weir' }, { type: 'coordinattor' }]),
    codes: ['NAD_PLUGIN_NEAR_MISS'],
    message: 'spec.config.plugins[2].type: "coordinattor" is not a known CNI plugin; did you mean "coordinator"?',
  },
  { name: 'macvlan → weir → coordinator', config: list([macvlan, { type: 'weir' }, coordinator]) },
  { name: 'single macvlan plugin', config: { cniVersion: '1.0.0', ...macvlan } },
  { name: 'empty config', config: '', warn: /spec\.config is empty/ },
  { name: 'whitespace config', config: '  ', warn: /spec\.config is empty/ },
  { name: 'not JSON', config: '{"plugins": [', codes: ['NAD_CONFIG_INVALID'] },
  { name: 'JSON array', config: '[]', codes: ['NAD_CONFIG_INVALID'] },
  { name: 'empty plugins', config: { cniVersion: '0.3.1', name: 'x', plugins: [] }, codes: ['NAD_CONFIG_INVALID'] },
  { name: 'plugin without type', config: list([macvlan, { mode: 'x' }]), codes: ['NAD_CONFIG_INVALID'], message: 'spec.config.plugins[1].type: is missing; every plugin needs a "type"; spec.config must be one plugin object or a conflist with a non-empty "plugins" array' },
  { name: 'neither type nor plugins', config: { cniVersion: '0.3.1', name: 'x' }, codes: ['NAD_CONFIG_INVALID'] },
  { name: 'unsupported cniVersion', config: list([macvlan], 'n', '0.5.0'), codes: ['NAD_CNI_VERSION_UNSUPPORTED'] },
  { name: 'missing cniVersion', config: list([macvlan], 'n', null), warn: /no cniVersion/ },
  { name: 'coordinator first', config: list([coordinator, macvlan]), codes: ['NAD_INTERFACE_NOT_FIRST'] },
  { name: 'weir first', config: list([{ type: 'weir' }, macvlan]), codes: ['NAD_INTERFACE_NOT_FIRST'] },
  { name: 'tuning first', config: list([{ type: 'tuning' }, macvlan]), codes: ['NAD_INTERFACE_NOT_FIRST'] },
  { name: 'ifacer → macvlan → weir → coordinator', config: list([{ type: 'ifacer', interfaces: ['a', 'b'] }, macvlan, { type: 'weir' }, coordinator]) },
  { name: 'ifacer after the interface', config: list([macvlan, { type: 'ifacer' }]), codes: ['NAD_CHAIN_ORDER'] },
  { name: 'ifacer only', config: list([{ type: 'ifacer' }]), codes: ['NAD_CHAIN_ORDER'] },
  { name: 'two interface plugins', config: list([macvlan, ipvlan]), codes: ['NAD_CHAIN_ORDER'] },
  { name: 'macvlan without ipam, no weir: an L2-only interface is fine', config: list([{ type: 'macvlan', master: 'x' }]) },
  {
    name: 'macvlan → weir without ipam: Weir needs the IPs',
    config: list([{ type: 'macvlan', master: 'x' }, weir]),
    codes: ['NAD_IPAM_MISSING'],
    message: 'spec.config.plugins[0].ipam: the interface plugin "macvlan" has no "ipam" with a "type", but this chain runs weir, which needs the pod\'s IPs to enforce policy; add one, e.g. "ipam": {"type": "spiderpool"}',
  },
  { name: 'macvlan → weir with empty ipam', config: list([{ type: 'macvlan', master: 'x', ipam: {} }, weir]), codes: ['NAD_IPAM_MISSING'] },
  { name: 'cniVersion 0.3.0 without weir passes', config: list([macvlan], 'n', '0.3.0') },
  {
    name: 'cniVersion 0.3.0 with weir: the plugin would refuse it at sandbox creation',
    config: list([macvlan, weir], 'n', '0.3.0'),
    codes: ['NAD_CNI_VERSION_BELOW_WEIR'],
    message: 'spec.config.cniVersion: is "0.3.0", but this chain runs weir, which needs cniVersion 0.3.1, 0.4.0, 1.0.0, 1.1.0; the pod would fail at sandbox creation. Set "cniVersion": "1.0.0"',
  },
  { name: 'cniVersion 0.1.0 with weir', config: list([macvlan, weir], 'n', '0.1.0'), codes: ['NAD_CNI_VERSION_BELOW_WEIR'] },
  { name: 'cniVersion missing with weir', config: list([macvlan, weir], 'n', null), codes: ['NAD_CNI_VERSION_BELOW_WEIR'], message: 'spec.config.cniVersion: is missing, but this chain runs weir, which needs cniVersion 0.3.1, 0.4.0, 1.0.0, 1.1.0; the pod would fail at sandbox creation. Set "cniVersion": "1.0.0"' },
  { name: 'every version the weir plugin supports passes', config: list([macvlan, weir], 'n', '1.1.0') },
  {
    name: 'ipvlan l3s with weir: traffic bypasses the tc ingress hook',
    config: list([{ ...ipvlan, mode: 'l3s' }, weir]),
    codes: ['NAD_IPVLAN_L3S_WEIR'],
    message: 'spec.config.plugins[0].mode: "l3s" cannot be enforced by weir: in l3s mode traffic bypasses the ipvlan slave\'s tc ingress hook, where Weir\'s ingress policy runs; use "l2" or "l3"',
  },
  { name: 'ipvlan l3 with weir', config: list([{ ...ipvlan, mode: 'l3' }, weir]) },
  { name: 'ipam near miss', config: list([{ ...macvlan, ipam: { type: 'spiderpol' } }]), codes: ['NAD_IPAM_NEAR_MISS'], message: 'spec.config.plugins[0].ipam.type: "spiderpol" is not a known IPAM plugin; did you mean "spiderpool"?' },
  { name: 'unknown ipam passes', config: list([{ ...macvlan, ipam: { type: 'my-ipam-of-choice' } }]) },
  { name: 'macvlan mode bridged', config: list([{ ...macvlan, mode: 'bridged' }]), codes: ['NAD_MODE_INVALID'], message: 'spec.config.plugins[0].mode: "bridged" is not a macvlan mode; use one of bridge, private, vepa, passthru' },
  { name: 'macvlan mode passthru', config: list([{ ...macvlan, mode: 'passthru' }]) },
  { name: 'macvlan mode vepa', config: list([{ ...macvlan, mode: 'vepa' }]) },
  { name: 'macvlan mode private', config: list([{ ...macvlan, mode: 'private' }]) },
  { name: 'ipvlan mode l3s without weir is not Weir\'s concern', config: list([{ ...ipvlan, mode: 'l3s' }]) },
  { name: 'ipvlan mode l4', config: list([{ ...ipvlan, mode: 'l4' }]), codes: ['NAD_MODE_INVALID'] },
  { name: 'ipvlan mode L2 (case matters)', config: list([{ ...ipvlan, mode: 'L2' }]), codes: ['NAD_MODE_INVALID'] },
  { name: 'ipvlan mode not a string', config: list([{ ...ipvlan, mode: 2 }]), codes: ['NAD_MODE_INVALID'] },
  { name: 'weir and cilium-cni', config: list([ipvlan, { type: 'weir' }, { type: 'cilium-cni' }], 'spidernet-chainer'), codes: ['NAD_POLICY_MULTIPLE'] },
  { name: 'coordinator before weir', config: list([macvlan, coordinator, { type: 'weir' }]), codes: ['NAD_CHAIN_ORDER'], message: 'spec.config.plugins[1].type: "coordinator" must come after the policy plugin "weir"; the order is [ifacer] → interface plugin (with ipam) → weir | cilium-cni → coordinator' },
  { name: 'two coordinators', config: list([macvlan, coordinator, coordinator]), codes: ['NAD_DUPLICATE_PLUGIN'] },
  { name: 'two weirs', config: list([macvlan, { type: 'weir' }, { type: 'weir' }]), codes: ['NAD_DUPLICATE_PLUGIN'] },
  {
    name: 'coordinator mode disabled',
    config: list([macvlan, { type: 'coordinator', mode: 'disabled' }]),
    codes: ['NAD_COORDINATOR_MODE_INVALID'],
    message: 'spec.config.plugins[1].mode: "disabled" is not a coordinator mode; use one of auto, underlay, overlay, disable (the coordinator CNI knows "disable", not "disabled"; it would fail with "unknown tuneMode: disabled")',
  },
  { name: 'coordinator mode underlay', config: list([macvlan, { type: 'coordinator', mode: 'underlay' }]) },
  { name: 'coordinator mode disable', config: list([macvlan, { type: 'coordinator', mode: 'disable' }]) },
  { name: 'coordinator mode nonsense', config: list([macvlan, { type: 'coordinator', mode: 'fast' }]), codes: ['NAD_COORDINATOR_MODE_INVALID'] },
  { name: 'bandwidth plugin on macvlan', config: list([macvlan, { type: 'bandwidth', ingressRate: 1000, ingressBurst: 1000 }]), codes: ['NAD_BANDWIDTH_PLUGIN_NO_VETH'], message: 'spec.config.plugins[1].type: the "bandwidth" plugin cannot shape a macvlan interface (it needs a host-side veth); use weir: remove it, add {"type":"weir"} after "macvlan" and set kubernetes.io/ingress-bandwidth / egress-bandwidth on the pod' },
  { name: 'bandwidth plugin on ipvlan', config: list([ipvlan, { type: 'bandwidth' }]), codes: ['NAD_BANDWIDTH_PLUGIN_NO_VETH'] },
  { name: 'bandwidth plugin on bridge (veth) passes', config: list([{ type: 'bridge', bridge: 'br0', ipam }, { type: 'bandwidth' }]) },
  { name: 'unknown plugin passes with a warning', config: list([macvlan, { type: 'my-meta-plugin' }]), warn: /"my-meta-plugin" is not a plugin Weir knows/ },
  { name: 'capitalised Macvlan is a near miss', config: list([{ ...macvlan, type: 'Macvlan' }]), codes: ['NAD_PLUGIN_NEAR_MISS'] },
  { name: 'wier typo', config: list([macvlan, { type: 'wier' }]), codes: ['NAD_PLUGIN_NEAR_MISS'] },
  { name: 'sriov then tuning after coordinator (Spiderpool SR-IOV)', config: list([{ type: 'sriov', resourceName: 'x', ipam }, coordinator, { type: 'tuning', mtu: 9000 }]) },
  { name: 'host-device', config: list([{ type: 'host-device', device: 'eth1', ipam }]) },
  {
    name: 'every problem at once',
    config: list([coordinator, { ...macvlan, mode: 'bridged', ipam: undefined }, { type: 'coordinattor' }, { type: 'bandwidth' }, weir], 'n', '9.9.9'),
    codes: ['NAD_BANDWIDTH_PLUGIN_NO_VETH', 'NAD_CNI_VERSION_UNSUPPORTED', 'NAD_INTERFACE_NOT_FIRST', 'NAD_IPAM_MISSING', 'NAD_MODE_INVALID', 'NAD_PLUGIN_NEAR_MISS'],
  },
];

describe('validateNad (chain rules)', () => {
  it.each(cases)('$name', (c) => {
    const d = validateNad(nad(c.config), view);
    if (c.codes === undefined) {
      expect(d.kind, JSON.stringify(d)).toBe('allow');
    } else {
      expect(d.kind).toBe('deny');
      if (d.kind === 'deny') {
        expect([...new Set(d.refusals.map((r) => r.code))].sort()).toEqual([...c.codes].sort());
        if (c.message !== undefined) expect(d.refusals.map((r) => r.message)).toContain(c.message);
      }
    }
    if (c.warn !== undefined) expect(d.warnings.join('\n')).toMatch(c.warn);
    else expect(d.warnings.filter((w) => !/no cniVersion/.test(w))).toEqual([]);
    for (const w of d.warnings) expect(w.length).toBeLessThan(120);
  });

  it('refuses a malformed NAD object in scope without throwing; out of scope it only warns', () => {
    const d = validateNad({ metadata: { name: 'x', namespace: 'team' }, spec: { config: 5 } }, view);
    expect(d.kind === 'deny' && d.refusals[0]?.code).toBe('NAD_MALFORMED');
    // The review's namespace stands in when the object carries none.
    expect(validateNad({ metadata: { name: 'x' }, spec: { config: 5 } }, view, 'team').kind).toBe('deny');
    const out = validateNad({ metadata: { name: 'x', namespace: 'other' }, spec: { config: 5 } }, view);
    expect(out).toEqual({ kind: 'allow', patch: [], warnings: ["spec.config: NAD_MALFORMED (a warning only: this NAD is outside Weir's scope)"] });
    expect(validateNad('nope', view).kind).toBe('allow');
  });

  it('denialMessage joins every refusal with its code', () => {
    const d = validateNad(nad(list([macvlan, { type: 'coordinattor' }, { type: 'bandwidth' }])), view);
    expect(d.kind).toBe('deny');
    if (d.kind === 'deny') {
      expect(denialMessage(d.refusals)).toBe(
        '2 problems: (1) spec.config.plugins[1].type: "coordinattor" is not a known CNI plugin; did you mean "coordinator"? [NAD_PLUGIN_NEAR_MISS]; ' +
          '(2) spec.config.plugins[2].type: the "bandwidth" plugin cannot shape a macvlan interface (it needs a host-side veth); use weir: remove it, add {"type":"weir"} after "macvlan" and set kubernetes.io/ingress-bandwidth / egress-bandwidth on the pod [NAD_BANDWIDTH_PLUGIN_NO_VETH]',
      );
      expect(denialMessage(d.refusals.slice(0, 1))).toBe(
        'spec.config.plugins[1].type: "coordinattor" is not a known CNI plugin; did you mean "coordinator"? [NAD_PLUGIN_NEAR_MISS]',
      );
    }
  });
});

const enabled = { 'weir.dev/chain': 'enabled' };

describe('mutateNad (weir.dev/chain: enabled)', () => {
  const types = (config: string): string[] =>
    ((JSON.parse(config) as { plugins: Array<{ type: string }> }).plugins).map((p) => p.type);

  it.each([
    ['conflist macvlan → coordinator', list([macvlan, coordinator]), ['macvlan', 'weir', 'coordinator']],
    ['ifacer → macvlan → coordinator', list([{ type: 'ifacer' }, macvlan, coordinator]), ['ifacer', 'macvlan', 'weir', 'coordinator']],
    ['macvlan → tuning', list([macvlan, { type: 'tuning' }]), ['macvlan', 'weir', 'tuning']],
    ['single plugin becomes a conflist', { cniVersion: '0.3.1', ...macvlan }, ['macvlan', 'weir']],
    ['unknown custom interface plugin', list([{ type: 'custom-if', ipam }]), ['custom-if', 'weir']],
  ])('%s', (_name, config, want) => {
    const obj = nad(config, enabled);
    const d = mutateNad(obj, view);
    expect(d.kind).toBe('allow');
    if (d.kind !== 'allow') return;
    expect(d.patch).toHaveLength(1);
    const patched = applyPatch(obj, d.patch) as { spec: { config: string } };
    expect(types(patched.spec.config)).toEqual(want);
    // Idempotent: a second pass changes nothing, and the result passes validation.
    const again = mutateNad(patched, view);
    expect(again.kind === 'allow' && again.patch).toEqual([]);
    expect(validateNad(patched, view).kind).toBe('allow');
  });

  it('a single plugin keeps its fields, takes cniVersion/name to the list, names it after the NAD when unnamed', () => {
    const d = mutateNad(nad({ cniVersion: '0.3.1', ...macvlan }, enabled, 'my-nad'), view);
    expect(d.kind === 'allow' && d.patch[0]).toEqual({
      op: 'replace',
      path: '/spec/config',
      value: JSON.stringify({ cniVersion: '0.3.1', name: 'my-nad', plugins: [macvlan, { type: 'weir' }] }),
    });
  });

  it.each([
    ['already has weir', list([macvlan, { type: 'weir' }]), enabled],
    ['no annotation', list([macvlan]), {}],
    ['annotation not "enabled"', list([macvlan]), { 'weir.dev/chain': 'disabled' }],
    ['invalid config', '{', enabled],
    ['empty config', '', enabled],
    ['coordinator first: nothing to insert after', list([coordinator, macvlan]), enabled],
  ])('no patch when %s', (_name, config, annotations) => {
    const d = mutateNad(nad(config, annotations), view);
    expect(d).toEqual({ kind: 'allow', patch: [], warnings: [] });
  });

  it('inserting next to cilium-cni leaves the double policy for validation to refuse', () => {
    const obj = nad(list([ipvlan, { type: 'cilium-cni' }, coordinator], 'spidernet-chainer'), enabled);
    const d = mutateNad(obj, view);
    expect(d.kind === 'allow' && d.patch.length).toBe(1);
    if (d.kind !== 'allow') return;
    const v = validateNad(applyPatch(obj, d.patch), view);
    expect(v.kind === 'deny' && v.refusals.map((r) => r.code)).toEqual(['NAD_POLICY_MULTIPLE']);
  });
});

/**
 * Issue 16: the NAD webhook judges only NADs in Weir's scope. Interfaces without IPAM are normal
 * outside a Weir chain: DPDK SR-IOV VFs (bound to vfio-pci, no netdev), host-device, KubeVirt L2
 * bridges, tap, and SpiderMultusConfig output with disableIPAM (an empty ipam object).
 */
describe('NAD scope: refusals only for NADs in Weir\'s scope, IPAM only for Weir chains', () => {
  const noIpam: ReadonlyArray<[string, object]> = [
    ['sriov (DPDK, no IPAM)', { type: 'sriov', resourceName: 'intel.com/sriov_dpdk', vlan: 100, spoofchk: 'on' }],
    ['host-device', { type: 'host-device', pciBusID: '0000:af:00.1' }],
    ['bridge without IPAM (KubeVirt L2)', { type: 'bridge', bridge: 'br1', macspoofchk: true }],
    ['bridge with disableIPAM output (empty ipam)', { type: 'bridge', bridge: 'br1', ipam: {} }],
    ['tap', { type: 'tap', multiQueue: true, selinuxcontext: 'system_u:system_r:container_t:s0' }],
  ];
  /** mutate → patch → validate, as the API server chains the two NAD webhooks. */
  function admit(obj: object) {
    const m = mutateNad(obj, view);
    const patched = m.kind === 'allow' ? applyPatch(obj, m.patch) : obj;
    return validateNad(patched, view);
  }

  it.each(noIpam)('%s outside an opted-in namespace: admitted, no warning', (_name, plugin) => {
    expect(admit(nad(list([plugin]), {}, 'n', 'other'))).toEqual({ kind: 'allow', patch: [], warnings: [] });
  });
  it.each(noIpam)('%s in an opted-in namespace without weir: admitted, no warning', (_name, plugin) => {
    expect(admit(nad(list([plugin]), {}, 'n', 'team'))).toEqual({ kind: 'allow', patch: [], warnings: [] });
  });
  it.each(noIpam)('%s with weir.dev/chain: enabled (either namespace): refused, Weir needs the IPs', (_name, plugin) => {
    for (const ns of ['team', 'other']) {
      const d = admit(nad(list([plugin]), enabled, 'n', ns));
      expect(d.kind === 'deny' && d.refusals.map((r) => r.code)).toEqual(['NAD_IPAM_MISSING']);
      expect(d.kind === 'deny' && d.refusals[0]?.message).toMatch(/this chain runs weir, which needs the pod's IPs/);
    }
  });
  it.each(noIpam)('%s with {"type":"weir"} written by hand, outside opted-in namespaces: refused', (_name, plugin) => {
    const d = validateNad(nad(list([plugin, weir]), {}, 'n', 'other'), view);
    expect(d.kind === 'deny' && d.refusals.map((r) => r.code)).toEqual(['NAD_IPAM_MISSING']);
  });

  it('a rule broken outside Weir\'s scope is a short warning with its code, never a refusal', () => {
    const d = validateNad(nad(list([macvlan, { type: 'coordinattor' }, { type: 'bandwidth' }]), {}, 'n', 'other'), view);
    expect(d).toEqual({
      kind: 'allow',
      patch: [],
      warnings: [
        "spec.config.plugins[1].type: NAD_PLUGIN_NEAR_MISS (a warning only: this NAD is outside Weir's scope)",
        "spec.config.plugins[2].type: NAD_BANDWIDTH_PLUGIN_NO_VETH (a warning only: this NAD is outside Weir's scope)",
      ],
    });
    for (const w of d.warnings) expect(w.length).toBeLessThan(120);
  });
  it('an unknown namespace (not in the cache yet) is out of scope: the NAD webhook fails open', () => {
    expect(validateNad(nad(list([macvlan, { type: 'coordinattor' }]), {}, 'n', 'ghost'), view).kind).toBe('allow');
  });
  it.each([
    ['the same NAD in an opted-in namespace', list([macvlan, { type: 'coordinattor' }]), {}, 'team', ['NAD_PLUGIN_NEAR_MISS']],
    ['weir in the chain', list([macvlan, weir, { type: 'coordinattor' }]), {}, 'other', ['NAD_PLUGIN_NEAR_MISS']],
    ['a typo of weir in the chain', list([macvlan, { type: 'wier' }]), {}, 'other', ['NAD_PLUGIN_NEAR_MISS']],
    ['weir.dev/chain with any value', list([macvlan, { type: 'coordinattor' }]), { 'weir.dev/chain': 'disabled' }, 'other', ['NAD_PLUGIN_NEAR_MISS']],
    ['an unparseable config that names weir', '{"plugins":[{"type":"weir"}', {}, 'other', ['NAD_CONFIG_INVALID']],
  ] as const)('in scope through %s: refused', (_name, config, annotations, ns, codes) => {
    const d = validateNad(nad(config, annotations, 'n', ns), view);
    expect(d.kind === 'deny' && d.refusals.map((r) => r.code)).toEqual(codes);
  });

  it('weir.dev/chain: enabled but weir missing (the mutating webhook did not run) is refused', () => {
    const d = validateNad(nad(list([macvlan]), enabled, 'n', 'other'), view);
    expect(d.kind === 'deny' && d.refusals.map((r) => [r.code, r.field])).toEqual([['NAD_CHAIN_WEIR_MISSING', 'metadata.annotations["weir.dev/chain"]']]);
    // After the mutating webhook, the same NAD passes.
    expect(admit(nad(list([macvlan]), enabled, 'n', 'other')).kind).toBe('allow');
  });
  it('cniVersion below 0.3.1 is refused when weir would be inserted (weir.dev/chain: enabled)', () => {
    const d = admit(nad(list([macvlan], 'n', '0.3.0'), enabled, 'n', 'other'));
    expect(d.kind === 'deny' && d.refusals.map((r) => [r.code, r.field])).toEqual([['NAD_CNI_VERSION_BELOW_WEIR', 'spec.config.cniVersion']]);
    // Without the mutating webhook both problems are named.
    const direct = validateNad(nad(list([macvlan], 'n', '0.2.0'), enabled, 'n', 'other'), view);
    expect(direct.kind === 'deny' && direct.refusals.map((r) => r.code)).toEqual(['NAD_CNI_VERSION_BELOW_WEIR', 'NAD_CHAIN_WEIR_MISSING']);
  });
});
