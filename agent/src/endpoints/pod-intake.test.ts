/**
 * The trust model at the pod intake, attacked the way issue 12 describes: forged network-status,
 * a forged intent outside an opted-in namespace, a claimed peer IP, conflicts and caps. The real
 * compiler judges the outcome (policy entries and identities).
 */
import { describe, expect, it } from 'vitest';
import { PolicyCompiler } from '../policy/compile.js';
import { must, anp } from '../policy/testkit.js';
import { parseAdminNetworkPolicy, parseNamespace, type Pod } from '../policy/model.js';
import { MAX_IPS_PER_POD, PodIntake } from './pod-intake.js';
import { weirEndpointObject, type BoundInterface } from './weirendpoint.js';

const NS_STATUS = 'k8s.v1.cni.cncf.io/network-status';

function pod(ns: string, name: string, o: { ip?: string; node?: string; annotations?: Record<string, string>; start?: string; labels?: Record<string, string> } = {}): unknown {
  return {
    metadata: { namespace: ns, name, uid: `uid-${name}`, labels: o.labels ?? { app: name }, annotations: o.annotations ?? {} },
    spec: { nodeName: o.node ?? 'n1', containers: [{ name: 'c' }] },
    status: o.ip === undefined ? { phase: 'Pending' } : { phase: 'Running', podIPs: [{ ip: o.ip }], startTime: o.start ?? '2026-01-01T00:00:00Z' },
  };
}
const namespace = (name: string, optedIn: boolean): unknown => ({ metadata: { name, labels: optedIn ? { 'weir.dev/inject': 'enabled' } : {} } });
const iface = (name: string, ips: string[], atMs: number, o: Partial<BoundInterface> = {}): BoundInterface =>
  ({ name, network: undefined, isDefault: name === 'eth0', mac: undefined, ips, containerId: 'c1', attachedAtMs: atMs, ...o });
const endpoint = (ns: string, name: string, interfaces: BoundInterface[], node = 'n1'): unknown =>
  weirEndpointObject({ namespace: ns, name, podUid: `uid-${name}`, node, interfaces, enforcement: [] });

function harness() {
  const compiler = new PolicyCompiler();
  const events: Array<{ pod: string; reason: string; message: string }> = [];
  const intake = new PodIntake({
    sink: compiler,
    log: { warn: () => undefined, debug: () => undefined },
    events: { warning: (p, reason, message) => events.push({ pod: `${p.namespace}/${p.name}`, reason, message }) },
  });
  for (const n of ['t', 'p', 'kube-system']) {
    compiler.upsertNamespace(must(parseNamespace(namespace(n, false))));
    intake.upsertNamespace(namespace(n, false));
  }
  intake.upsertNad({ metadata: { namespace: 't', name: 'sec' }, spec: { config: JSON.stringify({ cniVersion: '1.0.0', name: 'sec', plugins: [{ type: 'macvlan', ipam: { type: 'host-local', subnet: '10.60.0.0/16' } }] }) } });
  const ownerId = (ip: string): number | undefined => compiler.ipcache().find((e) => e.cidr === `${ip}/32`)?.identity;
  const podOf = (key: string): Pod => intake.entry(key)?.pod ?? (() => { throw new Error(`no pod ${key}`); })();
  return { compiler, events, intake, ownerId, podOf };
}

