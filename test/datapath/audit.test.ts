/**
 * Audit endpoints (issue 17) over BPF_PROG_TEST_RUN: the real weir.bpf.o with WEIR_EP_AUDIT set
 * by the driver. A policy or default deny passes, is tracked, and is reported as an AUDIT_DENY
 * event naming the rule; every non-policy drop stays a drop; leaving audit mode revokes.
 *
 * Audit policies: entries in the audit keyspaces (PolicyEntry.audit) never change a packet's fate;
 * a new flow whose verdict they would change is reported as AUDIT_DENY ("would drop") or
 * AUDIT_ALLOW ("would allow") naming the audit rule, once per flow (established packets are not
 * judged again).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FlowEvent } from '../../agent/src/datapath/codec.js';
import type { PolicyEntry } from '../../agent/src/datapath/desired.js';
import { describePrivileged } from '../support/privileged.js';
import { TC_ACT_OK, TC_ACT_SHOT, counted, endpoint, entry, openHarness, testEndpoints, type Harness } from '../../harness/datapath/harness.js';
import { TCP, fromMac, ipv4, tcp, udp } from '../../harness/datapath/packets.js';

const POD = '10.0.1.10';
const B = '10.0.1.20'; // identity 400
const C = '10.0.1.30'; // identity 500
const WORLD = '192.0.2.1';
const ID_B = 400;
const ID_C = 500;
const POD_MAC = '02:00:00:00:00:01'; // the source MAC of every frame harness/datapath/packets.ts builds

describePrivileged('weir.bpf.o audit endpoints (BPF_PROG_TEST_RUN)', () => {
  let h: Harness;
  let eps: ReturnType<typeof testEndpoints>;
  const got: FlowEvent[] = [];
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    h = openHarness('audit');
    eps = testEndpoints(h, { mac: POD_MAC, ips: [POD] });
    await h.dp.syncIpCache([{ cidr: `${B}/32`, identity: ID_B }, { cidr: `${C}/32`, identity: ID_C }]);
    const sub = h.dp.events((ev) => got.push(ev));
    stop = () => sub.stop();
  });
  afterAll(async () => {
    await stop?.();
    eps.close();
    await h.close();
  });

  const auditEp = (entries: PolicyEntry[], iso: { ingress?: boolean; egress?: boolean }) => eps.ep(entries, iso, false, true);

  async function eventsOf(id: number, n: number): Promise<FlowEvent[]> {
    const deadline = Date.now() + 5000;
    while (got.filter((g) => g.endpointId === id).length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return got.filter((g) => g.endpointId === id);
  }

  it('a deny rule and the default deny pass, each reported once as AUDIT naming the rule; counted audit-allowed', async () => {
    const e = await auditEp([
      entry({ identity: ID_B, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 41 }),
      entry({ tier: 'admin', identity: ID_C, verdict: 'deny', ruleId: 42 }),
    ], { ingress: true });
    // Admin deny: passes, and its replies and later packets pass on conntrack without another event.
    expect(e.ingress(ipv4(C, POD, tcp(44000, 80, TCP.syn)))).toBe(TC_ACT_OK);
    expect(e.egress(ipv4(POD, C, tcp(80, 44000, TCP.syn | TCP.ack)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(C, POD, tcp(44000, 80, TCP.ack)))).toBe(TC_ACT_OK);
    // Default deny (isolated ingress, nothing allows the world): passes too.
    expect(e.ingress(ipv4(WORLD, POD, udp(44001, 53)))).toBe(TC_ACT_OK);
    // An allowed flow is not an audit event.
    expect(e.ingress(ipv4(B, POD, tcp(44002, 80, TCP.syn)))).toBe(TC_ACT_OK);
    const mine = await eventsOf(e.id, 2);
    expect(mine.map((g) => [g.verdict, g.reason, g.ruleId, g.tier, g.source, g.destinationPort])).toEqual([
      ['audit', 'policy-deny', 42, 'admin', C, 80],
      ['audit', 'default-deny', undefined, undefined, WORLD, 53],
    ]);
    expect(await counted(h, e.id, 'audit-allowed')).toBe(2n);
    expect(await counted(h, e.id, 'policy-deny')).toBe(0n);
    expect(await counted(h, e.id, 'default-deny')).toBe(0n);
    expect(await counted(h, e.id, 'ct-established')).toBe(1n);
    expect(await counted(h, e.id, 'ct-reply')).toBe(1n);
  });

  it('anti-spoofing still drops on an audit endpoint', async () => {
    const e = await auditEp([], { ingress: true, egress: true });
    expect(e.egress(ipv4(B, WORLD, udp(1000, 53)))).toBe(TC_ACT_SHOT); // not its own IP
    expect(e.egress(fromMac(ipv4(POD, WORLD, udp(1000, 53)), '02:00:00:00:00:99'))).toBe(TC_ACT_SHOT); // not its own MAC
    expect(await counted(h, e.id, 'spoofed')).toBe(2n);
    expect(await counted(h, e.id, 'audit-allowed')).toBe(0n);
    // Its own source is only audited.
    expect(e.egress(ipv4(POD, WORLD, udp(1000, 53)))).toBe(TC_ACT_OK);
    expect(await counted(h, e.id, 'audit-allowed')).toBe(1n);
  });

  it('a policy change in audit mode keeps the audited flow; switching to enforce revokes it', async () => {
    const allowB = entry({ identity: ID_B, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 9 });
    const e = await auditEp([allowB], { ingress: true });
    expect(e.ingress(ipv4(C, POD, tcp(45000, 80, TCP.syn)))).toBe(TC_ACT_OK); // audited
    expect(e.ingress(ipv4(B, POD, tcp(45001, 80, TCP.syn)))).toBe(TC_ACT_OK); // allowed
    // Another policy change while auditing: the generation moves, the audited flow is re-checked and kept.
    const extra = entry({ identity: ID_B, protocol: 17, port: 53, portPrefixLength: 16, ruleId: 10 });
    await h.dp.updateEndpoint({ endpointId: e.id, desired: { ...endpoint([allowB, extra], { ingress: true }), audit: true } });
    expect(e.ingress(ipv4(C, POD, tcp(45000, 80, TCP.ack)))).toBe(TC_ACT_OK);
    expect(await counted(h, e.id, 'revoked')).toBe(0n);
    // Enforce: the same policy now drops the audited flow on its next packet, and keeps dropping it.
    await h.dp.updateEndpoint({ endpointId: e.id, desired: endpoint([allowB, extra], { ingress: true }) });
    expect(e.ingress(ipv4(C, POD, tcp(45000, 80, TCP.ack)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(C, POD, tcp(45000, 80, TCP.ack)))).toBe(TC_ACT_SHOT);
    expect(await counted(h, e.id, 'revoked')).toBe(2n);
    // The allowed flow survives, and a new denied flow is a plain drop now.
    expect(e.ingress(ipv4(B, POD, tcp(45001, 80, TCP.ack)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(C, POD, tcp(45002, 80, TCP.syn)))).toBe(TC_ACT_SHOT);
    expect(await counted(h, e.id, 'default-deny')).toBe(1n);
  });

  it('back to audit: a revoked flow passes again instead of staying dropped until its marker expires', async () => {
    const e = await auditEp([], { ingress: true });
    expect(e.ingress(ipv4(WORLD, POD, udp(46000, 53)))).toBe(TC_ACT_OK);
    await h.dp.updateEndpoint({ endpointId: e.id, desired: endpoint([], { ingress: true }) });
    expect(e.ingress(ipv4(WORLD, POD, udp(46000, 53)))).toBe(TC_ACT_SHOT); // revoked
    await h.dp.updateEndpoint({ endpointId: e.id, desired: { ...endpoint([], { ingress: true }), audit: true } });
    expect(e.ingress(ipv4(WORLD, POD, udp(46000, 53)))).toBe(TC_ACT_OK);
    expect(await counted(h, e.id, 'audit-allowed')).toBe(2n);
  });

  // ---- audit policies (PolicyEntry.audit) ----

  const auditRule = (e: Partial<PolicyEntry>): PolicyEntry => ({ ...entry(e), audit: 'rule' });
  const auditIsolation = (direction: 'ingress' | 'egress', ruleId: number): PolicyEntry =>
    ({ ...entry({ direction, verdict: 'deny', ruleId }), audit: 'isolation' });

  it('would drop: an audit NetworkPolicy isolating the endpoint reports the flows it does not allow, which still pass', async () => {
    // Enforced: nothing selects the pod. Audit: a NetworkPolicy isolating ingress that allows B on TCP 80.
    const e = await eps.ep([auditIsolation('ingress', 60), auditRule({ identity: ID_B, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 61 })]);
    expect(e.ingress(ipv4(B, POD, tcp(47000, 80, TCP.syn)))).toBe(TC_ACT_OK); // allowed either way: no event
    expect(e.ingress(ipv4(C, POD, tcp(47001, 80, TCP.syn)))).toBe(TC_ACT_OK); // would drop
    expect(e.ingress(ipv4(C, POD, tcp(47001, 80, TCP.ack)))).toBe(TC_ACT_OK); // established: not judged again
    expect(e.ingress(ipv4(B, POD, tcp(47002, 81, TCP.syn)))).toBe(TC_ACT_OK); // would drop (port)
    const mine = await eventsOf(e.id, 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(got.filter((g) => g.endpointId === e.id).map((g) => [g.verdict, g.reason, g.ruleId, g.source, g.destinationPort])).toEqual([
      ['audit', 'default-deny', 60, C, 80],
      ['audit', 'default-deny', 60, B, 81],
    ]);
    expect(mine).toHaveLength(2);
    expect(await counted(h, e.id, 'default-allow')).toBe(3n);
    expect(await counted(h, e.id, 'ct-established')).toBe(1n);
    expect(await counted(h, e.id, 'audit-allowed')).toBe(0n);
  });

  it('would drop: an audit admin-tier deny over an enforced allow names the audit rule and its tier', async () => {
    const e = await eps.ep([
      entry({ identity: ID_B, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 70 }),
      auditRule({ tier: 'admin', identity: ID_B, verdict: 'deny', precedence: 5, ruleId: 71 }),
    ], { ingress: true });
    expect(e.ingress(ipv4(B, POD, tcp(48000, 80, TCP.syn)))).toBe(TC_ACT_OK);
    expect(e.ingress(ipv4(C, POD, tcp(48001, 80, TCP.syn)))).toBe(TC_ACT_SHOT); // denied either way: a plain drop
    const mine = await eventsOf(e.id, 2);
    expect(mine.map((g) => [g.verdict, g.reason, g.ruleId, g.tier, g.source])).toEqual([
      ['audit', 'policy-deny', 71, 'admin', B],
      ['deny', 'default-deny', undefined, undefined, C],
    ]);
    expect(await counted(h, e.id, 'policy-allow')).toBe(1n);
  });

  it('would allow: an audit rule allowing what the enforced policy drops; the packet is still dropped', async () => {
    const e = await eps.ep([
      entry({ identity: ID_B, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 80 }),
      auditRule({ identity: ID_C, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 81 }),
    ], { ingress: true });
    expect(e.ingress(ipv4(C, POD, tcp(49000, 80, TCP.syn)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(C, POD, tcp(49001, 81, TCP.syn)))).toBe(TC_ACT_SHOT); // no audit rule allows it either
    const mine = await eventsOf(e.id, 3);
    expect(mine.map((g) => [g.verdict, g.reason, g.ruleId, g.tier, g.destinationPort])).toEqual([
      ['audit-allow', 'policy-allow', 81, 'network', 80],
      ['deny', 'default-deny', undefined, undefined, 80],
      ['deny', 'default-deny', undefined, undefined, 81],
    ]);
    expect(await counted(h, e.id, 'default-deny')).toBe(2n);
  });

  it('each keyspace is its own longest-prefix lookup: a narrower audit entry neither hides nor changes a broader enforced one', async () => {
    // Enforced: an admin deny of B on every TCP port. Audit: a weaker (lower precedence) admin allow
    // of B on TCP 80, a narrower key. In one keyspace the trie would answer the narrower key and
    // let B in; kept apart, the enforced lookup never sees it and the what-if keeps the deny.
    const e = await eps.ep([
      entry({ tier: 'admin', identity: ID_B, protocol: 6, verdict: 'deny', precedence: 10, ruleId: 90 }),
      auditRule({ tier: 'admin', identity: ID_B, protocol: 6, port: 80, portPrefixLength: 16, verdict: 'allow', precedence: 1, ruleId: 91 }),
    ]);
    expect(e.ingress(ipv4(B, POD, tcp(50000, 80, TCP.syn)))).toBe(TC_ACT_SHOT);
    expect(e.ingress(ipv4(B, POD, tcp(50001, 443, TCP.syn)))).toBe(TC_ACT_SHOT);
    const mine = await eventsOf(e.id, 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(mine.map((g) => [g.verdict, g.reason, g.ruleId])).toEqual([['deny', 'policy-deny', 90], ['deny', 'policy-deny', 90]]);
  });
});
