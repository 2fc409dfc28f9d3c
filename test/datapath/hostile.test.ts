/**
 * BPF_PROG_TEST_RUN against what a hostile pod sends (issue 13): forged and tagged frames,
 * spoofed sources, ARP/ND poisoning, revocation undone by a mid-stream packet, conntrack floods.
 * Every new drop reason is asserted through the per-endpoint counters, not only the verdict.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePrivileged } from '../support/privileged.js';
import { TC_ACT_OK, TC_ACT_SHOT, counted, endpoint, entry, openHarness, testEndpoints, type Harness } from '../../harness/datapath/harness.js';
import { PROTO, TCP, arp, fromMac, icmp, icmpError, ipv4, ipv6, nd, payload, tcp, udp, vlanTagged, withEthertype } from '../../harness/datapath/packets.js';

const POD = '10.0.0.10';
const POD6 = 'fd00::10';
const POD_MAC = '02:00:00:00:00:01'; // the source MAC of every frame harness/datapath/packets.ts builds
const VICTIM = '10.0.0.20'; // identity 400
const VICTIM6 = 'fd00::20';
const VICTIM_MAC = '02:00:00:00:00:99';
const PEER = '10.0.0.30'; // identity 500
const ID_VICTIM = 400;
const ID_PEER = 500;

describePrivileged('hostile pods (BPF_PROG_TEST_RUN)', () => {
  let h: Harness;
  let eps: ReturnType<typeof testEndpoints>;

  beforeAll(async () => {
    h = openHarness('hostile');
    eps = testEndpoints(h, { mac: POD_MAC, ips: [POD, POD6] });
    await h.dp.syncIpCache([{ cidr: `${VICTIM}/32`, identity: ID_VICTIM }, { cidr: `${PEER}/32`, identity: ID_PEER }]);
  });
  afterAll(async () => {
    // Unset when beforeAll failed first.
    (eps as typeof eps | undefined)?.close();
    await (h as typeof h | undefined)?.close();
  });

  it('the ethertype comes from the frame: VLAN tags and unknown ethertypes are refused (l2-refused)', async () => {
    const e = await eps.ep([]); // not isolated: only the frame's shape can get these dropped
    const ok = ipv4(POD, PEER, udp(4000, 53));
    expect(e.egress(ok)).toBe(TC_ACT_OK);
    for (const frame of [vlanTagged(ok, 7), withEthertype(ok, 0x88a8), withEthertype(ok, 0x88cc), withEthertype(ok, 0x0042)]) {
      expect(e.egress(frame)).toBe(TC_ACT_SHOT);
      expect(e.ingress(frame)).toBe(TC_ACT_SHOT);
    }
    expect(await counted(h, e.id, 'l2-refused')).toBe(8n);
    // An IPv4 packet in a frame that says ARP is parsed as ARP (the frame decides), and an ARP
    // body that is not Ethernet/IPv4 is refused on egress.
    expect(e.egress(withEthertype(ok, 0x0806))).toBe(TC_ACT_SHOT);
    expect(await counted(h, e.id, 'l2-refused')).toBe(9n);
  });

  it('egress from another IP or MAC is dropped as spoofed, on new and established flows alike', async () => {
    const e = await eps.ep([]);
    expect(e.egress(ipv4(POD, PEER, tcp(41000, 80, TCP.syn)))).toBe(TC_ACT_OK);
    expect(e.egress(ipv4(VICTIM, PEER, tcp(41001, 80, TCP.syn)))).toBe(TC_ACT_SHOT);
    expect(e.egress(ipv4(VICTIM, PEER, udp(41002, 53)))).toBe(TC_ACT_SHOT);
    expect(e.egress(fromMac(ipv4(POD, PEER, tcp(41000, 80, TCP.ack)), VICTIM_MAC))).toBe(TC_ACT_SHOT);
    expect(e.egress(ipv6(VICTIM6, 'fd00::30', udp(41003, 53)))).toBe(TC_ACT_SHOT);
    expect(e.egress(ipv6(POD6, 'fd00::30', udp(41003, 53)))).toBe(TC_ACT_OK);
    expect(e.egress(ipv4(POD, PEER, tcp(41000, 80, TCP.ack)))).toBe(TC_ACT_OK);
    expect(await counted(h, e.id, 'spoofed')).toBe(4n);
    // Ingress is not a source check: a peer's packets come from the peer.
    expect(e.ingress(ipv4(VICTIM, POD, udp(53, 41004)))).toBe(TC_ACT_OK);
  });

  it('an endpoint whose addresses are unknown sends no IP at all (fail closed)', async () => {
    const id = 200;
    await h.dp.stageEndpoint({ endpointId: id, netnsPath: null, ifname: 'unused', desired: endpoint([]) });
    const obj = h.dp.loadEndpointObject(id);
    try {
      expect(obj.program('weir_egress').testRun({ data: ipv4(POD, PEER, udp(1, 53)) }).retval).toBe(TC_ACT_SHOT);
      expect(await counted(h, id, 'spoofed')).toBe(1n);
    } finally {
      obj.close();
    }
  });

  it('ARP poisoning: a reply claiming another pod\'s IP, or carrying another MAC, is dropped', async () => {
    const e = await eps.ep([], { ingress: true, egress: true });
    expect(e.egress(arp(2, POD, VICTIM))).toBe(TC_ACT_OK); // its own answer
    expect(e.egress(arp(1, '0.0.0.0', POD))).toBe(TC_ACT_OK); // RFC 5227 probe
    expect(e.egress(arp(2, VICTIM, PEER))).toBe(TC_ACT_SHOT); // "VICTIM is at my MAC"
    expect(e.egress(arp(2, POD, PEER, VICTIM_MAC))).toBe(TC_ACT_SHOT); // sender MAC not its own
    expect(e.egress(fromMac(arp(2, POD, PEER, VICTIM_MAC), VICTIM_MAC))).toBe(TC_ACT_SHOT);
    expect(await counted(h, e.id, 'spoofed')).toBe(3n);
    // Others' ARP still reaches the pod.
    expect(e.ingress(arp(2, VICTIM, POD, VICTIM_MAC))).toBe(TC_ACT_OK);
  });

  it('ND: router advertisements, redirects and advertisements for others are dropped', async () => {
    const e = await eps.ep([], { ingress: true, egress: true });
    expect(e.egress(nd(134, 'fe80::1', 'ff02::1', { llMac: POD_MAC }))).toBe(TC_ACT_SHOT); // RA from a pod
    const redirect = ipv6('fe80::1', VICTIM6, icmp(137, 0, true));
    expect(e.egress(redirect)).toBe(TC_ACT_SHOT);
    expect(e.egress(nd(136, POD6, 'ff02::1', { target: VICTIM6, llMac: POD_MAC }))).toBe(TC_ACT_SHOT); // "VICTIM6 is at my MAC"
    expect(e.egress(nd(136, VICTIM6, 'ff02::1', { target: POD6, llMac: POD_MAC }))).toBe(TC_ACT_SHOT); // from another's address
    expect(e.egress(nd(135, POD6, VICTIM6, { target: VICTIM6, llMac: VICTIM_MAC }))).toBe(TC_ACT_SHOT); // another MAC in the option
    expect(e.egress(nd(136, POD6, 'ff02::1', { target: POD6, llMac: POD_MAC }))).toBe(TC_ACT_OK);
    expect(await counted(h, e.id, 'spoofed')).toBe(5n);
  });

  it('IPv6 sources the CNI result did not list: only the EUI-64 link-local of the pod\'s own MAC passes', async () => {
    const e = await eps.ep([]); // open policy: only the source check can drop these
    const eui64 = 'fe80::ff:fe00:1'; // from POD_MAC 02:00:00:00:00:01 (universal/local bit flipped, ff:fe inserted)
    expect(e.egress(ipv6(eui64, 'fe80::1', udp(546, 547)))).toBe(TC_ACT_OK); // e.g. DHCPv6 from link-local
    expect(e.egress(ipv6(eui64, 'fe80::1', icmp(128, 7, true)))).toBe(TC_ACT_OK);
    // Another pod's EUI-64 link-local, a stable-privacy one, a SLAAC global: Weir cannot tell them from a neighbour's.
    expect(e.egress(ipv6('fe80::ff:fe00:99', 'fe80::1', udp(546, 547)))).toBe(TC_ACT_SHOT);
    expect(e.egress(ipv6('fe80::1234:5678:9abc:def0', 'fe80::1', udp(546, 547)))).toBe(TC_ACT_SHOT);
    expect(e.egress(ipv6('fd00::ff:fe00:1', VICTIM6, udp(546, 547)))).toBe(TC_ACT_SHOT);
    // The right address from another MAC is still spoofed.
    expect(e.egress(fromMac(ipv6(eui64, 'fe80::1', udp(546, 547)), VICTIM_MAC))).toBe(TC_ACT_SHOT);
    expect(await counted(h, e.id, 'spoofed')).toBe(4n);
    // ND keeps working from any link-local source (stable-privacy included).
    expect(e.egress(nd(135, 'fe80::1234:5678:9abc:def0', 'ff02::1:ff00:20', { target: VICTIM6, llMac: POD_MAC }))).toBe(TC_ACT_OK);
  });

  it('revocation cannot be undone by a mid-stream packet from the pod side', async () => {
    // Ingress allowed from VICTIM; egress open (not isolated): the finding-6 set-up.
    const allow = entry({ identity: ID_VICTIM, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 3 });
    const e = await eps.ep([allow], { ingress: true });
    expect(e.ingress(ipv4(VICTIM, POD, tcp(43000, 80, TCP.syn)))).toBe(TC_ACT_OK);
    expect(e.egress(ipv4(POD, VICTIM, tcp(80, 43000, TCP.syn | TCP.ack)))).toBe(TC_ACT_OK);
    await h.dp.updateEndpoint({ endpointId: e.id, desired: endpoint([], { ingress: true }) });
    expect(e.ingress(ipv4(VICTIM, POD, tcp(43000, 80, TCP.ack)))).toBe(TC_ACT_SHOT); // revoked
    // The pod answers mid-stream: before the fix this re-created the flow as a new egress flow.
    expect(e.egress(ipv4(POD, VICTIM, tcp(80, 43000, TCP.ack)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(VICTIM, POD, tcp(43000, 80, TCP.ack)))).toBe(TC_ACT_SHOT);
    expect(await counted(h, e.id, 'revoked')).toBe(3n);
    // A fresh connection on the same 5-tuple is judged afresh (and denied: no rule allows it).
    expect(e.ingress(ipv4(VICTIM, POD, tcp(43000, 80, TCP.syn)))).toBe(TC_ACT_SHOT);
    expect(await counted(h, e.id, 'default-deny')).toBe(1n);
  });

  it('TCP: only a SYN creates conntrack; a mid-stream packet of an unknown flow is judged alone', async () => {
    const e = await eps.ep([], { ingress: true }); // egress open, ingress isolated
    // An ACK out to a flow nobody opened passes by egress policy but tracks nothing...
    expect(e.egress(ipv4(POD, VICTIM, tcp(80, 44000, TCP.ack)))).toBe(TC_ACT_OK);
    // ...so the peer's packets are not "replies": ingress isolation still denies them.
    expect(e.ingress(ipv4(VICTIM, POD, tcp(44000, 80, TCP.ack)))).toBe(TC_ACT_SHOT);
    // A SYN does open a flow whose replies pass.
    expect(e.egress(ipv4(POD, VICTIM, tcp(44001, 80, TCP.syn)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(VICTIM, POD, tcp(80, 44001, TCP.syn | TCP.ack)))).toBe(TC_ACT_OK);
    expect(await counted(h, e.id, 'ct-reply')).toBe(1n);
  });

  it('conntrack quota: a flood fills only the endpoint\'s share and is counted (ct-quota)', async () => {
    const flooder = await eps.ep([]);
    const other = await eps.ep([]);
    h.dp.sweepConntrack(); // start from true counts
    // Every run a new UDP 5-tuple is impossible with one replayed packet, so the flood is many
    // single runs with distinct source ports: enough to pass the default quota (16,384).
    const quota = 16384;
    let dropped = 0;
    for (let port = 1; port <= quota + 100; port++) {
      if (flooder.egress(ipv4(POD, PEER, udp(port, 9))) === TC_ACT_SHOT) dropped++;
    }
    expect(dropped).toBe(100);
    expect(await counted(h, flooder.id, 'ct-quota')).toBe(100n);
    // Established flows of the flooder still pass; other endpoints are unaffected.
    expect(flooder.egress(ipv4(POD, PEER, udp(5, 9)))).toBe(TC_ACT_OK);
    expect(other.egress(ipv4(POD, PEER, udp(5, 9)))).toBe(TC_ACT_OK);
    // The sweep recounts live entries: expiry (here: "now" far in the future) frees the quota.
    const swept = h.dp.sweepConntrack(process.hrtime.bigint() + 3600n * 1_000_000_000n);
    expect(swept.expired).toBeGreaterThanOrEqual(quota);
    expect(flooder.egress(ipv4(POD, PEER, udp(quota + 200, 9)))).toBe(TC_ACT_OK);
  }, 120_000);

  it('ICMP errors pass as related when they quote a tracked flow, and only then (path MTU)', async () => {
    const router = '192.0.2.254'; // world: no rule allows it
    const e = await eps.ep([
      entry({ direction: 'egress', identity: ID_PEER, protocol: 6, port: 443, portPrefixLength: 16 }),
      entry({ direction: 'egress', identity: 0, protocol: 17, port: 53, portPrefixLength: 16 }),
    ], { ingress: true, egress: true });
    const syn = ipv4(POD, PEER, tcp(45000, 443, TCP.syn));
    expect(e.egress(syn)).toBe(TC_ACT_OK);
    // Fragmentation needed from a router on the path, quoting the pod's own segment.
    expect(e.ingress(ipv4(router, POD, icmpError(3, 4, syn)))).toBe(TC_ACT_OK);
    // Port unreachable from the peer, and time exceeded: same flow.
    expect(e.ingress(ipv4(PEER, POD, icmpError(3, 3, syn)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(router, POD, icmpError(11, 0, syn)))).toBe(TC_ACT_OK);
    // IPv6 packet too big for a UDP flow the pod opened.
    const dns6 = ipv6(POD6, 'fd00::53', udp(45001, 53));
    expect(e.egress(dns6)).toBe(TC_ACT_OK);
    expect(e.ingress(ipv6('fd00::1', POD6, icmpError(2, 0, dns6, true)))).toBe(TC_ACT_OK);
    expect(await counted(h, e.id, 'ct-related')).toBe(4n);
    // An error quoting a flow that does not exist is an ordinary ICMP packet: default deny.
    expect(e.ingress(ipv4(router, POD, icmpError(3, 4, ipv4(POD, PEER, tcp(45002, 443, TCP.syn)))))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(router, POD, icmpError(3, 4, ipv4(POD, VICTIM, tcp(45000, 443, TCP.syn)))))).toBe(TC_ACT_SHOT);
    expect(await counted(h, e.id, 'ct-related')).toBe(4n);
  });

  it('fragments: later fragments take the first fragment\'s ports; without a first they are judged on port 0', async () => {
    const e = await eps.ep([entry({ identity: ID_VICTIM, protocol: 17, port: 5353, portPrefixLength: 16 })], { ingress: true });
    const MF = 0x2000;
    expect(e.ingress(ipv4(VICTIM, POD, udp(40000, 5353), { id: 77, fragmentOffset: MF }))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(VICTIM, POD, payload(PROTO.udp, 1480), { id: 77, fragmentOffset: MF | 185 }))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(VICTIM, POD, payload(PROTO.udp, 100), { id: 77, fragmentOffset: 370 }))).toBe(TC_ACT_OK);
    // A later fragment of a datagram whose first fragment never passed: no ports, default deny.
    expect(e.ingress(ipv4(VICTIM, POD, payload(PROTO.udp, 100), { id: 78, fragmentOffset: 185 }))).toBe(TC_ACT_SHOT);
    // A first fragment to a port no rule allows is dropped, and so are its later fragments.
    expect(e.ingress(ipv4(VICTIM, POD, udp(40001, 9999), { id: 79, fragmentOffset: MF }))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(VICTIM, POD, payload(PROTO.udp, 100), { id: 79, fragmentOffset: 185 }))).toBe(TC_ACT_SHOT);
    // IPv6: the same through the fragment header.
    await h.dp.syncIpCache([{ cidr: `${VICTIM}/32`, identity: ID_VICTIM }, { cidr: `${PEER}/32`, identity: ID_PEER }, { cidr: `${VICTIM6}/128`, identity: ID_VICTIM }]);
    expect(e.ingress(ipv6(VICTIM6, POD6, udp(40002, 5353), { fragment: { id: 0x10203, offset: 0, more: true } }))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv6(VICTIM6, POD6, payload(PROTO.udp, 1448), { fragment: { id: 0x10203, offset: 1448, more: false } }))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv6(VICTIM6, POD6, payload(PROTO.udp, 64), { fragment: { id: 0x10204, offset: 1448, more: false } }))).toBe(TC_ACT_SHOT);
    expect(await counted(h, e.id, 'ct-established')).toBe(3n);
  });
});
