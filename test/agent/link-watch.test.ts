/**
 * The link watch alone enforces a link a plugin chained after weir adds (issue 13, finding 3):
 * the agent with the real datapath, a real pod netns and a clock that never fires, so neither the
 * periodic attach check nor any timer can run a link pass. After weir's CNI ADD, a "coordinator"
 * adds veth0 to the pod and sets it up; the netns's link watch (agent/src/endpoints/link-watches.ts,
 * native/src/linkwatch.cc) hears it and veth0 carries the endpoint's programs. CNI DEL closes the
 * watch.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Agent, type Log } from '../../agent/src/agent.js';
import type { AddRequest, DelRequest } from '../../agent/src/cni/protocol.js';
import type { AgentConfig } from '../../agent/src/config.js';
import { ADOPTED_CLASSID_BIT } from '../../agent/src/datapath/filters.js';
import { TcAttachProbe, type AttachState } from '../../agent/src/endpoints/probe.js';
import { EndpointRegistry } from '../../agent/src/endpoints/registry.js';
import { ScriptedSource } from '../../agent/src/kube/scripted.js';
import type { Clock } from '../../agent/src/reconcile/runner.js';
import { NetLab, netnsPath, runChecked } from '../../harness/support/netns.js';
import { openHarness, type Harness } from '../../harness/datapath/harness.js';
import { describePrivileged } from '../support/privileged.js';

const NODE = 'node-1';
const POD_IP = '10.95.0.2';
const EP = 1;
const quiet: Log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Time stands still: every timer the agent sets (attach check, resync) is swallowed, and counted. */
class FrozenClock implements Clock {
  timers = 0;
  now(): number {
    return 0;
  }
  setTimeout(): { cancel(): void } {
    this.timers++;
    return { cancel: () => undefined };
  }
}

describePrivileged('the link watch alone enforces a link added after weir\'s CNI ADD (real netns, real datapath)', () => {
  const lab = new NetLab('wdlw');
  let h: Harness;
  let dir: string;
  let pod: string;
  let node: string;
  let agent: Agent | undefined;
  let probe: TcAttachProbe;

  beforeAll(async () => {
    await lab.sweep();
    pod = await lab.netns('pod');
    node = await lab.netns('node');
    await lab.veth('eth0', 'vh-eth0', { ns: pod, peerNs: node });
    await runChecked(['ip', '-n', pod, 'addr', 'add', `${POD_IP}/24`, 'dev', 'eth0']);
    h = openHarness('link-watch', { nodeNetnsPath: netnsPath(node) });
    probe = new TcAttachProbe(h.addon.tc);
    dir = await mkdtemp(join(tmpdir(), 'weir-linkwatch-'));
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await (h as typeof h | undefined)?.close();
    await lab.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('veth0, added and set up after the ADD, gets the endpoint\'s programs with no timer firing; DEL closes the watch', async () => {
    const clock = new FrozenClock();
    const config: AgentConfig = {
      nodeName: NODE, pinRoot: h.pinRoot, cniSocket: '/nonexistent', apiPort: 1, metricsPort: 1, metricsHost: '127.0.0.1',
      bpfObjectDir: 'build/bpf', netnsDir: '/var/run/netns', stateDir: dir, logLevel: 'warn', resyncSeconds: 3600, attachCheckSeconds: 1,
    };
    const source = new ScriptedSource()
      .seed('namespace', { metadata: { name: 'ns-a', labels: { 'weir.dev/inject': 'enabled' } } })
      .seed('pod', {
        metadata: { namespace: 'ns-a', name: 'a', uid: 'uid-a', labels: { app: 'a' }, annotations: {} },
        spec: { nodeName: NODE, containers: [{ name: 'c' }] },
        status: { phase: 'Running', podIPs: [{ ip: POD_IP }] },
      });
    agent = new Agent({ config, datapath: h.dp, probe, source, registry: new EndpointRegistry(dir), log: quiet, clock, podWaitMs: 100, coalesceMs: 1 });
    await agent.start();
    const add: AddRequest = {
      command: 'ADD', cniVersion: '1.0.0', networkName: 'underlay', config: {}, args: {}, rawArgs: '', path: [],
      attachment: { containerId: 'ctr-a', ifName: 'eth0', netns: netnsPath(pod) },
      pod: { namespace: 'ns-a', name: 'a', uid: 'uid-a' },
      prevResult: { cniVersion: '1.0.0', ips: [{ address: `${POD_IP}/24` }] },
      runtimeConfig: {},
    };
    expect(await agent.handleCni(add, new AbortController().signal)).toEqual({ ok: true });
    const ids = h.dp.programIds();
    expect(await probe.check(netnsPath(pod), 'eth0', ids, EP)).toEqual({ kind: 'attached' });
    expect(agent.watchedNetns()).toEqual([netnsPath(pod)]);
    await agent.linkPassesSettled();

    // The chained "coordinator": a veth pair whose pod end is veth0, created down, then set up.
    await runChecked(['ip', '-n', node, 'link', 'add', 'vh-a', 'type', 'veth', 'peer', 'name', 'veth0', 'netns', pod]);
    await runChecked(['ip', '-n', pod, 'link', 'set', 'veth0', 'up']);
    // The kernel's notification reaches the agent through the event loop; wait for it (no deadline
    // here: the suite's timeout is the limit).
    const veth0 = (): Promise<AttachState> => probe.check(netnsPath(pod), 'veth0', ids, EP | ADOPTED_CLASSID_BIT);
    while ((await veth0()).kind !== 'attached') {
      await agent.linkPassesSettled();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await veth0()).toEqual({ kind: 'attached' });
    // Nothing but the watch can have done it: every timer the agent set was swallowed.
    expect(clock.timers).toBeGreaterThan(0);

    const del: DelRequest = { ...add, command: 'DEL', prevResult: null };
    expect(await agent.handleCni(del, new AbortController().signal)).toEqual({ ok: true });
    expect(agent.watchedNetns()).toEqual([]);
    expect(await probe.check(netnsPath(pod), 'veth0', ids, EP | ADOPTED_CLASSID_BIT)).toMatchObject({ kind: 'missing' });
  }, 60_000);
});
