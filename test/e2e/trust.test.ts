/**
 * Issue 12 end to end: a hostile tenant on the lab (real API server, webhook, agent, macvlan +
 * host-local + weir plugins, real packets) tries to talk Weir out of enforcing, the ways the issue
 * found. Each attack is one a user with `patch pods` in its own namespace can make; after each,
 * the traffic shows that policies still apply and identities are unchanged.
 */
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deleteNetns } from '../../lab/simnode/netns.js';
import { isRecord } from '../../common/src/records.js';
import { describePrivileged } from '../support/privileged.js';
import { DEFAULT_SUBNET, E2eCluster, SECOND_SUBNET, parseProbeLines, LabRun, type PolicyObject } from './cluster.js';
import { alternatingPlacement, podKey, type Truth } from './model.js';

const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const NETWORK_STATUS = 'k8s.v1.cni.cncf.io/network-status';
/** On the pods' L2 and subnet (so replies route), allocated to no pod: a host the attacker runs. */
const OUTSIDE_IP = '10.77.250.250';

describePrivileged('e2e trust: a tenant cannot talk Weir out of enforcing (issue 12)', () => {
  const tag = 'trust';
  const dir = join(tmpdir(), `weir-e2e-${tag}-${process.pid}`, 'lab');
  const log: string[] = [];
  const cluster = new E2eCluster({ nodes: 1, dir, prefix: `e${tag}${process.pid}`, placement: alternatingPlacement(1), log: (line) => log.push(line) });
  const outsideNetns = `e${tag}${process.pid}-outside`;
  const run = new LabRun(cluster);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  beforeAll(async () => {
    try {
      await cluster.up();
      await cluster.baseline('initial');
    } catch (error) {
      process.stdout.write(`lab log tail:\n${log.slice(-40).join('\n')}\n`);
      throw error;
    }
    // The attacker's own host on the underlay, outside the cluster.
    await cluster.addOutsideHost(outsideNetns, OUTSIDE_IP);
    run.up = true;
  }, 240_000);

  afterAll(async () => {
    await deleteNetns(outsideNetns).catch(() => undefined);
    const left = await cluster.down(run.failed);
    if (run.failed) process.stdout.write(`[e2e ${tag}] lab logs kept in ${dir}\n`);
    expect(left).toEqual([]);
  }, 120_000);

  /**
   * Rewrites a pod's network-status (merge patch: anyone with `patch pods`): `extra` entries first,
   * then Multus's own, which lose their `default` mark when `undefault` is set.
   */
  async function forgeNetworkStatus(key: string, extra: unknown[], undefault = false): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const pod = await cluster.core.readNamespacedPod({ namespace, name });
    const current: unknown = JSON.parse(pod.metadata?.annotations?.[NETWORK_STATUS] ?? '[]');
    const list = (Array.isArray(current) ? current : []).map((e: unknown) => (undefault && isRecord(e) ? { ...e, default: false } : e));
    await cluster.core.patchNamespacedPod({ namespace, name, body: { metadata: { annotations: { [NETWORK_STATUS]: JSON.stringify([...extra, ...list]) } } } }, merge);
  }

  async function outsideProbe(specs: string[]): Promise<Array<{ spec: string; ok: boolean }>> {
    const { stdout } = await execFileP('ip', ['netns', 'exec', outsideNetns, cluster.netprobe, 'probe', '1000', ...specs], { timeout: 15_000 });
    return parseProbeLines(stdout);
  }

  it('a forged network-status marking a bogus interface default: the AdminNetworkPolicy deny still applies', () => run.guarded(async (applied) => {
    const anp: PolicyObject = {
      kind: 'AdminNetworkPolicy', name: 'deny-to-xa',
      spec: { priority: 5, subject: { pods: { namespaceSelector: { matchLabels: { ns: 'x' } }, podSelector: { matchLabels: { pod: 'a' } } } }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] },
    };
    await cluster.apply(anp);
    applied.push(anp);
    const truth: Truth = (_from, to) => podKey(to) !== 'x/a';
    await cluster.converge('ANP deny into x/a', truth);
    await forgeNetworkStatus('x/a', [{ name: 'x/sec', interface: 'bogus0', ips: ['10.79.200.1'], default: true }], true);
    await cluster.converge('ANP deny into x/a after the forged default', truth, { stable: true });
  }), 90_000);

  it("a pod listing a peer's IP and an outside address in its network-status gets neither identity", () => run.guarded(async (applied) => {
    // z admits only x/a, the attacker. Had the forgery worked, y/b's traffic (its IP claimed by
    // x/a, which sorts first) and the attacker's outside host would be admitted as x/a.
    const np: PolicyObject = {
      kind: 'NetworkPolicy', namespace: 'z', name: 'only-xa',
      spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'x' } }, podSelector: { matchLabels: { pod: 'a' } } }] }] },
    };
    await cluster.apply(np);
    applied.push(np);
    const truth: Truth = (from, to) => to.ns !== 'z' || podKey(from) === 'x/a';
    await cluster.converge('z admits only x/a', truth);
    const zSpecs = ['a', 'b', 'c'].map((p) => `tcp:${cluster.info(`z/${p}`).ips.eth0}:80`);
    expect((await outsideProbe(zSpecs)).filter((l) => l.ok)).toEqual([]);
    const victim = cluster.info('y/b').ips.eth0;
    await forgeNetworkStatus('x/a', [
      { name: 'x/sec', interface: 'net7', ips: [victim, OUTSIDE_IP] },
      { name: 'x/underlay', interface: 'net8', ips: [OUTSIDE_IP] },
      { name: 'x/no-such-nad', interface: 'net9', ips: [OUTSIDE_IP, victim] },
    ]);
    await cluster.converge("z admits only x/a, after x/a claimed y/b's IP", truth, { stable: true });
    for (let round = 0; round < 3; round++) {
      expect((await outsideProbe(zSpecs)).filter((l) => l.ok)).toEqual([]);
      await sleep(300);
    }
    // y/b's binding is the one its agent published, untouched by the forgery.
    const wep: unknown = await cluster.custom.getNamespacedCustomObject({ group: 'weir.dev', version: 'v1alpha1', plural: 'weirendpoints', namespace: 'y', name: 'b' });
    const ifaces = isRecord(wep) && isRecord(wep.spec) && Array.isArray(wep.spec.interfaces) ? wep.spec.interfaces : [];
    expect(ifaces.filter(isRecord).find((i) => i.name === 'eth0')?.ips).toEqual([victim]);
  }), 90_000);

  it('a forged enforced:false intent in a namespace that is not opted in: the pod is enforced anyway', () => run.guarded(async (applied) => {
    await cluster.core.createNamespace({ body: { metadata: { name: 'plain', labels: { ns: 'plain' } } } });
    await cluster.createNad('plain', 'underlay', cluster.defaultNet, { type: 'host-local', ranges: [[{ subnet: DEFAULT_SUBNET }]] });
    await cluster.createNad('plain', 'sec', cluster.secondNet, { type: 'host-local', ranges: [[{ subnet: SECOND_SUBNET }]] });
    const intent = JSON.stringify({
      version: 1,
      networks: [
        { nad: 'plain/underlay', interface: 'eth0', default: true, enforced: false },
        { nad: 'plain/sec', interface: 'net1', default: false, enforced: false },
      ],
      bandwidth: { egressBitsPerSecond: 1_000_000 },
    });
    await cluster.createPod({ ns: 'plain', pod: 'sneaky' }, 'node-1', { annotations: { 'v1.multus-cni.io/default-network': 'plain/underlay', 'weir.dev/intent': intent } });
    try {
      await cluster.waitRunning({ ns: 'plain', pod: 'sneaky' });
      await cluster.startServer('plain/sneaky');
      const target = `tcp:${cluster.info('plain/sneaky').ips.eth0}:80`;
      expect((await cluster.runProbe('x/a', ['probe', '1000', target], 15_000)).map((l) => l.ok)).toEqual([true]);
      const np: PolicyObject = { kind: 'NetworkPolicy', namespace: 'plain', name: 'deny-all', spec: { podSelector: {}, policyTypes: ['Ingress'] } };
      await cluster.apply(np);
      applied.push(np);
      const started = performance.now();
      for (;;) {
        const [line] = await cluster.runProbe('x/a', ['probe', '1000', target], 15_000);
        if (line?.ok === false) break;
        if (performance.now() - started > 10_000) throw new Error('plain/sneaky still reachable 10 s after a deny-all ingress policy: its forged intent was obeyed');
        await sleep(200);
      }
      for (let round = 0; round < 3; round++) expect((await cluster.runProbe('x/a', ['probe', '1000', target], 15_000)).map((l) => l.ok)).toEqual([false]);
      const events = await cluster.core.listNamespacedEvent({ namespace: 'plain' });
      expect(events.items.filter((e) => e.involvedObject.name === 'sneaky' && e.reason === 'WeirIntentIgnored').length).toBeGreaterThan(0);
      const wep: unknown = await cluster.custom.getNamespacedCustomObject({ group: 'weir.dev', version: 'v1alpha1', plural: 'weirendpoints', namespace: 'plain', name: 'sneaky' });
      const status = isRecord(wep) && isRecord(wep.status) && Array.isArray(wep.status.interfaces) ? wep.status.interfaces.filter(isRecord) : [];
      expect(status.map((s) => [s.name, s.enforced, s.shaping]).sort()).toEqual([['eth0', true, 'none'], ['net1', true, 'none']]);
    } finally {
      await cluster.deletePod('plain/sneaky').catch(() => undefined);
    }
  }), 120_000);
});
