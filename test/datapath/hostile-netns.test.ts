/**
 * Real packets from a hostile pod (issue 13): macvlan "pods" in netns, Weir attached to the
 * attacker `a` only. Raw frames are sent from an AF_PACKET socket in a's netns (test/datapath/
 * rawframe.c, what CAP_NET_RAW allows) and counted by a tap in the receiver `c`, which runs no
 * programs. Every attack frame is first sent before Weir is attached, to prove it does reach c
 * (so "0 after" means Weir dropped it, not that the frame was broken).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePrivileged } from '../support/privileged.js';
import { NetLab, execInNetns, netnsPath } from '../../harness/support/netns.js';
import { endpoint, entry, openHarness, type Harness } from '../../harness/datapath/harness.js';
import { arp, fromMac, ipv4, vlanTagged } from '../../harness/datapath/packets.js';
import { buildRawframe, deliveredFrames, markedUdp } from './rawframes.js';
import { interfaceAddresses, macvlanPods } from '../../harness/datapath/pods.js';

const PROBE = 'test/datapath/probe.mjs';
const IP = { a: '10.96.0.1', b: '10.96.0.2', c: '10.96.0.3' } as const;
const ID = { a: 300, b: 400, c: 500 } as const;
const EP_A = 1;
const ALLOWED_PORT = 7000;
const DENIED_PORT = 7001;
const ETH_P_ARP = 0x0806;
const ETH_P_IP = 0x0800;

describePrivileged('hostile pod with real packets (raw sockets, spoofing, revocation)', () => {
  const lab = new NetLab('wdph');
  const tool = `/tmp/weir-rawframe-${process.pid}`;
  let h: Harness;
  let ns: Record<'a' | 'b' | 'c', string>;
  const mac = { a: '', b: '', c: '' };

  const marked = markedUdp;
  /** A frame from a to c at L2 (a's MAC unless spoofed). */
  const toC = (frame: Buffer, src = mac.a): Buffer => {
    const f = fromMac(frame, src);
    Buffer.from(mac.c.replaceAll(':', ''), 'hex').copy(f, 0);
    return f;
  };

  /** How many of `frames` (each sent once from a with skb->protocol `proto`) c sees with `marker`. */
  const delivered = (frames: Array<{ frame: Buffer; proto: number }>, marker: Buffer): Promise<number> =>
    deliveredFrames((n, argv) => lab.spawnInNetns(n, argv), tool, { ns: ns.a, ifname: 'eth0' }, { ns: ns.c, ifname: 'eth0' }, frames, marker);

  beforeAll(async () => {
    await lab.sweep();
    buildRawframe(tool);
    h = openHarness('hostile-netns');
    ({ ns } = await macvlanPods(lab, { a: { ipv4: IP.a }, b: { ipv4: IP.b }, c: { ipv4: IP.c } }));
    for (const p of ['a', 'b', 'c'] as const) mac[p] = (await interfaceAddresses(ns[p])).mac ?? '';
    await h.dp.syncIpCache((['a', 'b', 'c'] as const).map((p) => ({ cidr: `${IP[p]}/32`, identity: ID[p] })));
  }, 60_000);

  afterAll(async () => {
    await (h as typeof h | undefined)?.close(); // unset when beforeAll failed first
    await lab.cleanup();
    execFileSync('rm', ['-f', tool]);
  });

  // Each attack: the frame, the skb->protocol it is sent with, and whether policy would allow it
  // if it were judged honestly (only the control frame is).
  const attacks = () => {
    const legit = ipv4(IP.a, IP.c, marked('weir-legit', 5000, ALLOWED_PORT));
    return {
      control: { frame: toC(legit), proto: ETH_P_IP, marker: 'weir-legit' },
      // finding 1: IPv4 to a denied port, skb->protocol says ARP
      forgedEthertype: { frame: toC(ipv4(IP.a, IP.c, marked('weir-forged', 5000, DENIED_PORT))), proto: ETH_P_ARP, marker: 'weir-forged' },
      vlan: { frame: vlanTagged(toC(ipv4(IP.a, IP.c, marked('weir-vlan', 5000, ALLOWED_PORT))), 10), proto: 0x8100, marker: 'weir-vlan' },
      spoofedIp: { frame: toC(ipv4(IP.b, IP.c, marked('weir-spoofip', 5000, ALLOWED_PORT))), proto: ETH_P_IP, marker: 'weir-spoofip' },
      spoofedMac: { frame: toC(ipv4(IP.a, IP.c, marked('weir-spoofmac', 5000, ALLOWED_PORT)), mac.b), proto: ETH_P_IP, marker: 'weir-spoofmac' },
    };
  };

  it('before Weir is attached, every attack frame reaches the receiver (the attacks work)', async () => {
    for (const [name, a] of Object.entries(attacks())) {
      expect(await delivered([a.frame, a.frame].map((frame) => ({ frame, proto: a.proto })), Buffer.from(a.marker)), name).toBe(2);
    }
    // ARP poisoning: "b is at a's MAC", sent to c.
    const poison = toC(arp(2, IP.b, IP.c, mac.a));
    expect(await delivered([{ frame: poison, proto: ETH_P_ARP }], poison.subarray(14 + 8, 14 + 18))).toBe(1);
  }, 60_000);

  it('with Weir on the attacker: forged ethertype, VLAN tag, spoofed IP, spoofed MAC and ARP poisoning are dropped', async () => {
    await h.dp.attachEndpoint({
      endpointId: EP_A, netnsPath: netnsPath(ns.a), ifname: 'eth0', addresses: await interfaceAddresses(ns.a),
      desired: endpoint([entry({ direction: 'egress', identity: ID.c, protocol: 17, port: ALLOWED_PORT, portPrefixLength: 16 })], { egress: true }),
    });
    const a = attacks();
    // The control frame is judged as IPv4 and allowed: the sender still works.
    expect(await delivered([{ frame: a.control.frame, proto: ETH_P_IP }, { frame: a.control.frame, proto: ETH_P_ARP }], Buffer.from(a.control.marker))).toBe(2);
    for (const [name, x] of Object.entries(a)) {
      if (name === 'control') continue;
      expect(await delivered([{ frame: x.frame, proto: x.proto }], Buffer.from(x.marker)), name).toBe(0);
    }
    const poison = toC(arp(2, IP.b, IP.c, mac.a));
    expect(await delivered([{ frame: poison, proto: ETH_P_ARP }], poison.subarray(14 + 8, 14 + 18))).toBe(0);
    const counters = (await h.dp.readCounters()).filter((c) => c.endpointId === EP_A);
    const count = (reason: string): bigint => counters.find((c) => c.reason === reason)?.packets ?? 0n;
    expect(count('default-deny')).toBeGreaterThanOrEqual(1n); // the forged-ethertype frame, judged as IPv4
    expect(count('l2-refused')).toBeGreaterThanOrEqual(1n);
    expect(count('spoofed')).toBeGreaterThanOrEqual(3n);
    // Ordinary traffic of the attacker pod is unaffected: ARP resolution and the allowed UDP port.
    expect((await execInNetns(ns.a, ['ping', '-c', '1', '-W', '1', IP.c])).code).not.toBe(0); // ICMP not allowed by its egress policy
    await h.dp.detachEndpoint(EP_A);
  }, 60_000);

  it('a revoked flow stays revoked although the pod keeps sending on it (finding 6)', async () => {
    // a serves TCP 8080 and pushes a byte every 100 ms; ingress from b allowed, egress open.
    const server = lab.spawnInNetns(ns.a, ['node', PROBE, 'push', '8080']);
    await new Promise<void>((resolve) => server.stdout?.once('data', () => resolve()));
    const allowB = entry({ identity: ID.b, protocol: 6, port: 8080, portPrefixLength: 16 });
    await h.dp.attachEndpoint({ endpointId: EP_A, netnsPath: netnsPath(ns.a), ifname: 'eth0', addresses: await interfaceAddresses(ns.a), desired: endpoint([allowB], { ingress: true }) });
    const chat = lab.spawnInNetns(ns.b, ['node', PROBE, 'chat', IP.a, '8080', '7000']);
    const lines: string[] = [];
    chat.stdout?.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    const exited = new Promise<void>((resolve) => chat.once('exit', () => resolve()));
    // Revoke once the exchange is under way (node start-up on a loaded machine takes a while).
    const pongs = (): number => lines.filter((l) => l.startsWith('P ')).length;
    for (const deadline = Date.now() + 5000; pongs() < 6 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
    const revokedAt = lines.filter((l) => /^[TP] /.test(l)).map((l) => Number(l.split(' ')[1])).reduce((m, x) => Math.max(m, x), 0);
    await h.dp.updateEndpoint({ endpointId: EP_A, desired: endpoint([], { ingress: true }) });
    await exited;
    const after = (kind: string): number => lines.filter((l) => l.startsWith(`${kind} `) && Number(l.split(' ')[1]) > revokedAt + 300).length;
    const before = lines.filter((l) => l.startsWith('P ') && Number(l.split(' ')[1]) <= revokedAt).length;
    expect(before, 'b was answered before the revocation').toBeGreaterThan(5);
    // The pod keeps pushing on the flow (egress is open, so before the fix its first mid-stream
    // packet re-created the flow and b's bytes passed again as "replies"). Now the revocation
    // marker drops the flow both ways: nothing of it passes in either direction.
    expect(after('T'), 'a\'s pushes crossed after the revocation').toBe(0);
    expect(after('P'), 'b reached a after the revocation').toBe(0);
    // Both sides kept trying: a's pushes (egress) and b's bytes (ingress) were dropped as revoked.
    const counters = (await h.dp.readCounters()).filter((c) => c.endpointId === EP_A && c.reason === 'revoked');
    expect(counters[0]?.packets ?? 0n).toBeGreaterThan(10n);
    server.kill('SIGKILL');
    await h.dp.detachEndpoint(EP_A);
  }, 60_000);

  it('a 4,000-byte UDP datagram to an allowed port gets through both ways (fragments tracked from the first)', async () => {
    const server = lab.spawnInNetns(ns.a, ['node', PROBE, 'serve', '', '5353']);
    await new Promise<void>((resolve) => server.stdout?.once('data', () => resolve()));
    await h.dp.attachEndpoint({
      endpointId: EP_A, netnsPath: netnsPath(ns.a), ifname: 'eth0', addresses: await interfaceAddresses(ns.a),
      desired: endpoint([entry({ identity: ID.b, protocol: 17, port: 5353, portPrefixLength: 16 })], { ingress: true, egress: true }),
    });
    const udp = async (bytes: number): Promise<string> => (await execInNetns(ns.b, ['node', PROBE, 'udp', IP.a, '5353', String(bytes)])).stdout.trim();
    expect(await udp(100)).toBe('ok');
    expect(await udp(4000)).toBe('ok'); // 3 fragments in, 3 fragments of the echo out
    const counters = (await h.dp.readCounters()).filter((c) => c.endpointId === EP_A);
    // The echo's later fragments left as replies of the tracked flow, not as new flows.
    expect(counters.find((c) => c.reason === 'ct-reply')?.packets ?? 0n).toBeGreaterThanOrEqual(4n);
    // (No assertion on default-deny: the isolated endpoint also drops the link's own IPv6 chatter,
    // whenever the kernel sends it. The 'ok' above already proves every fragment crossed both ways.)
    server.kill('SIGKILL');
    await h.dp.detachEndpoint(EP_A);
  }, 60_000);
});
