/**
 * Path-MTU discovery on an allowed TCP flow with real packets (issue 13, finding 7).
 *
 * a (Weir, both directions isolated, ingress TCP/8080 from b allowed) — r (a router) — b. The
 * router's link toward b is narrower than both ends' own links (veth ends with different MTUs), so
 * TCP's MSS does not reveal it: a's full-size segments need the router's "fragmentation needed"
 * (IPv4) or "Packet Too Big" (ICMPv6). Those come from the router's address, which no policy
 * allows: they reach a only as `ct-related` (they quote a tracked flow). Were they dropped, the
 * bulk reply would stall in a path-MTU black hole (tcp_mtu_probing is off by default): with an
 * iptables rule dropping "fragmentation needed" in a instead of Weir, b reads 0 of the bytes.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePrivileged } from '../support/privileged.js';
import { NetLab, execInNetns, netnsPath, runChecked } from '../../harness/support/netns.js';
import { counted, endpoint, entry, openHarness, type Harness } from '../../harness/datapath/harness.js';
import { interfaceAddresses } from '../../harness/datapath/pods.js';

const A = { v4: '10.120.1.2', v6: 'fd12:1::2' } as const;
const R_A = { v4: '10.120.1.1', v6: 'fd12:1::1' } as const;
const B = { v4: '10.120.2.2', v6: 'fd12:2::2' } as const;
const R_B = { v4: '10.120.2.1', v6: 'fd12:2::1' } as const;
const ID = { a: 300, b: 400 } as const;
const EP_A = 1;
const BYTES = 300_000;
const NARROW_MTU = 1280;

// b's client: connects to a:8080 and prints how many bytes arrived before the end or 4 s.
const CLIENT = `const n=require('net');let got=0;const s=n.connect({host:process.argv[1],port:8080});
s.on('data',d=>{got+=d.length});const done=()=>{process.stdout.write(String(got)+'\\n');process.exit(0)};
s.on('end',done);s.on('error',done);setTimeout(done,4000);`;
const SERVER = `require('net').createServer(s=>{s.on('error',()=>{});s.end(Buffer.alloc(${BYTES},97))}).listen(8080,'::');process.stdout.write('ready\\n');`;

describePrivileged('path-MTU discovery through Weir on an allowed TCP flow (real packets)', () => {
  const lab = new NetLab('wdpm');
  let h: Harness;
  let ns: Record<'a' | 'r' | 'b', string>;

  const fetchFrom = async (host: string): Promise<number> => Number((await execInNetns(ns.b, ['node', '-e', CLIENT, host], 15_000)).stdout.trim());

  beforeAll(async () => {
    await lab.sweep();
    h = openHarness('pmtu');
    ns = { a: await lab.netns('a'), r: await lab.netns('r'), b: await lab.netns('b') };
    await lab.veth('eth0', 'ra', { ns: ns.a, peerNs: ns.r });
    await lab.veth('eth0', 'rb', { ns: ns.b, peerNs: ns.r });
    // The narrow hop: only the router's end toward b. b's own eth0 keeps 1500 (so does its MSS).
    await runChecked(['ip', '-n', ns.r, 'link', 'set', 'rb', 'mtu', String(NARROW_MTU)]);
    await runChecked(['ip', 'netns', 'exec', ns.r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    const addr = async (n: string, dev: string, v4: string, v6: string) => {
      await runChecked(['ip', '-n', n, 'addr', 'add', `${v4}/24`, 'dev', dev]);
      await runChecked(['ip', '-n', n, 'addr', 'add', `${v6}/64`, 'dev', dev, 'nodad']);
    };
    await addr(ns.a, 'eth0', A.v4, A.v6);
    await addr(ns.r, 'ra', R_A.v4, R_A.v6);
    await addr(ns.r, 'rb', R_B.v4, R_B.v6);
    await addr(ns.b, 'eth0', B.v4, B.v6);
    for (const [n, via] of [[ns.a, R_A], [ns.b, R_B]] as const) {
      await runChecked(['ip', '-n', n, 'route', 'add', 'default', 'via', via.v4]);
      await runChecked(['ip', '-n', n, '-6', 'route', 'add', 'default', 'via', via.v6]);
    }
    const server = lab.spawnInNetns(ns.a, ['node', '-e', SERVER]);
    await new Promise<void>((resolve) => server.stdout?.once('data', () => resolve()));
    await h.dp.syncIpCache([
      { cidr: `${A.v4}/32`, identity: ID.a }, { cidr: `${A.v6}/128`, identity: ID.a },
      { cidr: `${B.v4}/32`, identity: ID.b }, { cidr: `${B.v6}/128`, identity: ID.b },
    ]);
    // Before Weir: the path works (the router's ICMP reaches a).
    expect(await fetchFrom(A.v4)).toBe(BYTES);
    // Forget what a learnt, so the first transfer under Weir needs the router's ICMP again.
    await runChecked(['ip', '-n', ns.a, 'route', 'flush', 'cache']);
    await runChecked(['ip', '-n', ns.a, '-6', 'route', 'flush', 'cache']);
    await h.dp.attachEndpoint({
      endpointId: EP_A, netnsPath: netnsPath(ns.a), ifname: 'eth0', addresses: await interfaceAddresses(ns.a),
      desired: endpoint([entry({ identity: ID.b, protocol: 6, port: 8080, portPrefixLength: 16 })], { ingress: true, egress: true }),
    });
  }, 60_000);

  afterAll(async () => {
    await (h as typeof h | undefined)?.close();
    await lab.cleanup();
  });

  it('IPv4: "fragmentation needed" from the router passes as related and the whole reply arrives', async () => {
    const related = await counted(h, EP_A, 'ct-related');
    expect(await fetchFrom(A.v4)).toBe(BYTES);
    expect(await counted(h, EP_A, 'ct-related')).toBeGreaterThan(related);
    // The router's address itself is not allowed: a new flow from it is still denied.
    expect((await execInNetns(ns.r, ['ping', '-c', '1', '-W', '1', A.v4])).code).not.toBe(0);
  }, 30_000);

  it('IPv6: "Packet Too Big" from the router passes as related and the whole reply arrives', async () => {
    const related = await counted(h, EP_A, 'ct-related');
    expect(await fetchFrom(A.v6)).toBe(BYTES);
    expect(await counted(h, EP_A, 'ct-related')).toBeGreaterThan(related);
  }, 30_000);
});
