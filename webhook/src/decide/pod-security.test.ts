/**
 * Issue 13, "Capabilities on enforced interfaces" and finding 9: NET_RAW is dropped from every
 * container of a pod with an enforced interface (with ping kept working), and a container that adds
 * NET_RAW, NET_ADMIN, SYS_ADMIN, BPF or ALL, or is privileged, is refused naming the capability and
 * the container; the same for containers added through pods/ephemeralcontainers (kubectl debug).
 */
import { describe, expect, it } from 'vitest';
import { denialMessage, mutatePod, validatePod, type ClusterView, type Decision, type NamespaceInfo, type PodReview } from './index.js';
import { applyPatch, fakeView } from './testing.js';

const ENABLED = { 'weir.dev/inject': 'enabled' };
const macvlan = { type: 'macvlan', master: 'eth1', mode: 'bridge', ipam: { type: 'spiderpool' } };
const conf = (plugins: object[]) => JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins });
const namespaces: NamespaceInfo[] = [
  { name: 'team', labels: ENABLED, annotations: {} },
  { name: 'rawok', labels: ENABLED, annotations: { 'weir.dev/allow-raw-sockets': 'true' } },
  { name: 'adminok', labels: ENABLED, annotations: { 'weir.dev/allow-net-admin': 'true' } },
  { name: 'off', labels: {}, annotations: {} },
];
const view: ClusterView = fakeView({
  namespaces,
  nads: namespaces.flatMap((ns) => [
    { namespace: ns.name, name: 'sec', config: conf([macvlan, { type: 'weir' }]) },
    { namespace: ns.name, name: 'plain', config: conf([macvlan]) },
  ]),
});
const OPTS = { coordinatorName: 'default' };
const NETS = 'k8s.v1.cni.cncf.io/networks';
const PING = { name: 'net.ipv4.ping_group_range', value: '0 2147483647' };

type Obj = Record<string, unknown>;
function pod(spec: Obj, networks = 'sec'): Obj {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { [NETS]: networks } }, spec };
}
const app = (securityContext?: object): Obj => (securityContext === undefined ? { name: 'app', image: 'x' } : { name: 'app', image: 'x', securityContext });

function admit(p: Obj, ns = 'team'): { mutated: Decision; final: Decision; object: Obj } {
  const mutated = mutatePod(p, ns, view, OPTS);
  if (mutated.kind === 'deny') return { mutated, final: mutated, object: p };
  const object = applyPatch(p, mutated.patch);
  return { mutated, final: validatePod(object, ns, view, OPTS), object };
}
const spec = (o: Obj): Obj => o['spec'] as Obj;
const codes = (d: Decision): string[] => (d.kind === 'deny' ? d.refusals.map((r) => r.code) : []);

