/**
 * Links a plugin chained AFTER weir adds to the pod (issue 13, finding 3), with real packets.
 *
 * STAND-IN FOR SPIDERPOOL'S COORDINATOR (not available here): after Weir attached to the pod's
 * eth0 (a macvlan, whose parent — the node — cannot reach it), a "chained step" does what the
 * coordinator does for node and Service traffic: a veth pair whose pod end is `veth0` (no address
 * of its own), a route in the pod to the node's IP over veth0 with the pod IP as source, and a
 * host route to the pod IP over the node end. weir's CNI ADD never saw veth0.
 *
 * A client `c` behind the node reaches a over veth0 with its own source address (the node routes
 * it, as kube-proxy only DNATs same-node Service traffic; the stand-in's pod route for c's subnet
 * over veth0 plays the coordinator's return path).
 *
 * Shown: the bypass is real before adoption; Datapath.enforceLinks (the agent's attach check)
 * puts the endpoint's programs on veth0; from then on the node itself always talks to the pod
 * (NetworkPolicy's rule: `node-allowed`), anything else over veth0 is judged by its real source,
 * the pod's egress by policy and by its IP source (veth0's MAC is not the endpoint's and is not
 * checked); foreign filters ahead of Weir's are removed (also one holding Weir's priority with
 * another classifier); detaching leaves no clsact behind.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePrivileged } from '../support/privileged.js';
import { NetLab, execInNetns, netnsPath, runChecked } from '../../harness/support/netns.js';
import { TcAttachProbe } from '../../agent/src/endpoints/probe.js';
import { counted, endpoint, entry, openHarness, type Harness } from '../../harness/datapath/harness.js';
import { fromMac, ipv4 } from '../../harness/datapath/packets.js';
import { buildRawframe, deliveredFrames, markedUdp } from './rawframes.js';
import { interfaceAddresses, macvlanPods } from '../../harness/datapath/pods.js';

const PROBE = 'test/datapath/probe.mjs';
const IP = { a: '10.98.0.1', b: '10.98.0.2', node: '10.99.0.1', c: '10.97.0.2', nodeToC: '10.97.0.1' } as const;
const ID = { a: 300, b: 400, c: 700 } as const;
const EP_A = 1;
const ETH_P_IP = 0x0800;
const desiredA = endpoint([
  entry({ direction: 'ingress', identity: ID.c, protocol: 6, port: 80, portPrefixLength: 16 }),
  entry({ direction: 'egress', identity: ID.c, protocol: 6, port: 80, portPrefixLength: 16 }),
], { ingress: true, egress: true });

describePrivileged('links a later chained plugin adds (coordinator veth0 stand-in), real packets', () => {
  const lab = new NetLab('wdcl');
  const tool = `/tmp/weir-rawframe-cl-${process.pid}`;
  let h: Harness;
  let ns: Record<'a' | 'b' | 'c' | 'node', string>;
  const servers: ChildProcess[] = [];

  const tcp = async (from: string, to: string, port: number): Promise<string> =>
    (await execInNetns(from, ['node', PROBE, 'tcp', to, String(port)])).stdout.trim();
  const links = (ifname: string) => Promise.all((['ingress', 'egress'] as const).map((direction) => h.addon.tc.list({ netnsPath: netnsPath(ns.a), ifname, direction })));
  const hasClsact = async (ifname: string): Promise<boolean> =>
    (await runChecked(['tc', '-n', ns.a, 'qdisc', 'show', 'dev', ifname])).includes('clsact');

  /** How many copies of a UDP frame sent from a's veth0 (raw socket) arrive on the node end. */
  async function deliveredOverVeth0(src: string, marker: string): Promise<number> {
    const veth0Mac = (await interfaceAddresses(ns.a, 'veth0')).mac ?? '';
    const hostMac = (await interfaceAddresses(ns.node, 'vh-a')).mac ?? '';
    const frame = fromMac(ipv4(src, IP.node, markedUdp(marker, 5000, 9)), veth0Mac);
    Buffer.from(hostMac.replaceAll(':', ''), 'hex').copy(frame, 0);
    return deliveredFrames((n, argv) => lab.spawnInNetns(n, argv), tool, { ns: ns.a, ifname: 'veth0' }, { ns: ns.node, ifname: 'vh-a' }, [{ frame, proto: ETH_P_IP }], Buffer.from(marker), 1000);
  }

  beforeAll(async () => {
    await lab.sweep();
    buildRawframe(tool);
    const pods = await macvlanPods(lab, { a: { ipv4: IP.a }, b: { ipv4: IP.b } });
    ns = { ...pods.ns, node: pods.node, c: await lab.netns('c') };
    // "The node" for the programs is the lab's node netns, not this test runner's.
    h = openHarness('chained-links', { nodeNetnsPath: netnsPath(ns.node) });
    // A client behind the node, routed (not masqueraded) by it.
    await lab.veth('eth0', 'to-c', { ns: ns.c, peerNs: ns.node });
    await runChecked(['ip', '-n', ns.c, 'addr', 'add', `${IP.c}/24`, 'dev', 'eth0']);
    await runChecked(['ip', '-n', ns.node, 'addr', 'add', `${IP.nodeToC}/24`, 'dev', 'to-c']);
    await runChecked(['ip', '-n', ns.c, 'route', 'add', 'default', 'via', IP.nodeToC]);
    await runChecked(['ip', 'netns', 'exec', ns.node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    // The node's own address (its "node IP"; on lo: this kernel has no dummy links).
    await runChecked(['ip', '-n', ns.node, 'addr', 'add', `${IP.node}/32`, 'dev', 'lo']);
    await runChecked(['ip', '-n', ns.node, 'link', 'set', 'lo', 'up']);
    for (const [where, ports] of [[ns.a, '80,81'], [ns.node, '80,81']] as const) {
      const s = lab.spawnInNetns(where, ['node', PROBE, 'serve', ports, '']);
      servers.push(s);
      await new Promise<void>((resolve) => s.stdout?.once('data', () => resolve()));
    }
    for (const s of [lab.spawnInNetns(ns.c, ['node', PROBE, 'serve', '80,81', ''])]) {
      servers.push(s);
      await new Promise<void>((resolve) => s.stdout?.once('data', () => resolve()));
    }
    await h.dp.syncIpCache([
      { cidr: `${IP.a}/32`, identity: ID.a }, { cidr: `${IP.b}/32`, identity: ID.b }, { cidr: `${IP.c}/32`, identity: ID.c },
    ]);
    // weir's CNI ADD: a's eth0 only. Both directions isolated; c allowed on TCP 80 both ways.
    await h.dp.attachEndpoint({
      endpointId: EP_A, netnsPath: netnsPath(ns.a), ifname: 'eth0', addresses: await interfaceAddresses(ns.a), desired: desiredA,
    });
    // STAND-IN for the coordinator, chained after weir: veth pair, pod end veth0, routes.
    await runChecked(['ip', '-n', ns.node, 'link', 'add', 'vh-a', 'type', 'veth', 'peer', 'name', 'veth0', 'netns', ns.a]);
    await runChecked(['ip', '-n', ns.node, 'link', 'set', 'vh-a', 'up']);
    await runChecked(['ip', '-n', ns.a, 'link', 'set', 'veth0', 'up']);
    await runChecked(['ip', '-n', ns.a, 'route', 'add', `${IP.node}/32`, 'dev', 'veth0', 'src', IP.a]);
    await runChecked(['ip', '-n', ns.node, 'route', 'add', `${IP.a}/32`, 'dev', 'vh-a']);
    await runChecked(['ip', '-n', ns.a, 'route', 'add', `${IP.c}/32`, 'via', IP.node, 'dev', 'veth0', 'onlink', 'src', IP.a]);
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) s.kill('SIGKILL');
    await (h as typeof h | undefined)?.close();
    await lab.cleanup();
    execFileSync('rm', ['-f', tool]);
  });

  it('before adoption, veth0 carries node traffic past Weir both ways (the bypass is real)', async () => {
    expect(await tcp(ns.b, IP.a, 81)).toMatch(/^fail/); // eth0 is enforced
    expect(await tcp(ns.c, IP.a, 81)).toBe('ok'); // over veth0: not
    expect(await tcp(ns.a, IP.c, 81)).toBe('ok');
    expect(await deliveredOverVeth0(IP.b, 'weir-cl-spoof-before')).toBe(1); // a spoofed source leaves too
  }, 60_000);

  it('enforceLinks adopts veth0: the node always talks to the pod, anything else is judged by its real source', async () => {
    const report = await h.dp.enforceLinks(EP_A);
    expect(report).toEqual({ attached: ['veth0'], tampered: [], leftAlone: [] });
    const [ingress, egress] = await links('veth0');
    expect(ingress?.map((f) => f.classid)).toEqual([EP_A | 0x8000]);
    expect(egress?.map((f) => f.progId)).toEqual([h.dp.programIds().egress]);
    const deniedBefore = await counted(h, EP_A, 'default-deny');
    const nodeBefore = await counted(h, EP_A, 'node-allowed');
    expect(await tcp(ns.c, IP.a, 80)).toBe('ok'); // c's own address, allowed on 80
    expect(await tcp(ns.c, IP.a, 81)).toMatch(/^fail/);
    expect(await tcp(ns.a, IP.c, 80)).toBe('ok'); // veth0's own MAC passes; the pod IP is the source
    expect(await tcp(ns.a, IP.c, 81)).toMatch(/^fail/);
    expect(await counted(h, EP_A, 'default-deny')).toBeGreaterThan(deniedBefore);
    // The node itself (kubelet probes): always, both ways, whatever the policy.
    expect(await tcp(ns.node, IP.a, 81)).toBe('ok');
    expect(await tcp(ns.a, IP.node, 81)).toBe('ok');
    expect(await counted(h, EP_A, 'node-allowed')).toBeGreaterThan(nodeBefore);
    const spoofedBefore = await counted(h, EP_A, 'spoofed');
    expect(await deliveredOverVeth0(IP.b, 'weir-cl-spoof-after')).toBe(0); // even to the node
    expect(await counted(h, EP_A, 'spoofed')).toBeGreaterThan(spoofedBefore);
    // Adopted once: the next pass finds it in place and attaches nothing.
    expect(await h.dp.enforceLinks(EP_A)).toEqual({ attached: [], tampered: [], leftAlone: [] });
  }, 60_000);

  it('a foreign filter ahead of Weir\'s on veth0 lets traffic past until the check removes it', async () => {
    const foreign = h.addon.openObject({ path: 'build/bpf/smoke.bpf.o' });
    try {
      for (const direction of ['ingress', 'egress'] as const) {
        await h.addon.tc.attach({ netnsPath: netnsPath(ns.a), ifname: 'veth0', direction, program: foreign.program('smoke_pass'), handle: 2, priority: 1 });
      }
      expect(await tcp(ns.c, IP.a, 81)).toBe('ok'); // the attack works: the newer filter runs first
      const probe = new TcAttachProbe(h.addon.tc);
      expect(await probe.check(netnsPath(ns.a), 'veth0', h.dp.programIds(), EP_A | 0x8000)).toEqual({
        kind: 'missing', directions: ['ingress', 'egress'], foreign: ['ingress', 'egress'],
      });
      const report = await h.dp.enforceLinks(EP_A);
      expect(report.tampered.map((t) => t.link)).toEqual(['veth0']);
      expect(report.tampered[0]?.filters.join('\n')).toMatch(/ingress: bpf filter handle 2 priority 1 .*removed/);
      expect((await links('veth0')).map((fs) => fs.map((f) => f.handle))).toEqual([[1], [1]]);
      expect(await tcp(ns.c, IP.a, 81)).toMatch(/^fail/);
      expect(await tcp(ns.c, IP.a, 80)).toBe('ok');
    } finally {
      foreign.close();
    }
  }, 60_000);

  it('another classifier holding Weir\'s priority on eth0 no longer blocks re-attaching: it is removed', async () => {
    for (const direction of ['ingress', 'egress'] as const) {
      await h.addon.tc.detach({ netnsPath: netnsPath(ns.a), ifname: 'eth0', direction });
      await runChecked(['tc', '-n', ns.a, 'filter', 'add', 'dev', 'eth0', direction, 'pref', '1', 'protocol', 'ip', 'u32', 'match', 'u32', '0', '0', 'classid', ':1']);
    }
    expect(await tcp(ns.b, IP.a, 81)).toBe('ok'); // u32 (a match without actions) passes all IPv4 both ways
    const res = await h.dp.attachEndpoint({ endpointId: EP_A, netnsPath: netnsPath(ns.a), ifname: 'eth0', desired: desiredA });
    expect(res.tampered?.join('\n')).toMatch(/ingress: u32 filter .*priority 1 protocol 0x800.*removed/);
    expect(res.tampered?.join('\n')).toMatch(/egress: u32 filter .*priority 1 protocol 0x800.*removed/);
    for (const hook of await links('eth0')) expect(hook.map((f) => [f.kind, f.handle, f.classid])).toEqual([['bpf', 1, EP_A]]);
    expect(await tcp(ns.b, IP.a, 81)).toMatch(/^fail/);
  }, 60_000);

  it('detaching removes the programs from eth0 and veth0 and leaves no empty clsact behind', async () => {
    expect(await hasClsact('eth0')).toBe(true);
    expect(await hasClsact('veth0')).toBe(true);
    await h.dp.detachEndpoint(EP_A);
    expect(await hasClsact('eth0')).toBe(false);
    expect(await hasClsact('veth0')).toBe(false);
    expect(await tcp(ns.c, IP.a, 81)).toBe('ok');
    expect(await tcp(ns.b, IP.a, 81)).toBe('ok');
  }, 60_000);

  it('a clsact that still holds someone else\'s filter is kept on detach', async () => {
    await h.dp.attachEndpoint({ endpointId: EP_A, netnsPath: netnsPath(ns.a), ifname: 'eth0', addresses: await interfaceAddresses(ns.a), desired: endpoint([]) });
    // A filter behind Weir's (a later priority never runs while Weir's program decides, but it is not Weir's to delete).
    await runChecked(['tc', '-n', ns.a, 'filter', 'add', 'dev', 'eth0', 'egress', 'pref', '5', 'protocol', 'ip', 'u32', 'match', 'u32', '0', '0', 'classid', ':1']);
    await h.dp.detachEndpoint(EP_A);
    const [ingress, egress] = await links('eth0');
    expect(ingress).toEqual([]);
    expect(egress?.length).toBeGreaterThan(0); // u32 reports its hash table and its node
    expect(egress?.every((f) => f.kind === 'u32' && f.priority === 5)).toBe(true);
    expect(await hasClsact('eth0')).toBe(true);
  }, 60_000);
});