describe('PodIntake: forged network-status', () => {
  it('marking a bogus interface default does not move NetworkPolicy/ANP off eth0 (the ANP deny keeps its entries)', () => {
    const { compiler, intake } = harness();
    compiler.upsertPolicy(must(parseAdminNetworkPolicy(anp('deny-web', 10, {
      subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } } },
      ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }],
    }))));
    intake.upsertPod(pod('t', 'web', { ip: '10.1.0.5' }));
    intake.bindLocal('t/web', iface('eth0', ['10.1.0.5'], 1));
    const before = compiler.compileEndpoint({ namespace: 't', pod: 'web', interface: 'eth0' })?.entries.length ?? 0;
    expect(before).toBeGreaterThan(0);
    const forged = JSON.stringify([{ name: 't/sec', interface: 'bogus0', ips: ['10.60.0.9'], default: true }]);
    intake.upsertPod(pod('t', 'web', { ip: '10.1.0.5', annotations: { [NS_STATUS]: forged } }));
    expect(compiler.compileEndpoint({ namespace: 't', pod: 'web', interface: 'eth0' })?.entries.length).toBe(before);
    expect(intake.entry('t/web')?.pod.defaultInterface).toBe('eth0');
    expect(intake.entry('t/web')?.pod.interfaces.map((i) => i.name)).toEqual(['eth0']);
  });

  it("listing a peer's IP (CoreDNS's) or an outside address gives the attacker neither identity", () => {
    const { intake, ownerId, compiler } = harness();
    intake.upsertPod(pod('kube-system', 'coredns', { ip: '10.96.0.10', labels: { 'k8s-app': 'kube-dns' } }));
    const dns = ownerId('10.96.0.10');
    const forged = JSON.stringify([
      { name: 't/sec', interface: 'net1', ips: ['10.96.0.10', '8.8.8.8'] },
      { name: 't/unknown-nad', interface: 'net2', ips: ['9.9.9.9'] },
    ]);
    // "aaa" sorts before "coredns": the old smaller-name tie-break would have handed it over.
    intake.upsertPod(pod('t', 'aaa', { ip: '10.1.0.6', annotations: { [NS_STATUS]: forged } }));
    expect(ownerId('10.96.0.10')).toBe(dns);
    expect(intake.ownerOf('10.96.0.10')).toBe('kube-system/coredns');
    expect(ownerId('8.8.8.8')).toBeUndefined();
    expect(ownerId('9.9.9.9')).toBeUndefined();
    expect(compiler.ipcache().map((e) => e.cidr).sort()).toEqual(['10.1.0.6/32', '10.96.0.10/32']);
  });

  it('a legitimate secondary address inside the NAD range is bound to its pod, up to the cap', () => {
    const { intake } = harness();
    const status = JSON.stringify([{ name: 't/sec', interface: 'net1', ips: ['10.60.0.7'] }]);
    intake.upsertPod(pod('t', 'plain', { ip: '10.1.0.7', annotations: { [NS_STATUS]: status } }));
    expect(intake.ownerOf('10.60.0.7')).toBe('t/plain');
    expect(intake.entry('t/plain')?.pod.interfaces).toEqual([
      { name: 'eth0', network: undefined, ips: ['10.1.0.7'] },
      { name: 'net1', network: 't/sec', ips: ['10.60.0.7'] },
    ]);
  });
});

