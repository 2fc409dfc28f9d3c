/**
 * BPF_PROG_TEST_RUN over synthetic packets: the real weir.bpf.o, real (pinned) maps written by
 * the Datapath driver, programs run by the kernel without attaching them anywhere.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FlowEvent } from '../../agent/src/datapath/codec.js';
import type { PolicyEntry } from '../../agent/src/datapath/desired.js';
import { describePrivileged } from '../support/privileged.js';
import { TC_ACT_OK, TC_ACT_REDIRECT, TC_ACT_SHOT, counted, endpoint, entry, openHarness, testEndpoints, type Harness } from '../../harness/datapath/harness.js';
import { TCP, arpRequest, icmp, ipv4, ipv6, nd, sctp, tcp, udp } from '../../harness/datapath/packets.js';

const POD = '10.0.0.10';
const B = '10.0.0.20'; // identity 400
const C = '10.0.0.30'; // identity 500
const WORLD = '192.0.2.1'; // not in the ipcache
const POD6 = 'fd00::10';
const B6 = 'fd00::20';
const C6 = 'fd00::30';
const ID_B = 400;
const POD_MAC = '02:00:00:00:00:01'; // the source MAC of every frame harness/datapath/packets.ts builds
const ID_C = 500;

describePrivileged('weir.bpf.o verdicts (BPF_PROG_TEST_RUN)', () => {
  let h: Harness;
  let eps: ReturnType<typeof testEndpoints>;

  beforeAll(async () => {
    h = openHarness('verdicts');
    eps = testEndpoints(h, { mac: POD_MAC, ips: [POD, POD6] });
    await h.dp.syncIpCache([
      { cidr: `${B}/32`, identity: ID_B }, { cidr: `${C}/32`, identity: ID_C },
      { cidr: `${B6}/128`, identity: ID_B }, { cidr: 'fd00::30/127', identity: ID_C },
    ]);
  });
  afterAll(async () => {
    // Unset when beforeAll failed first.
    (eps as typeof eps | undefined)?.close();
    await (h as typeof h | undefined)?.close();
  });

  const ep = (entries: PolicyEntry[], iso: { ingress?: boolean; egress?: boolean } = {}, events = false) => eps.ep(entries, iso, events);

  it('default deny only when isolated in that direction', async () => {
    const iso = await ep([], { ingress: true });
    expect(iso.ingress(ipv4(B, POD, tcp(40000, 80)))).toBe(TC_ACT_SHOT);
    expect(iso.egress(ipv4(POD, B, tcp(40001, 80)))).toBe(TC_ACT_OK);
    const open = await ep([]);
    expect(open.ingress(ipv4(B, POD, tcp(40000, 80)))).toBe(TC_ACT_OK);
  });

  it('allow by identity and exact port', async () => {
    const e = await ep([entry({ identity: ID_B, protocol: 6, port: 80, portPrefixLength: 16 })], { ingress: true });
    expect(e.ingress(ipv4(B, POD, tcp(40000, 80)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(C, POD, tcp(40000, 80)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(B, POD, tcp(40000, 81)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(WORLD, POD, tcp(40000, 80)))).toBe(TC_ACT_SHOT);
  });

  it('world identity matches addresses outside the ipcache', async () => {
    const e = await ep([entry({ identity: 1, protocol: 6, port: 443, portPrefixLength: 16 })], { ingress: true });
    expect(e.ingress(ipv4(WORLD, POD, tcp(40000, 443)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(B, POD, tcp(40000, 443)))).toBe(TC_ACT_SHOT);
  });

  it('port range as a masked prefix (8080-8087 = 8080/13)', async () => {
    const e = await ep([entry({ identity: ID_B, protocol: 6, port: 8080, portPrefixLength: 13 })], { ingress: true });
    expect(e.ingress(ipv4(B, POD, tcp(40000, 8080)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(B, POD, tcp(40001, 8087)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(B, POD, tcp(40002, 8088)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(B, POD, tcp(40003, 8079)))).toBe(TC_ACT_SHOT);
  });

  it('protocol: UDP rule does not open TCP; protocol-any opens SCTP', async () => {
    const e = await ep([entry({ identity: ID_B, protocol: 17, port: 53, portPrefixLength: 16 }), entry({ identity: ID_C })], { ingress: true });
    expect(e.ingress(ipv4(B, POD, udp(40000, 53)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(B, POD, tcp(40000, 53)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(C, POD, sctp(40000, 9)))).toBe(TC_ACT_OK);
  });

  it('direction: an ingress allow does not allow egress', async () => {
    const e = await ep([entry({ identity: ID_B, protocol: 6, port: 80, portPrefixLength: 16, direction: 'ingress' })], { ingress: true, egress: true });
    expect(e.egress(ipv4(POD, B, tcp(40000, 80)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(B, POD, tcp(40000, 80)))).toBe(TC_ACT_OK);
  });

  it('deny beats allow at the same precedence; higher precedence wins', async () => {
    const tie = await ep([
      entry({ tier: 'admin', identity: ID_B, verdict: 'allow', precedence: 10 }),
      entry({ tier: 'admin', identity: 0, verdict: 'deny', precedence: 10, ruleId: 2 }),
    ]);
    expect(tie.ingress(ipv4(B, POD, tcp(40000, 80)))).toBe(TC_ACT_SHOT);
    const higher = await ep([
      entry({ tier: 'admin', identity: ID_B, verdict: 'allow', precedence: 11 }),
      entry({ tier: 'admin', identity: 0, verdict: 'deny', precedence: 10 }),
    ]);
    expect(higher.ingress(ipv4(B, POD, tcp(40000, 80)))).toBe(TC_ACT_OK);
    expect(higher.ingress(ipv4(C, POD, tcp(40000, 80)))).toBe(TC_ACT_SHOT);
  });

  it('admin deny beats a network allow; admin allow beats isolation', async () => {
    const e = await ep([
      entry({ tier: 'admin', identity: ID_B, protocol: 6, port: 22, portPrefixLength: 16, verdict: 'deny' }),
      entry({ tier: 'admin', identity: ID_C, protocol: 6, port: 22, portPrefixLength: 16, verdict: 'allow' }),
      entry({ tier: 'network', identity: ID_B }),
    ], { ingress: true });
    expect(e.ingress(ipv4(B, POD, tcp(40000, 22)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(B, POD, tcp(40000, 23)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(C, POD, tcp(40000, 22)))).toBe(TC_ACT_OK);
  });

  it('pass falls through to the network tier', async () => {
    const e = await ep([
      entry({ tier: 'admin', identity: 0, verdict: 'pass', precedence: 5 }),
      entry({ tier: 'admin', identity: 0, verdict: 'allow', precedence: 4 }),
      entry({ tier: 'network', identity: ID_B, protocol: 6, port: 80, portPrefixLength: 16 }),
    ], { ingress: true });
    expect(e.ingress(ipv4(B, POD, tcp(40000, 80)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(B, POD, tcp(40000, 81)))).toBe(TC_ACT_SHOT);
  });

  it('baseline decides only when nothing else did', async () => {
    const notIsolated = await ep([entry({ tier: 'baseline', identity: ID_B, verdict: 'deny' })]);
    expect(notIsolated.ingress(ipv4(B, POD, tcp(40000, 80)))).toBe(TC_ACT_SHOT);
    expect(notIsolated.ingress(ipv4(C, POD, tcp(40000, 80)))).toBe(TC_ACT_OK);
    const networkAllows = await ep([
      entry({ tier: 'baseline', identity: ID_B, verdict: 'deny' }),
      entry({ tier: 'network', identity: ID_B }),
    ], { ingress: true });
    expect(networkAllows.ingress(ipv4(B, POD, tcp(40000, 80)))).toBe(TC_ACT_OK);
    const isolated = await ep([entry({ tier: 'baseline', identity: ID_C, verdict: 'allow' })], { ingress: true });
    expect(isolated.ingress(ipv4(C, POD, tcp(40000, 80)))).toBe(TC_ACT_SHOT);
  });

  it('replies to an allowed flow pass on conntrack; a new inbound flow does not', async () => {
    const e = await ep([entry({ direction: 'egress', identity: ID_B, protocol: 6, port: 80, portPrefixLength: 16 })], { ingress: true, egress: true });
    expect(e.egress(ipv4(POD, B, tcp(41000, 80, TCP.syn)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(B, POD, tcp(80, 41000, TCP.syn | TCP.ack)))).toBe(TC_ACT_OK);
    expect(e.egress(ipv4(POD, B, tcp(41000, 80, TCP.ack)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(B, POD, tcp(80, 41001, TCP.syn | TCP.ack)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(B, POD, tcp(41000, 80, TCP.syn)))).toBe(TC_ACT_SHOT);
    // ICMP echo: the request is allowed out by an ICMP rule, the reply comes back on conntrack.
    const ping = await ep([entry({ direction: 'egress', identity: ID_B, protocol: 1 })], { ingress: true, egress: true });
    expect(ping.egress(ipv4(POD, B, icmp(8, 77)))).toBe(TC_ACT_OK);
    expect(ping.ingress(ipv4(B, POD, icmp(0, 77)))).toBe(TC_ACT_OK);
    expect(ping.ingress(ipv4(B, POD, icmp(8, 78)))).toBe(TC_ACT_SHOT);
  });

  it('a policy generation bump drops an established flow the new policy no longer allows', async () => {
    const allow = entry({ identity: ID_B, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 9 });
    const keep = entry({ identity: ID_C, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 10 });
    const e = await ep([allow, keep], { ingress: true });
    expect(e.ingress(ipv4(B, POD, tcp(42000, 80, TCP.syn)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(C, POD, tcp(42001, 80, TCP.syn)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(B, POD, tcp(42000, 80, TCP.ack)))).toBe(TC_ACT_OK);
    await h.dp.updateEndpoint({ endpointId: e.id, desired: endpoint([keep], { ingress: true }) });
    expect(e.ingress(ipv4(B, POD, tcp(42000, 80, TCP.ack)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(B, POD, tcp(42000, 80, TCP.ack)))).toBe(TC_ACT_SHOT); // the revocation marker drops it
    expect(e.ingress(ipv4(C, POD, tcp(42001, 80, TCP.ack)))).toBe(TC_ACT_OK);
    const counters = await h.dp.readCounters();
    expect(counters.find((c) => c.endpointId === e.id && c.reason === 'revoked')?.packets).toBe(2n);
  });

  it('ARP and IPv6 neighbour discovery pass on a fully isolated endpoint', async () => {
    const e = await ep([], { ingress: true, egress: true });
    expect(e.ingress(arpRequest(B, POD))).toBe(TC_ACT_OK);
    expect(e.egress(arpRequest(POD, B))).toBe(TC_ACT_OK);
    for (const type of [133, 134, 135, 136] as const) {
      expect(e.ingress(nd(type, B6, POD6, { target: type === 135 ? POD6 : B6 }))).toBe(TC_ACT_OK);
    }
    // The pod's own solicitations and advertisements (its MAC, its address) go out.
    expect(e.egress(nd(133, 'fe80::1', 'ff02::2', { llMac: POD_MAC }))).toBe(TC_ACT_OK);
    expect(e.egress(nd(135, POD6, B6, { target: B6, llMac: POD_MAC }))).toBe(TC_ACT_OK);
    expect(e.egress(nd(135, '::', 'ff02::1:ff00:10', { target: POD6 }))).toBe(TC_ACT_OK); // duplicate address detection
    expect(e.egress(nd(136, POD6, B6, { target: POD6, llMac: POD_MAC }))).toBe(TC_ACT_OK);
    // MLDv2 report behind a hop-by-hop header (router alert).
    expect(e.egress(ipv6(POD6, 'ff02::16', icmp(143, 0, true), { hopByHop: true }))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv6(B6, POD6, icmp(128, 1, true)))).toBe(TC_ACT_SHOT);
  });

  it('IPv6: identity via the ipcache (a /127 covers C6), extension headers skipped', async () => {
    const e = await ep([
      entry({ identity: ID_B, protocol: 6, port: 443, portPrefixLength: 16 }),
      entry({ identity: ID_C, protocol: 17, port: 5353, portPrefixLength: 16 }),
    ], { ingress: true });
    expect(e.ingress(ipv6(B6, POD6, tcp(40000, 443)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv6(B6, POD6, tcp(40001, 443), { hopByHop: true }))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv6(C6, POD6, tcp(40000, 443)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv6(C6, POD6, udp(40000, 5353)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv6('fd00::31', POD6, udp(40000, 5353)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv6('fd00::32', POD6, udp(40000, 5353)))).toBe(TC_ACT_SHOT);
  });

  it('SCTP is its own protocol, not TCP', async () => {
    const e = await ep([entry({ identity: ID_B, protocol: 132, port: 9000, portPrefixLength: 16 })], { ingress: true });
    expect(e.ingress(ipv4(B, POD, sctp(40000, 9000)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(B, POD, tcp(40000, 9000)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv6(B6, POD6, sctp(40000, 9000)))).toBe(TC_ACT_OK);
  });

  it('malformed packets and unconfigured endpoints are dropped (fail closed)', async () => {
    const e = await ep([]);
    const truncated = ipv4(B, POD, tcp(1, 2)).subarray(0, 14 + 20 + 4);
    expect(e.ingress(truncated)).toBe(TC_ACT_SHOT);
    const stranger = h.dp.loadEndpointObject(999);
    try {
      expect(stranger.program('weir_ingress').testRun({ data: ipv4(B, POD, tcp(1, 2)) }).retval).toBe(TC_ACT_SHOT);
      // Fail closed means everything, ARP too: the programs are attached only after the config exists.
      expect(stranger.program('weir_ingress').testRun({ data: arpRequest(B, POD) }).retval).toBe(TC_ACT_SHOT);
    } finally {
      stranger.close();
    }
  });

  it('flow events carry the deciding rule', async () => {
    const got: FlowEvent[] = [];
    const sub = h.dp.events((ev) => got.push(ev));
    try {
      const e = await ep([
        entry({ identity: ID_B, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 41 }),
        entry({ tier: 'admin', identity: ID_C, verdict: 'deny', ruleId: 42 }),
      ], { ingress: true }, true);
      expect(e.ingress(ipv4(B, POD, tcp(43000, 80)))).toBe(TC_ACT_OK);
      expect(e.ingress(ipv4(B, POD, tcp(43000, 80, TCP.ack)))).toBe(TC_ACT_OK); // established: no event
      expect(e.ingress(ipv4(C, POD, tcp(43001, 80)))).toBe(TC_ACT_SHOT);
      expect(e.ingress(ipv4(WORLD, POD, udp(43002, 53)))).toBe(TC_ACT_SHOT);
      const deadline = Date.now() + 5000;
      while (got.filter((g) => g.endpointId === e.id).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const mine = got.filter((g) => g.endpointId === e.id);
      expect(mine.map((g) => [g.verdict, g.reason, g.ruleId, g.tier, g.source, g.destinationPort])).toEqual([
        ['allow', 'policy-allow', 41, 'network', B, 80],
        ['deny', 'policy-deny', 42, 'admin', C, 80],
        ['deny', 'default-deny', undefined, undefined, WORLD, 53],
      ]);
      expect(mine[0]?.remoteIdentity).toBe(ID_B);
      expect(mine[2]?.remoteIdentity).toBe(1);
    } finally {
      await sub.stop();
    }
  });

  it('ingress shaping redirects allowed packets to the IFB from the endpoint config', async () => {
    const e = await ep([]);
    // Point the endpoint at a made-up IFB ifindex directly: no device is needed for a test run.
    const { encodeEndpointConfig, encodeEndpointId } = await import('../../agent/src/datapath/codec.js');
    const obj = e.obj;
    obj.map('weir_endpoints').update(encodeEndpointId(e.id), encodeEndpointConfig({
      generation: 1, ifbIfindex: 1, isolatedIngress: false, isolatedEgress: false, eventsIngress: false, eventsEgress: false,
      addresses: { mac: POD_MAC, ips: [POD] },
    }));
    expect(e.ingress(ipv4(B, POD, tcp(44000, 80)))).toBe(TC_ACT_REDIRECT);
    expect(e.egress(ipv4(POD, B, tcp(44001, 80)))).toBe(TC_ACT_OK);
  });

  it('flow events are budgeted per endpoint: a flood is suppressed and counted, the packets still counted', async () => {
    const e = await ep([], { ingress: true });
    const quiet = await ep([], { ingress: true });
    // 20,000 drops in one burst: the per-CPU bucket (burst 200, 100/s) lets only a few hundred through.
    const r = e.obj.program('weir_ingress').testRun({ data: ipv4(WORLD, POD, udp(1, 2)), repeat: 20000 });
    expect(r.retval).toBe(TC_ACT_SHOT);
    const suppressed = await counted(h, e.id, 'events-suppressed');
    expect(suppressed).toBeGreaterThan(19000n);
    expect(suppressed).toBeLessThan(20000n);
    expect(await counted(h, e.id, 'default-deny')).toBe(20000n);
    // Another endpoint's budget is its own.
    expect(quiet.ingress(ipv4(WORLD, POD, udp(1, 2)))).toBe(TC_ACT_SHOT);
    expect(await counted(h, quiet.id, 'events-suppressed')).toBe(0n);
  });
});
