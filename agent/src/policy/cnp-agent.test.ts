// ClusterNetworkPolicy through the agent: watched objects in (scripted source), datapath state and
// Events out (fake datapath). The compiler semantics are in cnp.test.ts; this checks the wiring.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent, type Log } from '../agent.js';
import { FakeDatapath } from '../datapath/fake.js';
import { EndpointRegistry } from '../endpoints/registry.js';
import { ScriptedSource } from '../kube/scripted.js';
import { cnp, node, RecordedObjectEvents } from './testkit.js';

const NODE = 'node-1';
function recordingLog(lines: string[]): Log {
  const keep = (_o: object, msg: string): void => { lines.push(msg); };
  return { debug: keep, info: keep, warn: keep, error: keep };
}

const pod = { metadata: { namespace: 'ns-a', name: 'a', uid: 'uid-a', labels: { app: 'a' } }, spec: { nodeName: NODE, containers: [] }, status: { phase: 'Running', podIPs: [{ ip: '10.9.0.5' }] } };

describe('Agent with ClusterNetworkPolicies', () => {
  let dir: string;
  /** An agent over `source` with pod ns-a/a attached on eth0 (CNI ADD). */
  async function startWithPodA(source: ScriptedSource, fake: FakeDatapath, lines: string[], events: RecordedObjectEvents): Promise<Agent> {
    const a = new Agent({
      config: { nodeName: NODE, pinRoot: '/nonexistent', cniSocket: '/nonexistent', apiPort: 1, metricsPort: 1, metricsHost: '127.0.0.1', bpfObjectDir: '/nonexistent', netnsDir: '/var/run/netns', stateDir: dir, logLevel: 'debug', resyncSeconds: 3600, attachCheckSeconds: 3600 },
      datapath: fake, probe: { check: async () => ({ kind: 'attached' }) }, source, registry: new EndpointRegistry(dir), log: recordingLog(lines), policyEvents: events, podWaitMs: 100, coalesceMs: 1,
    });
    agent = a;
    await a.start();
    const res = await a.handleCni({
      command: 'ADD', cniVersion: '1.0.0', networkName: 'underlay', config: {}, args: {}, rawArgs: '', path: [],
      attachment: { containerId: 'ctr-a', ifName: 'eth0', netns: '/var/run/netns/pod-a' }, pod: { namespace: 'ns-a', name: 'a', uid: 'uid-a' },
      prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.9.0.5/24' }] }, runtimeConfig: {},
    }, new AbortController().signal);
    expect(res).toEqual({ ok: true });
    return a;
  }
  let agent: Agent | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weir-cnp-agent-'));
  });
  afterEach(async () => {
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('programs Admin-tier entries, resolves nodes peers from watched Nodes, and raises an Event for domainNames', async () => {
    const fake = new FakeDatapath();
    const lines: string[] = [];
    const events = new RecordedObjectEvents();
    const source = new ScriptedSource()
      .seed('namespace', { metadata: { name: 'ns-a' } })
      .seed('pod', pod)
      .seed('node', node('w1', { role: 'worker' }, ['172.18.0.2']))
      .seed('clusternetworkpolicy', { ...(cnp('to-nodes', 'Admin', 5, { subject: { namespaces: {} }, egress: [{ name: 'no-kubelet', action: 'Deny', to: [{ nodes: { matchLabels: { role: 'worker' } } }] }] }) as object), metadata: { name: 'to-nodes', uid: 'u-1' } });
    agent = await startWithPodA(source, fake, lines, events);
    // The node's address is an ipBlock identity, and the endpoint has an admin-tier egress deny for it.
    const nodeId = fake.ipcache.get('172.18.0.2/32');
    expect(nodeId).toBeDefined();
    const ep = [...fake.endpoints.values()][0];
    const entry = ep?.desired.entries.find((e) => e.tier === 'admin' && e.direction === 'egress' && e.verdict === 'deny' && e.identity === nodeId);
    expect(entry).toBeDefined();

    // weir observe / the flow log name the policy, its tier and its rule.
    fake.emit({
      timestampNs: 1n, endpointId: ep?.endpointId ?? 0, ruleId: entry?.ruleId, remoteIdentity: nodeId ?? 0, packetLength: 60, family: 4,
      source: '10.9.0.5', destination: '172.18.0.2', sourcePort: 40312, destinationPort: 10250, protocol: 6,
      direction: 'egress', verdict: 'deny', reason: 'policy-deny', tier: 'admin',
    });
    const flowLine = 'ns-a/a:40312 -> 172.18.0.2:10250 TCP DROPPED (policy ClusterNetworkPolicy to-nodes (Admin tier, rule #0 "no-kubelet"), egress)';
    for (let i = 0; i < 200 && !lines.includes(flowLine); i++) await new Promise((r) => setTimeout(r, 5));
    expect(lines).toContain(flowLine);

    // A node that gains the label joins the peer.
    source.put('node', node('w2', { role: 'worker' }, ['172.18.0.3']));
    await agent.idle();
    expect(fake.ipcache.has('172.18.0.3/32')).toBe(true);

    // domainNames: a Warning Event on the policy, once.
    const dns = { ...(cnp('allow-dns', 'Admin', 1, { subject: { namespaces: {} }, egress: [{ action: 'Accept', to: [{ domainNames: ['example.com'] }] }] }) as object), metadata: { name: 'allow-dns', uid: 'u-2' } };
    source.put('clusternetworkpolicy', dns);
    source.put('clusternetworkpolicy', dns);
    await agent.idle();
    expect(events.events).toHaveLength(1);
    expect(events.events[0]).toMatchObject({ object: { kind: 'ClusterNetworkPolicy', name: 'allow-dns', uid: 'u-2' }, reason: 'WeirRuleNotEnforced' });
    expect(events.events[0]?.message).toContain('domainNames (example.com) are not enforced by Weir');

    // A ClusterNetworkPolicy that does not parse (v1alpha1's Allow) fails closed through the common
    // intake: its subjects are isolated (deny all) in its tier, and an Event says so.
    source.put('clusternetworkpolicy', { ...(cnp('typo', 'Admin', 3, { subject: { namespaces: {} }, egress: [{ action: 'Allow', to: [{ namespaces: {} }] }] }) as object), metadata: { name: 'typo', uid: 'u-3' } });
    await agent.idle();
    expect(events.events.at(-1)).toMatchObject({ object: { kind: 'ClusterNetworkPolicy', name: 'typo' }, reason: 'WeirPolicyUnreadable' });
    const after = [...fake.endpoints.values()][0];
    expect(after?.desired.entries.some((e) => e.tier === 'admin' && e.direction === 'egress' && e.verdict === 'deny' && e.identity === 0)).toBe(true);
  });

  it('an Admin-tier ClusterNetworkPolicy Deny in audit: audit entries, nothing enforced, and a would-drop Event on the policy', async () => {
    const fake = new FakeDatapath();
    const lines: string[] = [];
    const events = new RecordedObjectEvents();
    const audited = cnp('deny-world', 'Admin', 5, { subject: { namespaces: {} }, egress: [{ name: 'world', action: 'Deny', to: [{ networks: ['0.0.0.0/0'] }] }] }, { 'weir.dev/enforcement': 'audit' }) as { metadata: object };
    const source = new ScriptedSource()
      .seed('namespace', { metadata: { name: 'ns-a' } })
      .seed('pod', pod)
      .seed('clusternetworkpolicy', { ...audited, metadata: { ...audited.metadata, uid: 'u-audit' } });
    agent = await startWithPodA(source, fake, lines, events);
    const ep = [...fake.endpoints.values()][0];
    const admin = ep?.desired.entries.filter((e) => e.tier === 'admin') ?? [];
    expect(admin.length).toBeGreaterThan(0);
    expect(admin.every((e) => e.audit === 'rule' && e.verdict === 'deny')).toBe(true);
    const deny = admin[0];
    fake.emit({
      timestampNs: 1n, endpointId: ep?.endpointId ?? 0, ruleId: deny?.ruleId, remoteIdentity: 1, packetLength: 60, family: 4,
      source: '10.9.0.5', destination: '192.0.2.1', sourcePort: 40312, destinationPort: 443, protocol: 6,
      direction: 'egress', verdict: 'audit', reason: 'policy-deny', tier: 'admin',
    });
    const flowLine = 'ns-a/a:40312 -> 192.0.2.1:443 TCP AUDIT would drop (policy ClusterNetworkPolicy deny-world (Admin tier, rule #0 "world") (audit policy), egress)';
    for (let i = 0; i < 200 && !events.events.some((e) => e.reason === 'WeirAuditWouldDrop'); i++) await new Promise((r) => setTimeout(r, 5));
    const wouldDrop = events.events.find((e) => e.reason === 'WeirAuditWouldDrop');
    expect(wouldDrop?.object).toMatchObject({ kind: 'ClusterNetworkPolicy', name: 'deny-world', uid: 'u-audit', apiVersion: 'policy.networking.k8s.io/v1beta1' });
    expect(wouldDrop?.message).toMatch(/^1 distinct flow would have been dropped by this audit policy/);
    expect(lines).toContain(flowLine);
  });
});
