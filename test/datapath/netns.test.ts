/**
 * Real packets: three "pods" (network namespaces) on macvlan (bridge mode) over a veth uplink
 * in a "node" namespace; Weir's programs attached inside the pod namespaces by the Datapath
 * driver through the native addon.
 */
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeEndpointConfig, encodeCounterKey, sumCounterValues } from '../../agent/src/datapath/codec.js';
import { TcAttachProbe } from '../../agent/src/endpoints/probe.js';
import { describePrivileged } from '../support/privileged.js';
import { NetLab, execInNetns, listNetns, netnsPath, runChecked } from '../../harness/support/netns.js';
import { endpoint, entry, openHarness, type Harness } from '../../harness/datapath/harness.js';
import { interfaceAddresses } from '../../harness/datapath/pods.js';

const PROBE = 'test/datapath/probe.mjs';
const IP = { a: '10.99.0.1', b: '10.99.0.2', c: '10.99.0.3' } as const;
const IP6 = { a: 'fd00:99::1', b: 'fd00:99::2', c: 'fd00:99::3' } as const;
const ID = { a: 300, b: 400, c: 500 } as const;
const EP = { a: 1, b: 2 } as const;

describePrivileged('datapath with real packets (macvlan pods in netns)', () => {
  const lab = new NetLab('wdpn');
  let h: Harness;
  const ns = { node: '', a: '', b: '', c: '' };

  async function tcp(from: keyof typeof IP, to: string, port: number): Promise<string> {
    return (await execInNetns(ns[from], ['node', PROBE, 'tcp', to, String(port)])).stdout.trim();
  }
  async function udp(from: keyof typeof IP, to: string, port: number): Promise<string> {
    return (await execInNetns(ns[from], ['node', PROBE, 'udp', to, String(port)])).stdout.trim();
  }
  async function ping(from: keyof typeof IP, to: string): Promise<boolean> {
    return (await execInNetns(ns[from], ['ping', '-c', '1', '-W', '1', to])).code === 0;
  }

  beforeAll(async () => {
    await lab.sweep();
    h = openHarness('netns');
    ns.node = await lab.netns('node');
    await lab.veth('up0', 'up1', { ns: ns.node });
    for (const pod of ['a', 'b', 'c'] as const) {
      ns[pod] = await lab.netns(pod);
      await runChecked(['ip', '-n', ns.node, 'link', 'add', `mv${pod}`, 'link', 'up0', 'type', 'macvlan', 'mode', 'bridge']);
      await runChecked(['ip', '-n', ns.node, 'link', 'set', `mv${pod}`, 'netns', ns[pod]]);
      await runChecked(['ip', '-n', ns[pod], 'link', 'set', `mv${pod}`, 'name', 'eth0']);
      await runChecked(['ip', '-n', ns[pod], 'addr', 'add', `${IP[pod]}/24`, 'dev', 'eth0']);
      await runChecked(['ip', '-n', ns[pod], 'addr', 'add', `${IP6[pod]}/64`, 'dev', 'eth0', 'nodad']);
      await runChecked(['ip', '-n', ns[pod], 'link', 'set', 'eth0', 'up']);
      const server = lab.spawnInNetns(ns[pod], ['node', PROBE, 'serve', '80,81', '5353']);
      await new Promise<void>((resolve, reject) => {
        server.stdout?.once('data', () => resolve());
        server.once('exit', (code) => reject(new Error(`probe server exited ${code}`)));
      });
    }
    await h.dp.syncIpCache((['a', 'b', 'c'] as const).flatMap((p) => [
      { cidr: `${IP[p]}/32`, identity: ID[p] }, { cidr: `${IP6[p]}/128`, identity: ID[p] },
    ]));
  }, 60_000);

  afterAll(async () => {
    await (h as typeof h | undefined)?.close(); // unset when beforeAll failed first
    await lab.cleanup();
  });

  it('pods talk before any program is attached', async () => {
    expect(await ping('a', IP.b)).toBe(true);
    expect(await tcp('a', IP.b, 80)).toBe('ok');
  });

  it('default deny blocks ping and TCP both ways', async () => {
    const r = await h.dp.attachEndpoint({
      endpointId: EP.a, netnsPath: netnsPath(ns.a), ifname: 'eth0', desired: endpoint([], { ingress: true, egress: true }), addresses: await interfaceAddresses(ns.a),
    });
    expect(r.shapingMode).toBe('none');
    expect(await ping('a', IP.b)).toBe(false);
    expect(await ping('b', IP.a)).toBe(false);
    expect(await tcp('a', IP.b, 80)).toMatch(/^fail/);
    expect(await tcp('b', IP.a, 80)).toMatch(/^fail/);
    // b and c are unaffected between themselves.
    expect(await tcp('b', IP.c, 80)).toBe('ok');
  });

  it('an ingress allow for TCP/80 from one identity lets exactly that through, replies included', async () => {
    await h.dp.updateEndpoint({
      endpointId: EP.a,
      desired: endpoint([
        entry({ identity: ID.b, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 1 }),
        entry({ identity: ID.b, protocol: 17, port: 5353, portPrefixLength: 16, ruleId: 2 }),
      ], { ingress: true, egress: true }),
    });
    expect(await tcp('b', IP.a, 80)).toBe('ok'); // SYN in by policy, SYN-ACK/data out by conntrack
    expect(await tcp('b', IP.a, 81)).toMatch(/^fail/);
    expect(await tcp('c', IP.a, 80)).toMatch(/^fail/);
    expect(await tcp('a', IP.b, 80)).toMatch(/^fail/); // egress still isolated
    expect(await udp('b', IP.a, 5353)).toBe('ok');
    expect(await udp('c', IP.a, 5353)).toMatch(/^fail/);
    expect(await ping('b', IP.a)).toBe(false);
  });

  it('a restarted agent adopts pinned state without detaching: traffic keeps its verdicts', async () => {
    const { Datapath } = await import('../../agent/src/datapath/driver.js');
    const before = await h.addon.tc.query({ netnsPath: netnsPath(ns.a), ifname: 'eth0', direction: 'ingress' });
    const restarted = new Datapath({ addon: h.addon, objectPath: 'build/bpf/weir.bpf.o', pinRoot: h.pinRoot });
    try {
      const adopted = await restarted.adoptExisting();
      expect(adopted).toEqual([{ endpointId: EP.a, generation: 2, policyEntries: 2, ingressShaped: false }]);
      expect(await h.addon.tc.query({ netnsPath: netnsPath(ns.a), ifname: 'eth0', direction: 'ingress' })).toEqual(before);
      expect(await tcp('b', IP.a, 80)).toBe('ok');
      expect(await tcp('c', IP.a, 80)).toMatch(/^fail/);
    } finally {
      await restarted.close();
    }
  });

  it('IPv6: the same rules by identity, neighbour discovery keeps working', async () => {
    expect(await tcp('b', IP6.a, 80)).toBe('ok');
    expect(await tcp('c', IP6.a, 80)).toMatch(/^fail/);
    expect(await udp('b', IP6.a, 5353)).toBe('ok');
    expect(await ping('b', IP6.a)).toBe(false);
  });

  it('both ends enforced: b isolated on egress needs its own allow', async () => {
    await h.dp.attachEndpoint({
      endpointId: EP.b, netnsPath: netnsPath(ns.b), ifname: 'eth0', addresses: await interfaceAddresses(ns.b),
      desired: endpoint([entry({ direction: 'egress', identity: ID.a, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 3 })], { egress: true }),
    });
    expect(await tcp('b', IP.a, 80)).toBe('ok');
    expect(await udp('b', IP.a, 5353)).toMatch(/^fail/);
    expect(await tcp('b', IP.c, 80)).toMatch(/^fail/);
    expect(await tcp('c', IP.b, 80)).toBe('ok'); // b's ingress is open
  });

  it('one verified program serves every endpoint, told apart by the filter classid; an unknown classid drops', async () => {
    const progOf = async (pod: 'a' | 'b', direction: 'ingress' | 'egress') =>
      (await h.addon.tc.query({ netnsPath: netnsPath(ns[pod]), ifname: 'eth0', direction }))?.progId;
    expect(await progOf('a', 'ingress')).toBeDefined();
    expect(await progOf('a', 'ingress')).toBe(await progOf('b', 'ingress'));
    expect(await progOf('a', 'egress')).toBe(await progOf('b', 'egress'));
    // c gets the shared programs under an endpoint id with no config: fail closed, both ways.
    const shared = h.addon.openObject({ path: 'build/bpf/weir.bpf.o', pinRoot: h.pinRoot, constants: { endpoint_id: 0 } });
    try {
      for (const direction of ['ingress', 'egress'] as const) {
        await h.addon.tc.attach({ netnsPath: netnsPath(ns.c), ifname: 'eth0', direction, program: shared.program(`weir_${direction}`), replace: true, classid: 77 });
      }
      expect(await tcp('c', IP.b, 80)).toMatch(/^fail/);
      expect(await ping('c', IP.b)).toBe(false);
      const counted = shared.map('weir_counters').lookupPerCpu(encodeCounterKey(77, 'no-endpoint')); // [] when absent
      expect(sumCounterValues(counted).packets).toBeGreaterThan(0n);
      // A program that is not the node's in a's slot (same code, another load) is told apart by id.
      const probe = new TcAttachProbe(h.addon.tc);
      expect(await probe.check(netnsPath(ns.a), 'eth0', h.dp.programIds())).toEqual({ kind: 'attached' });
      await h.addon.tc.attach({ netnsPath: netnsPath(ns.a), ifname: 'eth0', direction: 'egress', program: shared.program('weir_egress'), replace: true, classid: EP.a });
      expect(await probe.check(netnsPath(ns.a), 'eth0', h.dp.programIds())).toEqual({ kind: 'missing', directions: ['egress'], foreign: ['egress'] });
    } finally {
      shared.close();
    }
    for (const direction of ['ingress', 'egress'] as const) await h.addon.tc.detach({ netnsPath: netnsPath(ns.c), ifname: 'eth0', direction });
    expect(await tcp('c', IP.b, 80)).toBe('ok');
  });

  it('detaching restores connectivity and removes the endpoint from the maps', async () => {
    await h.dp.detachEndpoint(EP.a);
    await h.dp.detachEndpoint(EP.b);
    expect(await ping('a', IP.b)).toBe(true);
    expect(await tcp('c', IP.a, 81)).toBe('ok');
    expect(await tcp('a', IP6.b, 80)).toBe('ok');
    expect(await h.addon.tc.query({ netnsPath: netnsPath(ns.a), ifname: 'eth0', direction: 'ingress' })).toBeUndefined();
    expect(await h.addon.tc.query({ netnsPath: netnsPath(ns.b), ifname: 'eth0', direction: 'egress' })).toBeUndefined();
    const obj = h.addon.openObject({ path: 'build/bpf/weir.bpf.o', pinRoot: h.pinRoot, constants: { endpoint_id: 0 } });
    try {
      expect(obj.map('weir_policy').keys()).toHaveLength(0);
      const configured = obj.map('weir_endpoints').keys().filter((k) => decodeEndpointConfig(obj.map('weir_endpoints').lookup(k) ?? Buffer.alloc(16)) !== undefined);
      expect(configured).toHaveLength(0);
      expect(obj.map('weir_ct').keys()).toHaveLength(0);
    } finally {
      obj.close();
    }
  });

  it('nothing leaks after teardown', async () => {
    const pinRoot = h.pinRoot;
    await h.close();
    await lab.cleanup();
    expect(existsSync(pinRoot)).toBe(false);
    expect((await listNetns()).filter((n) => n.startsWith(`${lab.tag}-`))).toEqual([]);
    // This process's pin roots only: other suites (hostile-netns) and other runs on the machine have their own.
    expect(readdirSync('/sys/fs/bpf').filter((n) => n.startsWith('weir-test-netns-') && n.endsWith(`-${process.pid}`))).toEqual([]);
  });
});
