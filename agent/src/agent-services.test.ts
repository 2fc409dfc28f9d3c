/**
 * The agent with Services and EndpointSlices (fake datapath, scripted cluster): the ClusterIP gets
 * an ipcache entry and the endpoint an egress entry for it while every backend is allowed; an
 * EndpointSlice change that lists a backend the rule does not allow takes the entry away (an
 * update, so established flows are re-checked); a flow to the ClusterIP names the Service.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FlowEvent } from './datapath/codec.js';
import type { FakeDatapath } from './datapath/fake.js';
import type { ScriptedSource } from './kube/scripted.js';
import { add, newAgentFixture, pod, signal, type AgentFixture, type Lines } from './agent.testkit.js';

const VIP = '10.96.0.10';

const service = { metadata: { namespace: 'ns-a', name: 'web' }, spec: { type: 'ClusterIP', clusterIP: VIP, clusterIPs: [VIP], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } };
const slice = (addresses: string[]): unknown => ({
  metadata: { namespace: 'ns-a', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: addresses.map((a) => ({ addresses: [a] })),
});
const toB = {
  metadata: { namespace: 'ns-a', name: 'to-b' },
  spec: { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'b' } } }], ports: [{ port: 8080 }] }] },
};

describe('Agent: egress to a Service ClusterIP', () => {
  let fake: FakeDatapath;
  let source: ScriptedSource;
  let log: Lines;
  let fixture: AgentFixture;

  beforeEach(async () => {
    fixture = await newAgentFixture();
    ({ fake, source, log } = fixture);
  });
  afterEach(() => fixture.stop());

  it('programs the ClusterIP while its backends are allowed, revokes on a slice change, and names the Service in flows', async () => {
    source.seed('pod', pod('a', { ip: '10.9.0.5' })).seed('pod', pod('b', { ip: '10.9.0.6', node: 'node-2' })).seed('pod', pod('c', { ip: '10.9.0.7', node: 'node-2' }))
      .seed('networkpolicy', toB).seed('service', service).seed('endpointslice', slice(['10.9.0.6']));
    const agent = fixture.makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    const vipId = fake.ipcache.get(`${VIP}/32`);
    expect(vipId).toBeDefined();
    const id = [...fake.endpoints.keys()][0] ?? 0;
    const vipEntries = (): string[] => (fake.endpoints.get(id)?.desired.entries ?? [])
      .filter((e) => e.identity === vipId).map((e) => `${e.direction} ${e.protocol}:${e.port} ${e.verdict}`);
    expect(vipEntries()).toEqual(['egress 6:80 allow']);

    source.put('endpointslice', slice(['10.9.0.6', '10.9.0.7']));
    await agent.idle();
    expect(vipEntries()).toEqual([]);
    expect(fake.calls).toContainEqual({ op: 'update', endpointId: id });

    const event: FlowEvent = {
      timestampNs: 1n, endpointId: id, ruleId: undefined, remoteIdentity: vipId ?? 0, packetLength: 60, family: 4,
      source: '10.9.0.5', destination: VIP, sourcePort: 40312, destinationPort: 80, protocol: 6,
      direction: 'egress', verdict: 'deny', reason: 'default-deny', tier: undefined,
    };
    fake.emit(event);
    for (let i = 0; i < 200 && !log.has('service ns-a/web:80'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(log.lines.some((l) => l.msg.startsWith('ns-a/a:40312 -> service ns-a/web:80 TCP DROPPED'))).toBe(true);
  });
});
