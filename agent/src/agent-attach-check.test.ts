/** The agent's attach check (endpoints/attach-check.ts) through the agent: re-attach, tamper Events, links added after ADD. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeDatapath } from './datapath/fake.js';
import type { ScriptedSource } from './kube/scripted.js';
import { add, newAgentFixture, pod, signal, type AgentFixture, type Lines, type RecordedEvents, type ScriptedProbe } from './agent.testkit.js';

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

  it('about a second after CNI ADD, without waiting for the attach check, links the rest of the chain added are enforced', async () => {
    source.seed('pod', pod('a'));
    const agent = makeAgent();
    await agent.start();
    expect(await agent.handleCni(add('a'), signal())).toEqual({ ok: true });
    // The chained coordinator adds veth0 after weir's ADD returned.
    fake.linkReports.set(1, { attached: ['veth0'], tampered: [], leftAlone: [] });
    for (const deadline = Date.now() + 3000; !log.has('link veth0, added after') && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
    expect(fake.calls).toContainEqual({ op: 'enforceLinks', endpointId: 1 });
    expect(log.has('ns-a/a: link veth0, added after weir\'s CNI ADD, now carries the endpoint\'s programs')).toBe(true);
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
