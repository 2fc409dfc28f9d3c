/**
 * The agent's attach check (endpoints/attach-check.ts) through the agent: re-attach, tamper Events,
 * links added after ADD, heard by the netns's link watch (endpoints/link-watches.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeDatapath } from './datapath/fake.js';
import type { ScriptedSource } from './kube/scripted.js';
import { add, del, newAgentFixture, pod, signal, type AgentFixture, type Lines, type RecordedEvents, type ScriptedProbe } from './agent.testkit.js';

describe('Agent attach check (fake datapath, scripted cluster)', () => {
  let fake: FakeDatapath;
  let source: ScriptedSource;
  let probe: ScriptedProbe;
  let log: Lines;
  let events: RecordedEvents;
  let makeAgent: AgentFixture['makeAgent'];
  let fixture: AgentFixture;

  beforeEach(async () => {
    fixture = await newAgentFixture();
    ({ fake, source, probe, log, events, makeAgent } = fixture);
  });

  afterEach(() => fixture.stop());

  it('the attach check re-attaches programs that disappeared and reports it', async () => {
    source.seed('pod', pod('a'));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    expect(await agent.checkAttachments()).toBe(0);
    probe.missing.set('/var/run/netns/pod-a#eth0', { kind: 'missing', directions: ['ingress'], foreign: [] });
    await agent.idle();
    fake.calls.length = 0;
    expect(await agent.checkAttachments()).toBe(1);
    expect(fake.calls.filter((c) => c.op !== 'syncIpCache' && c.op !== 'enforceLinks')).toEqual([{ op: 'attach', endpointId: 1 }]);
    expect(log.has('programs missing or replaced on ns-a/a eth0, re-attached')).toBe(true);
    expect(await agent.metrics.registry.getSingleMetricAsString('weir_agent_reattachments_total')).toMatch(/weir_agent_reattachments_total 1/);
    // CHECK says what is wrong.
    const check = await agent.handleCni({ ...add('a'), command: 'CHECK' }, signal());
    expect(check.ok).toBe(false);
  });

  it('a foreign program in Weir\'s slot is replaced and is a Warning Event on the pod', async () => {
    source.seed('pod', pod('a'));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    probe.missing.set('/var/run/netns/pod-a#eth0', { kind: 'missing', directions: ['egress'], foreign: ['egress'] });
    fake.calls.length = 0;
    expect(await agent.checkAttachments()).toBe(1);
    expect(fake.calls.filter((c) => c.op === 'attach')).toEqual([{ op: 'attach', endpointId: 1 }]);
    expect(events.events).toContainEqual(expect.objectContaining({ pod: 'ns-a/a', reason: 'WeirProgramReplaced' }));
    expect(probe.expected).toEqual(fake.programIds());
  });

  it('the attach check enforces links a later chained plugin added and reports tampering on them', async () => {
    source.seed('pod', pod('a'));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    fake.linkReports.set(1, {
      attached: ['veth0'], tampered: [{ link: 'veth0', filters: ['ingress: u32 filter handle 2048 priority 1 protocol 0x800 ahead of Weir\'s, removed'] }], leftAlone: [],
    });
    fake.calls.length = 0;
    expect(await agent.checkAttachments()).toBe(1);
    expect(fake.calls).toContainEqual({ op: 'enforceLinks', endpointId: 1 });
    expect(log.has('ns-a/a: link veth0, added after weir\'s CNI ADD, now carries the endpoint\'s programs')).toBe(true);
    expect(events.events).toContainEqual(expect.objectContaining({ pod: 'ns-a/a', reason: 'WeirProgramReplaced' }));
  });

  it('CNI ADD opens the netns\'s link watch before answering; a link the rest of the chain adds is enforced when the watch hears of it', async () => {
    source.seed('pod', pod('a'));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    expect(agent.watchedNetns()).toEqual(['/var/run/netns/pod-a']);
    // One pass over the links already there when the watch opened.
    await agent.linkPassesSettled();
    expect(fake.calls).toContainEqual({ op: 'enforceLinks', endpointId: 1 });
    // The chained coordinator adds veth0 after weir's ADD returned; the kernel tells the watch.
    fake.linkReports.set(1, { attached: ['veth0'], tampered: [], leftAlone: [] });
    fake.calls.length = 0;
    fake.linkChange('/var/run/netns/pod-a');
    await agent.linkPassesSettled();
    expect(fake.calls).toEqual([{ op: 'enforceLinks', endpointId: 1 }]);
    expect(log.has('ns-a/a: link veth0, added after weir\'s CNI ADD, now carries the endpoint\'s programs')).toBe(true);
    // Another pod's netns changing is not this one's business.
    fake.calls.length = 0;
    fake.linkChange('/var/run/netns/pod-b');
    await agent.linkPassesSettled();
    expect(fake.calls).toEqual([]);
  });

  it('a flood of link notifications is coalesced: one pass runs, at most one more follows', async () => {
    source.seed('pod', pod('a'));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    await agent.linkPassesSettled();
    fake.calls.length = 0;
    for (let i = 0; i < 1000; i++) fake.linkChange('/var/run/netns/pod-a');
    await agent.linkPassesSettled();
    expect(fake.calls).toEqual([{ op: 'enforceLinks', endpointId: 1 }, { op: 'enforceLinks', endpointId: 1 }]);
  });

  it('the watch is shared by a netns\'s endpoints and closed with the last (CNI DEL), and on stop', async () => {
    source.seed('pod', pod('a')).seed('pod', pod('b'));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    expect(await agent.handleCni(add('a', { ifName: 'net1' }), signal())).toEqual({ ok: true });
    expect(await agent.handleCni(add('b'), signal())).toEqual({ ok: true });
    expect(fake.linkWatches.get('/var/run/netns/pod-a')?.size).toBe(1);
    expect(await agent.handleCni(del('a'), signal())).toEqual({ ok: true });
    expect(agent.watchedNetns().sort()).toEqual(['/var/run/netns/pod-a', '/var/run/netns/pod-b']);
    expect(await agent.handleCni(del('a', 'net1'), signal())).toEqual({ ok: true });
    expect(agent.watchedNetns()).toEqual(['/var/run/netns/pod-b']);
    expect([...fake.linkWatches.keys()]).toEqual(['/var/run/netns/pod-b']);
    await agent.stop();
    expect(fake.linkWatches.size).toBe(0);
  });

  it('the watch closes when the reconcile forgets an endpoint whose pod is gone', async () => {
    source.seed('pod', pod('a'));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    source.remove('pod', pod('a'));
    await agent.idle();
    expect(fake.linkWatches.size).toBe(0);
  });

  it('a watch that breaks is an error line and a metric, gets a pass, and is opened again', async () => {
    source.seed('pod', pod('a'));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    await agent.linkPassesSettled();
    fake.calls.length = 0;
    fake.linkChange('/var/run/netns/pod-a', new Error('recv link notifications: Bad file descriptor'));
    await agent.linkPassesSettled();
    expect(fake.calls).toEqual([{ op: 'enforceLinks', endpointId: 1 }]);
    expect(log.has('the link watch of /var/run/netns/pod-a failed')).toBe(true);
    expect(await agent.metrics.registry.getSingleMetricAsString('weir_agent_reconcile_errors_total')).toMatch(/step="linkwatch"} 1/);
    expect(fake.linkWatches.get('/var/run/netns/pod-a')?.size).toBe(1);
    fake.calls.length = 0;
    fake.linkChange('/var/run/netns/pod-a');
    await agent.linkPassesSettled();
    expect(fake.calls).toEqual([{ op: 'enforceLinks', endpointId: 1 }]);
  });

  it('an endpoint whose netns cannot be watched fails its ADD closed, naming why, and is detached', async () => {
    source.seed('pod', pod('a'));
    const agent = makeAgent();
    await agent.start();
    fake.watchError = new Error('setns: Operation not permitted');
    const res = await agent.handleCni(add('a'), signal());
    expect(res.ok).toBe(false);
    expect(JSON.stringify(res)).toContain('cannot watch the links of /var/run/netns/pod-a');
    expect(fake.endpoints.size).toBe(0);
    expect(agent.watchedNetns()).toEqual([]);
  });

  it('a restarted agent opens the watch of its endpoints\' netns on recovery', async () => {
    source.seed('pod', pod('a'));
    const first = makeAgent();
    await first.start();
    expect(await first.handleCni(add('a'), signal())).toEqual({ ok: true });
    await first.stop();
    expect(fake.linkWatches.size).toBe(0);
    fake.adoptable = [{ endpointId: 1, generation: 1, policyEntries: 0, ingressShaped: false }];
    const second = makeAgent();
    await second.start();
    expect(second.watchedNetns()).toEqual(['/var/run/netns/pod-a']);
    fake.linkReports.set(1, { attached: ['veth0'], tampered: [], leftAlone: [] });
    fake.linkChange('/var/run/netns/pod-a');
    await second.linkPassesSettled();
    expect(log.count('ns-a/a: link veth0, added after weir\'s CNI ADD')).toBeGreaterThan(0);
  });

  it('the attach check neither re-attaches nor reports an endpoint whose pod went away while it probed', async () => {
    source.seed('pod', pod('a'));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    // The pod is deleted while the probe runs; the reconcile detaches it, so its programs are "missing".
    probe.missing.set('/var/run/netns/pod-a#eth0', { kind: 'missing', directions: ['ingress', 'egress'], foreign: [] });
    probe.onCheck = async () => {
      probe.onCheck = undefined;
      source.remove('pod', pod('a'));
      await agent.idle();
    };
    fake.calls.length = 0;
    expect(await agent.checkAttachments()).toBe(0);
    expect(fake.calls.filter((c) => c.op === 'attach')).toEqual([]);
    expect(log.has('programs missing or replaced on ns-a/a eth0, re-attached')).toBe(false);
    expect(await agent.metrics.registry.getSingleMetricAsString('weir_agent_reattachments_total')).toMatch(/weir_agent_reattachments_total 0/);
  });

});
