/**
 * Issue 16, upgrade: a new agent started on pins of an older map layout. Two Agent instances
 * (agent/src/agent.ts) over the real Datapath, one pin root and one state dir, as two agent
 * processes of two releases on a node; the pod is a macvlan netns with real packets. The first
 * agent programs x/a through CNI ADD and stops (programs stay attached); its pins are then made an
 * older layout (no weir_meta, a weir_ipcache of another value size); the second agent's start
 * replaces them (agent/src/datapath/layout.ts) and re-attaches x/a from its registry: x/a hears
 * x/b and not y/c before, and after, with the new programs on its interface and the old pins gone.
 * The packet-level detail (the old programs enforcing until the re-attach, a live connection
 * across it) is test/datapath/upgrade.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Agent, type Log } from '../../agent/src/agent.js';
import type { AddRequest } from '../../agent/src/cni/protocol.js';
import type { AgentConfig } from '../../agent/src/config.js';
import { LAYOUT_VERSION, MAPS } from '../../agent/src/datapath/codec.js';
import { Datapath } from '../../agent/src/datapath/driver.js';
import { UNVERSIONED } from '../../agent/src/datapath/layout.js';
import type { AttachProbe, AttachState } from '../../agent/src/endpoints/probe.js';
import { EndpointRegistry } from '../../agent/src/endpoints/registry.js';
import { ScriptedSource } from '../../agent/src/kube/scripted.js';
import { OBJECT_PATH, openHarness, type Harness } from '../../harness/datapath/harness.js';
import { macvlanPods } from '../../harness/datapath/pods.js';
import { describePrivileged } from '../support/privileged.js';
import { NetLab, execInNetns, netnsPath, runChecked } from '../../harness/support/netns.js';

const NODE = 'node-1';
const PROBE = 'test/datapath/probe.mjs';
const IP = { a: '10.94.0.1', b: '10.94.0.2', c: '10.94.0.3' } as const;
const quiet: Log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const attached: AttachProbe = { check: async (): Promise<AttachState> => ({ kind: 'attached' }) };

function pod(namespace: string, name: string, ip: string, node: string): unknown {
  return {
    metadata: { namespace, name, uid: `uid-${namespace}-${name}`, labels: { pod: name }, annotations: {} },
    spec: { nodeName: node, containers: [{ name: 'c' }] },
    status: { phase: 'Running', podIPs: [{ ip }] },
  };
}

describePrivileged('agent upgrade across a map layout change (real agent, real packets)', () => {
  const lab = new NetLab('wdpv');
  let h: Harness;
  let dir: string;
  let ns: Record<'a' | 'b' | 'c', string>;
  const agents: Agent[] = [];

  const tcp = async (from: 'b' | 'c'): Promise<string> => (await execInNetns(ns[from], ['node', PROBE, 'tcp', IP.a, '80'])).stdout.trim();
  const progOfA = async (): Promise<number | undefined> => (await h.addon.tc.query({ netnsPath: netnsPath(ns.a), ifname: 'eth0', direction: 'ingress' }))?.progId;

  function makeAgent(): { agent: Agent; datapath: Datapath } {
    const config: AgentConfig = {
      nodeName: NODE, pinRoot: h.pinRoot, cniSocket: '/nonexistent', apiPort: 1, metricsPort: 1, metricsHost: '127.0.0.1',
      bpfObjectDir: 'build/bpf', netnsDir: '/var/run/netns', stateDir: dir, logLevel: 'warn', resyncSeconds: 3600, attachCheckSeconds: 3600,
    };
    const source = new ScriptedSource();
    source.seed('namespace', { metadata: { name: 'x', labels: {} } });
    source.seed('namespace', { metadata: { name: 'y', labels: {} } });
    source.seed('pod', pod('x', 'a', IP.a, NODE));
    source.seed('pod', pod('x', 'b', IP.b, 'node-2'));
    source.seed('pod', pod('y', 'c', IP.c, 'node-2'));
    source.seed('networkpolicy', {
      metadata: { namespace: 'x', name: 'a-from-b' },
      spec: { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] },
    });
    const datapath = new Datapath({ addon: h.addon, objectPath: OBJECT_PATH, pinRoot: h.pinRoot, conntrackSweepSeconds: 0 });
    const agent = new Agent({ config, datapath, probe: attached, source, registry: new EndpointRegistry(dir), log: quiet, podWaitMs: 100, coalesceMs: 1 });
    agents.push(agent);
    return { agent, datapath };
  }

  beforeAll(async () => {
    await lab.sweep();
    h = openHarness('upgrade-agent');
    dir = await mkdtemp(join(tmpdir(), 'weir-upgrade-'));
    ({ ns } = await macvlanPods(lab, { a: { ipv4: IP.a }, b: { ipv4: IP.b }, c: { ipv4: IP.c } }));
    const server = lab.spawnInNetns(ns.a, ['node', PROBE, 'serve', '80', '']);
    await new Promise<void>((resolve) => server.stdout?.once('data', () => resolve()));
  }, 60_000);

  afterAll(async () => {
    for (const a of agents) await a.stop();
    await (h as typeof h | undefined)?.close(); // unset when beforeAll failed first
    if (dir) await rm(dir, { recursive: true, force: true });
    await lab.cleanup();
  });

  it('the new agent replaces the old pins at start and x/a stays enforced', async () => {
    const first = makeAgent();
    await first.agent.start();
    const add: AddRequest = {
      command: 'ADD', cniVersion: '1.0.0', networkName: 'underlay', config: {}, args: {}, rawArgs: '', path: [],
      attachment: { containerId: 'ctr-x-a', ifName: 'eth0', netns: netnsPath(ns.a) },
      pod: { namespace: 'x', name: 'a', uid: 'uid-x-a' },
      prevResult: { cniVersion: '1.0.0', ips: [{ address: `${IP.a}/24` }] },
      runtimeConfig: {},
    };
    expect(await first.agent.handleCni(add, new AbortController().signal)).toEqual({ ok: true });
    await first.agent.idle();
    expect(await tcp('b')).toBe('ok');
    expect(await tcp('c')).toMatch(/^fail/);
    const oldProg = await progOfA();
    expect(oldProg).toBe(first.datapath.programIds().ingress);
    await first.agent.stop();

    // The pins as an agent before layout versions left them, after a change of the ipcache value.
    await runChecked(['rm', join(h.pinRoot, MAPS.meta), join(h.pinRoot, MAPS.ipcache)]);
    const smoke = h.addon.openObject({ path: 'build/bpf/smoke.bpf.o' });
    smoke.map('smoke_lpm').pin(join(h.pinRoot, MAPS.ipcache));
    smoke.close();
    expect(await tcp('b')).toBe('ok'); // the agent is down; its programs still enforce
    expect(await tcp('c')).toMatch(/^fail/);

    const second = makeAgent();
    await second.agent.start();
    await second.agent.idle();
    expect(second.datapath.layoutSwitch).toMatchObject({ from: UNVERSIONED, to: LAYOUT_VERSION, endpointsCarried: 1 });
    expect(second.agent.status().endpoints.find((e) => e.pod === 'x/a')).toMatchObject({ programmed: true, policyEntries: 1 });
    const newProg = await progOfA();
    expect(newProg).toBe(second.datapath.programIds().ingress);
    expect(newProg).not.toBe(oldProg);
    expect(await tcp('b')).toBe('ok');
    expect(await tcp('c')).toMatch(/^fail/);
    // Only the new object's pins, of this layout.
    expect(readdirSync(h.pinRoot).every((p) => p.startsWith('weir_'))).toBe(true);
    const ipcache = h.addon.openPinnedMap(join(h.pinRoot, MAPS.ipcache));
    expect(ipcache.valueSize).toBe(8);
    ipcache.close();
  }, 90_000);
});
