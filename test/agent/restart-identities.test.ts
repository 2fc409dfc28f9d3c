/**
 * Agent restart: the restarted agent learns the cluster in another order than the first one did.
 * Identities are derived from their keys (agent/src/identity/allocator.ts), so it computes the same
 * numbers and rewrites nothing; before that, it renumbered every identity, and between its ipcache
 * write and its policy writes, x/b (allowed) was dropped by x/a (two-node e2e, during the restart).
 * Every verdict must stay the policy's before and after. (Denied flows passing after a restart had
 * another cause, policies read from typed lists: see sources-list.test.ts.)
 *
 * The real datapath (pinned maps, weir.bpf.o run by BPF_PROG_TEST_RUN) under two Agent
 * instances sharing one pin root and one state dir, as two agent processes on a node do.
 * Programs are staged, not tc-attached: the verdicts come from the same maps either way.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Agent, type Log } from '../../agent/src/agent.js';
import type { AddRequest } from '../../agent/src/cni/protocol.js';
import type { AgentConfig } from '../../agent/src/config.js';
import type { AttachRequest, AttachResult, LinkWatchHandle } from '../../agent/src/datapath/api.js';
import { encodeIpCacheKey } from '../../agent/src/datapath/codec.js';
import { Datapath } from '../../agent/src/datapath/driver.js';
import type { AttachProbe, AttachState } from '../../agent/src/endpoints/probe.js';
import { EndpointRegistry } from '../../agent/src/endpoints/registry.js';
import type { Resource } from '../../agent/src/kube/sources.js';
import { ScriptedSource } from '../../agent/src/kube/scripted.js';
import { OBJECT_PATH, TC_ACT_OK, TC_ACT_SHOT, openHarness, type Harness } from '../../harness/datapath/harness.js';
import { ipv4, tcp, udp } from '../../harness/datapath/packets.js';
import { describePrivileged } from '../support/privileged.js';

const NODE = 'node-1';
const IP = { xa: '10.61.0.10', xb: '10.61.0.20', yb: '10.61.0.30', yc: '10.61.0.40', za: '10.61.0.50' } as const;

/** The driver with attachment reduced to staging (no netns needed for BPF_PROG_TEST_RUN), so no netns to watch either. */
class StagedDatapath extends Datapath {
  override attachEndpoint(req: AttachRequest): Promise<AttachResult> {
    return this.stageEndpoint(req);
  }
  override watchLinks(): Promise<LinkWatchHandle> {
    return Promise.resolve({ close: () => undefined });
  }
}

const quiet: Log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const attached: AttachProbe = { check: async (): Promise<AttachState> => ({ kind: 'attached' }) };

const ns = (name: string): unknown => ({ metadata: { name, labels: { ns: name } } });
function pod(namespace: string, name: string, ip: string, node: string): unknown {
  return {
    metadata: { namespace, name, uid: `uid-${namespace}-${name}`, labels: { pod: name }, annotations: {} },
    spec: { nodeName: node, containers: [{ name: 'c' }] },
    status: { phase: 'Running', podIPs: [{ ip }] },
  };
}
const PODS: Array<[string, string, string, string]> = [
  ['x', 'a', IP.xa, NODE], ['x', 'b', IP.xb, 'node-2'], ['y', 'b', IP.yb, NODE], ['y', 'c', IP.yc, 'node-2'], ['z', 'a', IP.za, 'node-2'],
];
const POLICY = {
  metadata: { namespace: 'x', name: 'a-from-b' },
  spec: { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] },
};

function add(namespace: string, name: string, ip: string): AddRequest {
  return {
    command: 'ADD', cniVersion: '1.0.0', networkName: 'underlay', config: {}, args: {}, rawArgs: '', path: [],
    attachment: { containerId: `ctr-${namespace}-${name}`, ifName: 'eth0', netns: `/var/run/netns/h16-${namespace}-${name}` },
    pod: { namespace, name, uid: `uid-${namespace}-${name}` },
    prevResult: { cniVersion: '1.0.0', ips: [{ address: `${ip}/24` }] },
    runtimeConfig: {},
  };
}

