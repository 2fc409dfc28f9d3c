import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CniRequest } from './cni/protocol.js';
import type { FlowEvent } from './datapath/codec.js';
import type { FakeDatapath } from './datapath/fake.js';
import type { FlowRecord } from './flows/format.js';
import { agentRequestHandler } from './http.js';
import { ScriptedSource } from './kube/scripted.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { add, del, denyAllIngress, newAgentFixture, NODE, ns, pod, signal, type AgentFixture, type Lines, type RecordedEvents } from './agent.testkit.js';

describe('Agent (fake datapath, scripted cluster)', () => {
  let fake: FakeDatapath;
  let source: ScriptedSource;
  let log: Lines;
  let events: RecordedEvents;
  let makeAgent: AgentFixture['makeAgent'];
  let fixture: AgentFixture;

  beforeEach(async () => {
    fixture = await newAgentFixture();
    ({ fake, source, log, events, makeAgent } = fixture);
  });

  afterEach(() => fixture.stop());

  it('CNI ADD attaches with the policy already in place, before answering', async () => {
    source.seed('pod', pod('a', { annotations: { 'kubernetes.io/egress-bandwidth': '10M' } })).seed('networkpolicy', denyAllIngress);
    const agent = makeAgent();
    await agent.start();
    const res = await agent.handleCni(add('a'), signal());
    expect(res).toEqual({ ok: true });
    const ep = [...fake.endpoints.values()][0];
    expect(ep).toBeDefined();
    expect(ep?.netnsPath).toBe('/var/run/netns/pod-a');
    expect(ep?.desired.isolatedIngress).toBe(true);
    expect(ep?.bandwidth).toEqual({ egressBitsPerSecond: 10_000_000 });
    expect(ep?.shapingMode).toBe('tbf');
    // The pod's own address (learned from prevResult) is in the ipcache at attach time.
    expect(fake.ipcache.has('10.9.0.5/32')).toBe(true);
    const status = agent.status();
    expect(status.endpoints).toMatchObject([{ pod: 'ns-a/a', interface: 'eth0', shaping: 'tbf', isolation: { ingress: true, egress: false } }]);
  });

  it('follows policy changes as updates and DEL detaches and forgets (idempotently)', async () => {
    source.seed('pod', pod('a'));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    const id = [...fake.endpoints.keys()][0] ?? 0;
    expect(fake.endpoints.get(id)?.desired.isolatedIngress).toBe(false);
    source.put('networkpolicy', denyAllIngress);
    await agent.idle();
    expect(fake.endpoints.get(id)?.desired.isolatedIngress).toBe(true);
    expect(fake.calls).toContainEqual({ op: 'update', endpointId: id });
    expect(await agent.handleCni(del('a'), signal())).toEqual({ ok: true });
    expect(fake.endpoints.size).toBe(0);
    expect(agent.status().endpoints).toEqual([]);
    expect(await agent.handleCni(del('a'), signal())).toEqual({ ok: true });
  });

  it('weir.dev/enforcement: audit on the namespace marks its endpoints; a flip reprograms them; a bad value enforces with a warning', async () => {
    source.seed('pod', pod('a')).seed('networkpolicy', denyAllIngress);
    const audited = (annotation: string): unknown => ({ metadata: { name: 'ns-a', labels: { team: 'a', 'weir.dev/inject': 'enabled' }, annotations: { 'weir.dev/enforcement': annotation } } });
    source.seed('namespace', audited('audit'));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    const id = [...fake.endpoints.keys()][0] ?? 0;
    expect(fake.endpoints.get(id)?.desired).toMatchObject({ isolatedIngress: true, audit: true });
    expect(agent.status().endpoints).toMatchObject([{ pod: 'ns-a/a', isolation: { ingress: true }, audit: true }]);
    source.put('namespace', audited('enforce'));
    await agent.idle();
    expect(fake.endpoints.get(id)?.desired.audit).toBeUndefined();
    expect(fake.calls).toContainEqual({ op: 'update', endpointId: id });
    source.put('namespace', audited('audit'));
    await agent.idle();
    expect(fake.endpoints.get(id)?.desired.audit).toBe(true);
    source.put('namespace', audited('audti'));
    await agent.idle();
    expect(fake.endpoints.get(id)?.desired.audit).toBeUndefined();
    expect(log.lines.some((l) => l.level === 'warn' && l.msg.includes('metadata.annotations["weir.dev/enforcement"]') && l.msg.includes('enforce|audit'))).toBe(true);
  });

  it('a full ipcache is reported once per change: a gauge of unwritten entries and one error line', async () => {
    source.seed('pod', pod('a', { ip: '10.9.0.5' })).seed('pod', pod('b', { ip: '10.9.0.6' })).seed('pod', pod('c', { ip: '10.9.0.7' }));
    fake.ipcacheCapacity = 1;
    const agent = makeAgent();
    await agent.start();
    const gauge = async () => agent.metrics.registry.getSingleMetricAsString('weir_agent_map_entries_unwritten');
    expect(await gauge()).toMatch(/weir_agent_map_entries_unwritten\{map="ipcache"\} 2/);
    expect(log.count('the ipcache map is full')).toBe(1);
    source.put('pod', pod('a', { ip: '10.9.0.5', labels: { again: 'yes' } }));
    await agent.idle();
    expect(log.count('the ipcache map is full')).toBe(1);
    fake.ipcacheCapacity = Number.POSITIVE_INFINITY;
    source.put('pod', pod('a', { ip: '10.9.0.5' }));
    await agent.idle();
    expect(await gauge()).toMatch(/weir_agent_map_entries_unwritten\{map="ipcache"\} 0/);
    expect(log.has('the ipcache map holds every entry again')).toBe(true);
  });

  it('an endpoint whose policy exceeds its quota is isolated alone, with an Event, a metric and its status; it recovers when the policy fits', async () => {
    const blocks = (n: number): unknown => ({
      metadata: { namespace: 'ns-a', name: 'many-blocks' },
      spec: { podSelector: { matchLabels: { app: 'big' } }, ingress: [{ from: Array.from({ length: n }, (_, i) => ({ ipBlock: { cidr: `192.0.${i}.0/24` } })) }] },
    });
    source.seed('pod', pod('big', { ip: '10.9.0.5', labels: { app: 'big' } })).seed('pod', pod('small', { ip: '10.9.0.6', labels: { app: 'small' } }));
    source.seed('networkpolicy', blocks(6)).seed('networkpolicy', {
      metadata: { namespace: 'ns-a', name: 'one-peer' },
      spec: { podSelector: { matchLabels: { app: 'small' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'big' } } }] }] },
    });
    const agent = makeAgent(source, { policyEntriesPerEndpoint: 4 });
    await agent.start();
    expect(await agent.handleCni(add('big', { ip: '10.9.0.5' }), signal())).toEqual({ ok: true });
    expect(await agent.handleCni(add('small', { ip: '10.9.0.6' }), signal())).toEqual({ ok: true });
    const programmed = (name: string) => [...fake.endpoints.values()].find((e) => e.desired.pod === name)?.desired;
    // Over quota: nothing written, both directions default-deny. The neighbour keeps its policy.
    expect(programmed('big')).toMatchObject({ isolatedIngress: true, isolatedEgress: true, entries: [] });
    expect(programmed('small')).toMatchObject({ isolatedIngress: true, isolatedEgress: false });
    expect(programmed('small')?.entries.length).toBe(1);
    const capacityEvents = events.events.filter((e) => e.reason.startsWith('WeirPolicyCapacity'));
    expect(capacityEvents.map((e) => `${e.pod} ${e.reason}`)).toEqual(['ns-a/big WeirPolicyCapacityExceeded']);
    expect(capacityEvents[0]?.message).toContain('needs 6 entries, over the 4 one endpoint may hold');
    expect(await agent.metrics.registry.getSingleMetricAsString('weir_agent_policy_quota_endpoints')).toMatch(/level="over"\} 1/);
    expect(agent.status().endpoints.find((e) => e.pod === 'ns-a/big')).toMatchObject({ policyEntries: 6, policyQuota: 4 });
    // Said once, not on every reconcile.
    source.put('pod', pod('small', { ip: '10.9.0.6', labels: { app: 'small' } }));
    await agent.idle();
    expect(events.events.filter((e) => e.reason === 'WeirPolicyCapacityExceeded')).toHaveLength(1);
    // Fits again (4 of 4: at the warning level): programmed, and the pod hears it.
    source.put('networkpolicy', blocks(4));
    await agent.idle();
    expect(programmed('big')?.entries.length).toBe(4);
    expect(programmed('big')?.isolatedEgress).toBe(false);
    expect(events.events.map((e) => e.reason)).toContain('WeirPolicyCapacityRestored');
    expect(await agent.metrics.registry.getSingleMetricAsString('weir_agent_policy_quota_endpoints')).toMatch(/level="over"\} 0/);
  });

  it('refuses (fails closed) an ADD for a pod neither the cache nor the API knows', async () => {
    const agent = makeAgent();
    await agent.start();
    const res = await agent.handleCni(add('ghost'), signal());
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.message).toMatch(/pod ns-a\/ghost \(uid uid-ghost\) is unknown.*refusing to wire it without its policy/);
    expect(source.fetches).toBe(1);
    expect(fake.endpoints.size).toBe(0);
  });

  it('falls back to a direct GET when the watch lags', async () => {
    source.apiPods.set('ns-a/late', pod('late'));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('late'), signal())).toEqual({ ok: true });
    expect(fake.endpoints.size).toBe(1);
  });

  it('a malformed intent is an event, a metric and a log line; the pod is enforced with annotation bandwidth', async () => {
    source.seed('pod', pod('bad', { annotations: { 'weir.dev/intent': '{"version":1,"networks":"eth0"}', 'kubernetes.io/ingress-bandwidth': '5M' } }));
    source.seed('networkpolicy', denyAllIngress);
    const agent = makeAgent();
    await agent.start();
    expect(events.events).toHaveLength(1);
    expect(events.events[0]).toMatchObject({ pod: 'ns-a/bad', reason: 'WeirMalformedIntent' });
    expect(log.has('weir.dev/intent is malformed')).toBe(true);
    expect(await agent.handleCni(add('bad'), signal())).toEqual({ ok: true });
    const ep = [...fake.endpoints.values()][0];
    expect(ep?.desired.isolatedIngress).toBe(true);
    expect(ep?.bandwidth).toEqual({ ingressBitsPerSecond: 5_000_000 });
    expect(await agent.metrics.registry.getSingleMetricAsString('weir_agent_malformed_intents_total')).toMatch(/weir_agent_malformed_intents_total 1/);
    // The same bad intent seen again (resync, update) is not re-reported.
    source.put('pod', pod('bad', { annotations: { 'weir.dev/intent': '{"version":1,"networks":"eth0"}' } }));
    expect(events.events).toHaveLength(1);
  });

  it('attaches every interface the weir plugin is called for, even one the intent marks enforced:false', async () => {
    const intent = JSON.stringify({
      version: 1,
      networks: [
        { nad: 'ns-a/plain', interface: 'eth0', default: true, enforced: false },
        { nad: 'ns-a/underlay', interface: 'net1', default: false, enforced: true },
      ],
      bandwidth: {},
    });
    source.seed('pod', pod('multi', { annotations: { 'weir.dev/intent': intent } }));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('multi'), signal())).toEqual({ ok: true });
    expect(await agent.handleCni(add('multi', { ifName: 'net1', ip: '10.20.0.7', containerId: 'ctr-multi' }), signal())).toEqual({ ok: true });
    expect([...fake.endpoints.values()].map((e) => e.ifname).sort()).toEqual(['eth0', 'net1']);
  });

  it('a restarted agent adopts its endpoints without detaching anything', async () => {
    source.seed('pod', pod('a', { ip: '10.9.0.5' })).seed('networkpolicy', denyAllIngress);
    const first = makeAgent();
    await first.start();
    expect(await first.handleCni(add('a'), signal())).toEqual({ ok: true });
    const id = [...fake.endpoints.keys()][0] ?? 0;
    await first.stop();
    expect(fake.calls.filter((c) => c.op === 'detach')).toEqual([]);
    expect(fake.endpoints.has(id)).toBe(true);

    // The kernel still holds the state; the new process finds it through adoptExisting.
    fake.adoptable = [{ endpointId: id, generation: 1, policyEntries: 0, ingressShaped: false }];
    fake.calls.length = 0;
    const src2 = new ScriptedSource().seed('namespace', ns('ns-a', { team: 'a' })).seed('pod', pod('a', { ip: '10.9.0.5' })).seed('networkpolicy', denyAllIngress);
    const second = makeAgent(src2);
    await second.start();
    expect(fake.calls[0]).toEqual({ op: 'adopt' });
    expect(fake.calls.filter((c) => c.op === 'detach')).toEqual([]);
    // Re-programmed in place (tc replace), same endpoint id, same policy.
    expect(fake.calls).toContainEqual({ op: 'attach', endpointId: id });
    expect(fake.endpoints.get(id)?.desired.isolatedIngress).toBe(true);
    expect(second.status().endpoints).toMatchObject([{ endpointId: id, programmed: true }]);
  });

  it('detaches endpoints whose pod is gone at reconcile, and orphans found in the maps at start', async () => {
    source.seed('pod', pod('a'));
    fake.adoptable = [{ endpointId: 77, generation: 3, policyEntries: 2, ingressShaped: false }];
    const agent = makeAgent();
    await agent.start();
    expect(fake.calls).toContainEqual({ op: 'detach', endpointId: 77 });
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    source.remove('pod', pod('a'));
    await agent.idle();
    expect(fake.endpoints.size).toBe(0);
    expect(agent.status().endpoints).toEqual([]);
  });

  it('STATUS, GC and parse errors', async () => {
    source.seed('pod', pod('a')).seed('pod', pod('b', { ip: '10.9.0.6' })).seed('networkpolicy', { metadata: { namespace: 'ns-a', name: 'broken' }, spec: { podSelector: 'x' } });
    const agent = makeAgent();
    await agent.start();
    expect(log.has('NetworkPolicy ns-a/broken does not parse')).toBe(true);
    const status: CniRequest = { command: 'STATUS', cniVersion: '1.1.0', networkName: 'underlay', config: {}, args: {}, rawArgs: '', path: [] };
    expect(await agent.handleCni(status, signal())).toEqual({ ok: true });
    await agent.handleCni(add('a'), signal());
    await agent.handleCni(add('b', { ip: '10.9.0.6' }), signal());
    const gc: CniRequest = {
      command: 'GC', cniVersion: '1.1.0', networkName: 'underlay', config: {}, args: {}, rawArgs: '', path: [],
      validAttachments: [{ containerId: 'ctr-b', ifName: 'eth0' }],
    };
    expect(await agent.handleCni(gc, signal())).toEqual({ ok: true });
    expect(agent.status().endpoints.map((e) => e.pod)).toEqual(['ns-a/b']);
  });

  it('flow events become log lines, metrics and live /v1/flows records', async () => {
    source.seed('pod', pod('a', { ip: '10.9.0.5' })).seed('pod', pod('b', { ip: '10.9.0.6', node: 'node-2' })).seed('networkpolicy', denyAllIngress);
    const agent = makeAgent();
    await agent.start();
    await agent.handleCni(add('a'), signal());
    const server = http.createServer(agentRequestHandler(agent));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    try {
      const got: FlowRecord[] = [];
      const req = http.get({ host: '127.0.0.1', port, path: '/v1/flows?pod=ns-a/a&verdict=dropped' });
      const response = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
      expect(response.statusCode).toBe(200);
      response.setEncoding('utf8');
      let buf = '';
      response.on('data', (chunk: string) => {
        buf += chunk;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          got.push(JSON.parse(buf.slice(0, i)) as FlowRecord);
          buf = buf.slice(i + 1);
        }
      });
      while (agent.flows.size === 0) await new Promise((r) => setTimeout(r, 5));
      const base: FlowEvent = {
        timestampNs: 1n, endpointId: 1, ruleId: undefined, remoteIdentity: 300, packetLength: 60, family: 4,
        source: '10.9.0.6', destination: '10.9.0.5', sourcePort: 40312, destinationPort: 80, protocol: 6,
        direction: 'ingress', verdict: 'deny', reason: 'default-deny', tier: undefined,
      };
      fake.emit({ ...base, verdict: 'allow', reason: 'policy-allow' });
      fake.emit(base);
      while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({ endpoint: 'ns-a/a', source: 'ns-a/b:40312', destination: 'ns-a/a:80', verdict: 'DROPPED', policy: 'NetworkPolicy ns-a/deny-all (default deny)' });
      expect(log.lines.some((l) => l.level === 'info' && l.msg === 'ns-a/b:40312 -> ns-a/a:80 TCP DROPPED (policy NetworkPolicy ns-a/deny-all (default deny), ingress)')).toBe(true);
      req.destroy();

      const get = async (path: string): Promise<{ status: number; body: string }> => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        return { status: res.status, body: await res.text() };
      };
      expect((await get('/readyz')).status).toBe(200);
      expect((await get('/healthz')).status).toBe(200);
      expect((await get('/v1/flows?verdict=maybe')).status).toBe(400);
      const metrics = await get('/metrics');
      expect(metrics.body).toMatch(/weir_agent_flow_events_total\{endpoint="ns-a\/a",direction="ingress",verdict="dropped",reason="default-deny"\} 1/);
      expect(metrics.body).toMatch(/weir_agent_endpoints\{shaping="none"\} 1/);
      expect(metrics.body).toMatch(/weir_policy_verdicts_total\{namespace="ns-a",policy="",kind="default",direction="ingress",verdict="dropped"\} 1/);
      expect(metrics.body).toMatch(/weir_agent_reconcile_duration_seconds_count/);
      const status = JSON.parse((await get('/v1/status')).body) as { node: string; endpoints: unknown[]; maps: { ipcache: number } };
      expect(status.node).toBe(NODE);
      expect(status.endpoints).toHaveLength(1);
      expect(status.maps.ipcache).toBeGreaterThanOrEqual(2);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
