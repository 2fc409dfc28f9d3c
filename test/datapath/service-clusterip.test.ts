/**
 * Egress to a Service ClusterIP through the real weir.bpf.o (BPF_PROG_TEST_RUN): the compiler's
 * ipcache and entries for a client whose egress rule allows one backend pod, programmed into real
 * pinned maps by the driver. On the pod's interface a packet still carries the ClusterIP (kube-proxy
 * translates it later, on the host), so this is the packet the program judges: allowed to the
 * ClusterIP whose only backend the rule allows, at the Service port; dropped to a ClusterIP with one
 * more backend the rule does not allow; and an established flow is revoked when an EndpointSlice
 * change adds such a backend.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PolicyCompiler } from '../../agent/src/policy/compile.js';
import { parseEndpointSlice } from '../../agent/src/policy/service-model.js';
import { clusterState, must, np, podIp, rawService, rawSlice } from '../../agent/src/policy/testkit.js';
import { describePrivileged } from '../support/privileged.js';
import { TC_ACT_OK, TC_ACT_SHOT, counted, openHarness, testEndpoints, type Harness } from '../../harness/datapath/harness.js';
import { TCP, ipv4, tcp } from '../../harness/datapath/packets.js';

const POD_MAC = '02:00:00:00:00:01'; // the source MAC of every frame harness/datapath/packets.ts builds
const CLIENT = podIp('x', 'a');
const VIP_OK = '10.96.0.10';
const VIP_MIXED = '10.96.0.11';

describePrivileged('egress to a Service ClusterIP in the datapath (BPF_PROG_TEST_RUN)', () => {
  let h: Harness;
  let eps: ReturnType<typeof testEndpoints>;
  const compiler = new PolicyCompiler().load(clusterState({
    nps: [np('x', 'to-yb', {
      podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 8080 }] }],
    })],
    services: [rawService('y', 'web', [VIP_OK], [['http', 80]]), rawService('y', 'mixed', [VIP_MIXED], [['http', 80]])],
    slices: [
      rawSlice('y', 'web-1', 'web', [podIp('y', 'b')], [['http', 8080]]),
      rawSlice('y', 'mixed-1', 'mixed', [podIp('y', 'b'), podIp('y', 'c')], [['http', 8080]]),
    ],
  }));

  const program = async () => {
    const node = compiler.compileNode({ name: 'n1' });
    await h.dp.syncIpCache(node.ipcache);
    const desired = node.endpoints.find((e) => e.namespace === 'x' && e.pod === 'a' && e.interface === 'eth0');
    if (desired === undefined) throw new Error('x/a not compiled');
    return eps.ep(desired.entries, { egress: desired.isolatedEgress });
  };

  beforeAll(() => {
    h = openHarness('svcvip');
    eps = testEndpoints(h, { mac: POD_MAC, ips: [CLIENT] });
  });
  afterAll(async () => {
    (eps as typeof eps | undefined)?.close();
    await (h as typeof h | undefined)?.close();
  });

  it('allows the ClusterIP whose every backend the rule allows, at the Service port only', async () => {
    const e = await program();
    expect(e.egress(ipv4(CLIENT, VIP_OK, tcp(40000, 80, TCP.syn)))).toBe(TC_ACT_OK);
    expect(e.egress(ipv4(CLIENT, VIP_OK, tcp(40001, 8080, TCP.syn)))).toBe(TC_ACT_SHOT);
    expect(e.egress(ipv4(CLIENT, VIP_MIXED, tcp(40002, 80, TCP.syn)))).toBe(TC_ACT_SHOT);
    // The backend itself, as before.
    expect(e.egress(ipv4(CLIENT, podIp('y', 'b'), tcp(40003, 8080, TCP.syn)))).toBe(TC_ACT_OK);
  });

  it('a rule with ports but no peers: the datapath cancels its ANY match for a ClusterIP whose backend port it does not allow', async () => {
    const c = new PolicyCompiler().load(clusterState({
      nps: [np('x', 'port-80', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 80 }] }] })],
      services: [rawService('y', 'same', [VIP_OK], [['', 80]]), rawService('y', 'to22', [VIP_MIXED], [['', 80]])],
      slices: [rawSlice('y', 'same-1', 'same', [podIp('y', 'b')], [['', 80]]), rawSlice('y', 'to22-1', 'to22', [podIp('y', 'b')], [['', 22]])],
    }));
    const node = c.compileNode({ name: 'n1' });
    await h.dp.syncIpCache(node.ipcache);
    const desired = node.endpoints.find((x) => x.namespace === 'x' && x.pod === 'a' && x.interface === 'eth0');
    if (desired === undefined) throw new Error('x/a not compiled');
    const e = await eps.ep(desired.entries, { egress: desired.isolatedEgress });
    expect(e.egress(ipv4(CLIENT, VIP_OK, tcp(40020, 80, TCP.syn)))).toBe(TC_ACT_OK);
    expect(e.egress(ipv4(CLIENT, VIP_MIXED, tcp(40021, 80, TCP.syn)))).toBe(TC_ACT_SHOT);
    expect(e.egress(ipv4(CLIENT, '203.0.113.1', tcp(40022, 80, TCP.syn)))).toBe(TC_ACT_OK);
    expect(await counted(h, e.id, 'policy-deny')).toBe(1n);
    // The first compiler's ipcache back for the next test.
    await h.dp.syncIpCache(compiler.compileNode({ name: 'n1' }).ipcache);
  });

  it('an EndpointSlice that lists a backend the rule does not allow revokes the established flow', async () => {
    const e = await program();
    expect(e.egress(ipv4(CLIENT, VIP_OK, tcp(40010, 80, TCP.syn)))).toBe(TC_ACT_OK);
    expect(e.egress(ipv4(CLIENT, VIP_OK, tcp(40010, 80, TCP.ack)))).toBe(TC_ACT_OK);
    compiler.upsertEndpointSlice(must(parseEndpointSlice(rawSlice('y', 'web-2', 'web', [podIp('z', 'b')], [['http', 8080]]))));
    const desired = compiler.compileEndpoint({ namespace: 'x', pod: 'a', interface: 'eth0' });
    if (desired === undefined) throw new Error('x/a not compiled');
    await h.dp.updateEndpoint({ endpointId: e.id, desired });
    expect(e.egress(ipv4(CLIENT, VIP_OK, tcp(40010, 80, TCP.ack)))).toBe(TC_ACT_SHOT);
    expect(await counted(h, e.id, 'revoked')).toBe(1n);
    expect(e.egress(ipv4(CLIENT, VIP_OK, tcp(40011, 80, TCP.syn)))).toBe(TC_ACT_SHOT);
  });
});