describePrivileged('agent restart: same identities, verdicts unchanged (real maps)', () => {
  let h: Harness;
  let dir: string;
  const agents: Agent[] = [];

  beforeAll(async () => {
    h = openHarness('h16-restart');
    dir = await mkdtemp(join(tmpdir(), 'weir-h16-'));
  });
  afterAll(async () => {
    for (const a of agents) await a.stop();
    await (h as typeof h | undefined)?.close(); // unset when beforeAll failed first
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function makeAgent(order: 'forward' | 'reverse'): { agent: Agent; source: ScriptedSource } {
    const config: AgentConfig = {
      nodeName: NODE, pinRoot: h.pinRoot, cniSocket: '/nonexistent', apiPort: 1, metricsPort: 1, metricsHost: '127.0.0.1',
      bpfObjectDir: 'build/bpf', netnsDir: '/var/run/netns', stateDir: dir, logLevel: 'warn', resyncSeconds: 3600, attachCheckSeconds: 3600,
    };
    const source = new ScriptedSource();
    const seeds: Array<[Resource, unknown]> = [
      ['namespace', ns('x')], ['namespace', ns('y')], ['namespace', ns('z')],
      ...PODS.map(([n, p, ip, node]): [Resource, unknown] => ['pod', pod(n, p, ip, node)]),
      ['networkpolicy', POLICY],
    ];
    for (const [r, o] of order === 'forward' ? seeds : [...seeds].reverse()) source.seed(r, o);
    const agent = new Agent({
      config, datapath: new StagedDatapath({ addon: h.addon, objectPath: OBJECT_PATH, pinRoot: h.pinRoot }),
      probe: attached, source, registry: new EndpointRegistry(dir), log: quiet, podWaitMs: 100, coalesceMs: 1,
    });
    agents.push(agent);
    return { agent, source };
  }

  /** The identity the pinned ipcache holds for an address (first 4 bytes of the value). */
  function identityOf(ip: string): number | undefined {
    const obj = h.addon.openObject({ path: OBJECT_PATH, pinRoot: h.pinRoot, constants: { endpoint_id: 0 } });
    try {
      return obj.map('weir_ipcache').lookup(encodeIpCacheKey(`${ip}/32`))?.readUInt32LE(0);
    } finally {
      obj.close();
    }
  }

  /** x/a's ingress verdict for a new TCP and UDP flow from `from` (fresh source ports each call). */
  let sport = 30000;
  function verdicts(endpointId: number, from: string): number[] {
    const obj = h.dp.loadEndpointObject(endpointId);
    try {
      const run = (pkt: Buffer): number => obj.program('weir_ingress').testRun({ data: pkt }).retval;
      return [run(ipv4(from, IP.xa, tcp(sport++, 80))), run(ipv4(from, IP.xa, udp(sport++, 81)))];
    } finally {
      obj.close();
    }
  }

  it('x/a hears only x/b before and after a restart that learns the cluster in another order', async () => {
    const first = makeAgent('forward');
    await first.agent.start();
    expect(await first.agent.handleCni(add('x', 'a', IP.xa), new AbortController().signal)).toEqual({ ok: true });
    expect(await first.agent.handleCni(add('y', 'b', IP.yb), new AbortController().signal)).toEqual({ ok: true });
    await first.agent.idle();
    const xa = first.agent.status().endpoints.find((e) => e.pod === 'x/a');
    const id = xa?.endpointId ?? 0;
    expect(xa?.isolation.ingress).toBe(true);
    expect(verdicts(id, IP.xb)).toEqual([TC_ACT_OK, TC_ACT_OK]);
    expect(verdicts(id, IP.yb)).toEqual([TC_ACT_SHOT, TC_ACT_SHOT]);
    expect(verdicts(id, IP.yc)).toEqual([TC_ACT_SHOT, TC_ACT_SHOT]);
    const before = [identityOf(IP.xb), identityOf(IP.yb)];
    await first.agent.stop();

    const second = makeAgent('reverse');
    await second.agent.start();
    await second.agent.idle();
    // Identities are derived from their keys: the other arrival order gives the same numbers,
    // so the restart rewrites nothing (no window where ipcache and policy disagree).
    expect([identityOf(IP.xb), identityOf(IP.yb)]).toEqual(before);
    expect(before.every((id) => id !== undefined && id >= 256)).toBe(true);
    expect(second.agent.status().endpoints.find((e) => e.pod === 'x/a')).toMatchObject({ endpointId: id, programmed: true, policyEntries: 1 });
    expect(verdicts(id, IP.xb)).toEqual([TC_ACT_OK, TC_ACT_OK]);
    expect(verdicts(id, IP.yb)).toEqual([TC_ACT_SHOT, TC_ACT_SHOT]);
    expect(verdicts(id, IP.yc)).toEqual([TC_ACT_SHOT, TC_ACT_SHOT]);
    expect(verdicts(id, IP.za)).toEqual([TC_ACT_SHOT, TC_ACT_SHOT]);
  });
});