describe('NET_RAW is dropped on enforced interfaces, ping keeps working', () => {
  it('every container and init container gets drop NET_RAW, the pod gets ping_group_range, with a warning', () => {
    const { mutated, final, object } = admit(pod({ initContainers: [{ name: 'init', image: 'x' }], containers: [app(), { name: 'side', image: 'y' }] }));
    expect(final).toEqual({ kind: 'allow', patch: [], warnings: [] });
    expect(mutated.warnings).toEqual(["NET_RAW dropped from every container: raw sockets get past Weir's egress policy (ping still works)"]);
    const s = spec(object);
    expect(s['initContainers']).toEqual([{ name: 'init', image: 'x', securityContext: { capabilities: { drop: ['NET_RAW'] } } }]);
    expect(s['containers']).toEqual([
      { name: 'app', image: 'x', securityContext: { capabilities: { drop: ['NET_RAW'] } } },
      { name: 'side', image: 'y', securityContext: { capabilities: { drop: ['NET_RAW'] } } },
    ]);
    expect(s['securityContext']).toEqual({ sysctls: [PING] });
    // Reinvocation changes nothing.
    const again = mutatePod(object, 'team', view, OPTS);
    expect(again.kind === 'allow' && again.patch).toEqual([]);
  });

  it.each([
    ['securityContext without capabilities', { runAsUser: 1000 }, { runAsUser: 1000, capabilities: { drop: ['NET_RAW'] } }],
    ['capabilities without drop', { capabilities: { add: ['CHOWN'] } }, { capabilities: { add: ['CHOWN'], drop: ['NET_RAW'] } }],
    ['a drop list without NET_RAW', { capabilities: { drop: ['MKNOD'] } }, { capabilities: { drop: ['MKNOD', 'NET_RAW'] } }],
    ['CAP_NET_RAW, which the runtime would read as CAP_CAP_NET_RAW', { capabilities: { drop: ['CAP_NET_RAW'] } }, { capabilities: { drop: ['CAP_NET_RAW', 'NET_RAW'] } }],
    ['drop ALL already (restricted profile): untouched', { capabilities: { drop: ['ALL'] } }, { capabilities: { drop: ['ALL'] } }],
    ['drop net_raw (any case): untouched', { capabilities: { drop: ['net_raw'] } }, { capabilities: { drop: ['net_raw'] } }],
  ])('%s', (_name, before, after) => {
    const { final, object } = admit(pod({ containers: [app(before)] }));
    expect(final.kind, JSON.stringify(final)).toBe('allow');
    expect((spec(object)['containers'] as Obj[])[0]?.['securityContext']).toEqual(after);
  });

  it('extends existing sysctls and leaves a ping_group_range the pod chose', () => {
    const other = { name: 'net.ipv4.ip_unprivileged_port_start', value: '0' };
    expect(spec(admit(pod({ securityContext: { sysctls: [other] }, containers: [app()] })).object)['securityContext']).toEqual({ sysctls: [other, PING] });
    expect(spec(admit(pod({ securityContext: { runAsNonRoot: true }, containers: [app()] })).object)['securityContext']).toEqual({ runAsNonRoot: true, sysctls: [PING] });
    const own = { name: 'net.ipv4.ping_group_range', value: '1000 1000' };
    expect(spec(admit(pod({ securityContext: { sysctls: [own] }, containers: [app()] })).object)['securityContext']).toEqual({ sysctls: [own] });
  });

  it('no enforced interface: the containers and the pod are not touched', () => {
    const { mutated, object } = admit(pod({ containers: [app()] }, 'plain'));
    expect(mutated.kind === 'allow' && mutated.patch.every((op) => op.path.startsWith('/metadata/'))).toBe(true);
    expect(spec(object)).toEqual({ containers: [app()] });
  });

  it('a namespace that is not opted in is not mutated at all', () => {
    const d = mutatePod(pod({ containers: [app({ capabilities: { add: ['NET_RAW', 'NET_ADMIN'] } })] }), 'off', view, OPTS);
    expect(d.kind === 'allow' && d.patch).toEqual([]);
    expect(validatePod(pod({ containers: [app()] }), 'off', view, OPTS).kind).toBe('allow');
  });

  it('weir.dev/allow-raw-sockets: no drop, no sysctl, NET_RAW may be added; a warning says egress is not enforceable', () => {
    const { mutated, final, object } = admit(pod({ containers: [app({ capabilities: { add: ['NET_RAW'] } })] }), 'rawok');
    expect(final.kind).toBe('allow');
    expect(spec(object)).toEqual({ containers: [app({ capabilities: { add: ['NET_RAW'] } })] });
    expect([...mutated.warnings, ...final.warnings]).toEqual(["raw sockets allowed by weir.dev/allow-raw-sockets: this pod's egress is not enforceable"]);
  });

  it('a later mutating webhook that removes the drop is caught by validation', () => {
    const { object } = admit(pod({ containers: [app()] }));
    ((spec(object)['containers'] as Obj[])[0] as Obj)['securityContext'] = {};
    const d = validatePod(object, 'team', view, OPTS);
    expect(d.kind === 'deny' && denialMessage(d.refusals)).toBe(
      'spec.containers[0].securityContext.capabilities.drop: container "app" keeps NET_RAW (the drop Weir\'s mutating webhook adds is missing) while Weir enforces interface(s) net1; ' +
        'raw sockets send frames that get past Weir\'s egress policy. Remove it (ping works without it), or annotate namespace "team" with weir.dev/allow-raw-sockets: "true" [POD_NET_RAW_ON_ENFORCED]',
    );
  });
});