describe('PodIntake: trusted bindings', () => {
  it('remote pods get their interfaces from WeirEndpoints of their current incarnation and node only', () => {
    const { intake, podOf } = harness();
    intake.upsertEndpoint(endpoint('p', 'r', [iface('eth0', ['10.1.0.20'], 1), iface('net1', ['10.70.0.20'], 1, { network: 'p/sec' })], 'n2'));
    intake.upsertPod(pod('p', 'r', { node: 'n2' }));
    expect(podOf('p/r').interfaces).toEqual([
      { name: 'eth0', network: undefined, ips: ['10.1.0.20'] },
      { name: 'net1', network: 'p/sec', ips: ['10.70.0.20'] },
    ]);
    // A stale object for another node, or an older uid, binds nothing.
    intake.upsertEndpoint(endpoint('p', 'r', [iface('eth0', ['10.1.0.21'], 1)], 'n3'));
    expect(intake.ownerOf('10.1.0.21')).toBeUndefined();
    intake.upsertEndpoint({ ...(endpoint('p', 'r', [iface('eth0', ['10.1.0.22'], 1)], 'n2') as object), spec: { podUID: 'old', nodeName: 'n2', interfaces: [] } });
    expect(podOf('p/r').interfaces).toEqual([{ name: 'eth0', network: undefined, ips: [] }]);
  });

  it('two bindings for one IP: the newest CNI ADD wins, with a Warning Event on both pods', () => {
    const { intake, events } = harness();
    intake.upsertPod(pod('p', 'old', { ip: '10.1.0.30', start: '2026-01-01T00:00:00Z' }));
    intake.upsertPod(pod('p', 'new'));
    intake.bindLocal('p/new', iface('eth0', ['10.1.0.30'], Date.parse('2026-01-02T00:00:00Z')));
    expect(intake.ownerOf('10.1.0.30')).toBe('p/new');
    expect(events.filter((e) => e.reason === 'WeirIpConflict').map((e) => e.pod).sort()).toEqual(['p/new', 'p/old']);
    expect(events[0]?.message).toMatch(/IP 10\.1\.0\.30 is bound to p\/new and p\/old; the newest CNI ADD \(p\/new\) keeps its identity/);
    // Seen again (resync): no second Event.
    intake.upsertPod(pod('p', 'old', { ip: '10.1.0.30', start: '2026-01-01T00:00:00Z' }));
    expect(events.filter((e) => e.reason === 'WeirIpConflict')).toHaveLength(2);
    // The old pod leaves: the address stays with the new one, and the old one's entry is pruned.
    intake.removePod('p', 'old', 'uid-old');
    expect(intake.ownerOf('10.1.0.30')).toBe('p/new');
  });

  it('a pod holds at most MAX_IPS_PER_POD addresses, and removal frees every one', () => {
    const { intake } = harness();
    const many = Array.from({ length: 8 }, (_, k) => iface(`net${k}`, Array.from({ length: 8 }, (_, j) => `10.80.${k}.${j + 1}`), 1, { network: 'p/sec' }));
    intake.upsertEndpoint(endpoint('p', 'big', many));
    intake.upsertPod(pod('p', 'big', { ip: '10.1.0.40' }));
    const owned = (intake.entry('p/big')?.pod.interfaces ?? []).flatMap((i) => i.ips);
    expect(owned).toHaveLength(MAX_IPS_PER_POD);
    intake.removePod('p', 'big', 'uid-big');
    expect(intake.ownerOf('10.80.0.1')).toBeUndefined();
    expect(intake.ownerOf('10.1.0.40')).toBeUndefined();
  });

  it('hostNetwork pods bind nothing (they share the node address)', () => {
    const { intake } = harness();
    for (const n of ['h1', 'h2']) intake.upsertPod({ ...(pod('p', n, { ip: '192.0.2.1' }) as object), spec: { nodeName: 'n1', hostNetwork: true } });
    expect(intake.ownerOf('192.0.2.1')).toBeUndefined();
  });
});

describe('PodIntake: the intent', () => {
  const forged = JSON.stringify({
    version: 1,
    networks: [{ nad: 't/sec', interface: 'net1', default: true, enforced: false }],
    bandwidth: { egressBitsPerSecond: 1_000_000 },
  });

  it('outside an opted-in namespace a forged intent is ignored with an Event: eth0 stays default, no bandwidth', () => {
    const { intake, events } = harness();
    intake.upsertPod(pod('t', 'sneaky', { ip: '10.1.0.50', annotations: { 'weir.dev/intent': forged } }));
    const entry = intake.entry('t/sneaky');
    expect(entry?.view.kind).toBe('untrusted');
    expect(entry?.view.bandwidth).toBeUndefined();
    expect(entry?.pod.defaultInterface).toBe('eth0');
    expect(events).toEqual([expect.objectContaining({ pod: 't/sneaky', reason: 'WeirIntentIgnored' })]);
    expect(events[0]?.message).toMatch(/not labelled weir\.dev\/inject=enabled.*every interface the weir plugin is called for is enforced and no bandwidth is applied/);
  });

  it('in an opted-in namespace the intent gives the default interface and bandwidth (and labelling re-reads it)', () => {
    const { intake, events } = harness();
    intake.upsertPod(pod('t', 'ok', { ip: '10.1.0.51', annotations: { 'weir.dev/intent': forged } }));
    intake.upsertNamespace(namespace('t', true));
    const entry = intake.entry('t/ok');
    expect(entry?.view.kind).toBe('intent');
    expect(entry?.view.bandwidth).toEqual({ egressBitsPerSecond: 1_000_000 });
    expect(entry?.pod.defaultInterface).toBe('net1');
    expect(events.map((e) => e.reason)).toEqual(['WeirIntentIgnored']);
  });
});