describe('capabilities that get past or remove enforcement are refused, naming capability and container', () => {
  it.each([
    ['NET_RAW', { capabilities: { add: ['NET_RAW'] } }, 'POD_NET_RAW_ON_ENFORCED', 'spec.containers[0].securityContext.capabilities.add[0]: container "app" adds NET_RAW while Weir enforces interface(s) net1'],
    ['NET_ADMIN', { capabilities: { add: ['NET_ADMIN'] } }, 'POD_NET_ADMIN_ON_ENFORCED', 'spec.containers[0].securityContext.capabilities.add[0]: container "app" adds NET_ADMIN while Weir enforces interface(s) net1'],
    ['SYS_ADMIN', { capabilities: { add: ['CHOWN', 'SYS_ADMIN'] } }, 'POD_NET_ADMIN_ON_ENFORCED', 'spec.containers[0].securityContext.capabilities.add[1]: container "app" adds SYS_ADMIN'],
    ['BPF', { capabilities: { add: ['bpf'] } }, 'POD_NET_ADMIN_ON_ENFORCED', 'container "app" adds BPF'],
    ['CAP_BPF', { capabilities: { add: ['CAP_BPF'] } }, 'POD_NET_ADMIN_ON_ENFORCED', 'container "app" adds BPF'],
    ['ALL', { capabilities: { add: ['ALL'] } }, 'POD_NET_ADMIN_ON_ENFORCED', 'container "app" adds ALL capabilities'],
    ['privileged', { privileged: true }, 'POD_NET_ADMIN_ON_ENFORCED', 'spec.containers[0].securityContext.privileged: container "app" is privileged'],
  ])('%s', (_name, securityContext, code, says) => {
    const { final } = admit(pod({ containers: [app(securityContext)] }));
    expect(codes(final)).toEqual([code]);
    expect(final.kind === 'deny' && denialMessage(final.refusals)).toContain(says);
  });

  it('an init container is checked too', () => {
    const { final } = admit(pod({ initContainers: [{ name: 'setup', securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } } }], containers: [app()] }));
    expect(final.kind === 'deny' && final.refusals.map((r) => [r.code, r.field])).toEqual([
      ['POD_NET_ADMIN_ON_ENFORCED', 'spec.initContainers[0].securityContext.capabilities.add[0]'],
      ['POD_NET_RAW_ON_ENFORCED', 'spec.initContainers[0].securityContext.capabilities.add[1]'],
    ]);
  });

  it('weir.dev/allow-net-admin allows NET_ADMIN/SYS_ADMIN/BPF/privileged, but NET_RAW still needs allow-raw-sockets', () => {
    const ok = admit(pod({ containers: [app({ capabilities: { add: ['NET_ADMIN', 'SYS_ADMIN', 'BPF'] } })] }), 'adminok');
    expect(ok.final.kind).toBe('allow');
    expect(ok.final.warnings).toEqual(['NET_ADMIN/privileged allowed on enforced interfaces by weir.dev/allow-net-admin']);
    expect(codes(admit(pod({ containers: [app({ capabilities: { add: ['NET_RAW'] } })] }), 'adminok').final)).toEqual(['POD_NET_RAW_ON_ENFORCED']);
  });

  it('the same capabilities on a pod without an enforced interface are not Weir\'s concern', () => {
    const { final } = admit(pod({ containers: [app({ privileged: true, capabilities: { add: ['NET_RAW', 'SYS_ADMIN'] } })] }, 'plain'));
    expect(final.kind).toBe('allow');
  });
});

describe('pods/ephemeralcontainers (kubectl debug) and updates', () => {
  // A running, admitted pod with one earlier debug container that predates the NET_RAW drop.
  const running = (): Obj => {
    const { object } = admit(pod({ containers: [app()] }));
    spec(object)['ephemeralContainers'] = [{ name: 'old-debug', image: 'busybox' }];
    return object;
  };
  const withDebug = (sc?: object): Obj => {
    const o = running();
    (spec(o)['ephemeralContainers'] as Obj[]).push(sc === undefined ? { name: 'debugger', image: 'busybox' } : { name: 'debugger', image: 'busybox', securityContext: sc });
    return o;
  };
  const EPHEMERAL: PodReview = { kind: 'ephemeral', oldPod: running() };

  it('kubectl debug --profile=netadmin (NET_ADMIN, NET_RAW) is refused naming both', () => {
    const o = withDebug({ capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } });
    const m = mutatePod(o, 'team', view, OPTS, EPHEMERAL);
    const d = validatePod(applyPatch(o, m.kind === 'allow' ? m.patch : []), 'team', view, OPTS, EPHEMERAL);
    expect(d.kind === 'deny' && d.refusals.map((r) => [r.code, r.field])).toEqual([
      ['POD_NET_ADMIN_ON_ENFORCED', 'spec.ephemeralContainers[1].securityContext.capabilities.add[0]'],
      ['POD_NET_RAW_ON_ENFORCED', 'spec.ephemeralContainers[1].securityContext.capabilities.add[1]'],
    ]);
    expect(d.kind === 'deny' && denialMessage(d.refusals)).toContain('container "debugger" adds NET_ADMIN');
  });

  it('kubectl debug --profile=sysadmin (privileged) is refused', () => {
    expect(codes(validatePod(withDebug({ privileged: true }), 'team', view, OPTS, EPHEMERAL))).toEqual(['POD_NET_ADMIN_ON_ENFORCED']);
  });

  it('a plain debug container gets NET_RAW dropped; earlier containers and the pod are left alone', () => {
    const o = withDebug();
    const m = mutatePod(o, 'team', view, OPTS, EPHEMERAL);
    expect(m.kind === 'allow' && m.patch).toEqual([{ op: 'add', path: '/spec/ephemeralContainers/1/securityContext', value: { capabilities: { drop: ['NET_RAW'] } } }]);
    expect(m.warnings).toHaveLength(1);
    const patched = applyPatch(o, m.kind === 'allow' ? m.patch : []);
    expect(validatePod(patched, 'team', view, OPTS, EPHEMERAL)).toEqual({ kind: 'allow', patch: [], warnings: [] });
    // Without the drop (the mutating webhook skipped), validation refuses it.
    expect(codes(validatePod(o, 'team', view, OPTS, EPHEMERAL))).toEqual(['POD_NET_RAW_ON_ENFORCED']);
  });

  it('fails closed when the pod\'s NAD is gone: the interface still counts as enforced', () => {
    const gone: ClusterView = { ...view, nad: () => undefined };
    expect(codes(validatePod(withDebug({ capabilities: { add: ['NET_RAW'] } }), 'team', gone, OPTS, EPHEMERAL))).toEqual(['POD_NET_RAW_ON_ENFORCED']);
  });

  it('an ordinary update never patches the (immutable) containers and does not require the drop', () => {
    const o = pod({ containers: [app()] });
    const admitted = admit(o).object;
    (spec(admitted)['containers'] as Obj[])[0] = app(); // a pod admitted before the drop existed
    const m = mutatePod(admitted, 'team', view, OPTS, { kind: 'update' });
    expect(m.kind === 'allow' && m.patch).toEqual([]);
    expect(validatePod(admitted, 'team', view, OPTS, { kind: 'update' }).kind).toBe('allow');
  });
});
