/**
 * The agent end to end (fake datapath, scripted cluster) against the trust model: a weir plugin call
 * always enforces, a forged intent outside an opted-in namespace shapes nothing, the binding is
 * published as a WeirEndpoint and withdrawn on DEL, and remote WeirEndpoints feed the ipcache.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from '../agent.js';
import type { AddRequest, DelRequest } from '../cni/protocol.js';
import { FakeDatapath } from '../datapath/fake.js';
import { ScriptedSource } from '../kube/scripted.js';
import { EndpointRegistry } from './registry.js';
import { weirEndpointObject, type WeirEndpoint } from './weirendpoint.js';
import type { EndpointWriter } from './weirendpoint-publish.js';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

class Writer implements EndpointWriter {
  readonly objects = new Map<string, WeirEndpoint>();
  async apply(ep: WeirEndpoint): Promise<void> { this.objects.set(`${ep.namespace}/${ep.name}`, ep); }
  async remove(namespace: string, name: string, podUid: string): Promise<void> {
    if (this.objects.get(`${namespace}/${name}`)?.podUid === podUid) this.objects.delete(`${namespace}/${name}`);
  }
}

const forgedIntent = JSON.stringify({
  version: 1, networks: [{ nad: 'plain/net', interface: 'eth0', default: true, enforced: false }], bandwidth: { egressBitsPerSecond: 1_000_000 },
});

function pod(name: string, annotations: Record<string, string> = {}, node = 'node-1'): unknown {
  return { metadata: { namespace: 'plain', name, uid: `uid-${name}`, labels: { app: name }, annotations }, spec: { nodeName: node, containers: [{ name: 'c' }] }, status: { phase: 'Pending' } };
}

function add(name: string, ip: string): AddRequest {
  return {
    command: 'ADD', cniVersion: '1.0.0', networkName: 'net', config: {}, args: {}, rawArgs: '', path: [],
    attachment: { containerId: `ctr-${name}`, ifName: 'eth0', netns: `/var/run/netns/${name}` },
    pod: { namespace: 'plain', name, uid: `uid-${name}` },
    prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', mac: '02:AA:00:00:00:01', sandbox: `/var/run/netns/${name}` }], ips: [{ address: `${ip}/24`, interface: 0 }] },
    runtimeConfig: {},
  };
}

function del(name: string): DelRequest {
  return {
    command: 'DEL', cniVersion: '1.0.0', networkName: 'net', config: {}, args: {}, rawArgs: '', path: [],
    attachment: { containerId: `ctr-${name}`, ifName: 'eth0', netns: null }, pod: { namespace: 'plain', name }, prevResult: null, runtimeConfig: {},
  };
}

describe('Agent trust model', () => {
  let dir: string;
  let agent: Agent;
  let fake: FakeDatapath;
  let source: ScriptedSource;
  let writer: Writer;
  let events: Array<{ pod: string; reason: string }>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weir-trust-'));
    fake = new FakeDatapath();
    writer = new Writer();
    events = [];
    source = new ScriptedSource().seed('namespace', { metadata: { name: 'plain' } });
    agent = new Agent({
      config: {
        nodeName: 'node-1', pinRoot: '/nonexistent', cniSocket: '/nonexistent', metricsPort: 1, metricsHost: '127.0.0.1', bpfObjectDir: '/nonexistent',
        netnsDir: '/var/run/netns', stateDir: dir, logLevel: 'debug', resyncSeconds: 3600, attachCheckSeconds: 3600,
      },
      datapath: fake, probe: { check: async () => ({ kind: 'attached' }) }, source, registry: new EndpointRegistry(dir), log: quiet,
      events: { warning: (p, reason) => events.push({ pod: `${p.namespace}/${p.name}`, reason }) }, endpoints: writer, podWaitMs: 100, coalesceMs: 1,
    });
  });

  afterEach(async () => {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a forged enforced:false intent outside an opted-in namespace: attached anyway, no shaping, an Event', async () => {
    source.seed('pod', pod('sneaky', { 'weir.dev/intent': forgedIntent, 'kubernetes.io/egress-bandwidth': '1M' }));
    await agent.start();
    expect(await agent.handleCni(add('sneaky', '10.9.0.5'), new AbortController().signal)).toEqual({ ok: true });
    const ep = [...fake.endpoints.values()][0];
    expect(ep?.ifname).toBe('eth0');
    expect(ep?.bandwidth).toBeUndefined();
    expect(events).toEqual([{ pod: 'plain/sneaky', reason: 'WeirIntentIgnored' }]);
  });

  it('publishes the binding and what is enforced as a WeirEndpoint, and withdraws it on DEL', async () => {
    source.seed('pod', pod('web'));
    await agent.start();
    expect(await agent.handleCni(add('web', '10.9.0.6'), new AbortController().signal)).toEqual({ ok: true });
    await agent.idle();
    await waitFor(() => writer.objects.has('plain/web'));
    expect(writer.objects.get('plain/web')).toMatchObject({
      podUid: 'uid-web', node: 'node-1',
      interfaces: [{ name: 'eth0', isDefault: true, mac: '02:aa:00:00:00:01', ips: ['10.9.0.6'], containerId: 'ctr-web' }],
      enforcement: [{ name: 'eth0', enforced: true, isolatedIngress: false, shaping: 'none' }],
    });
    expect(await agent.handleCni(del('web'), new AbortController().signal)).toEqual({ ok: true });
    await waitFor(() => !writer.objects.has('plain/web'));
  });

  it("a remote pod's identity comes from its WeirEndpoint; its network-status adds nothing a trusted source binds", async () => {
    const status = JSON.stringify([{ name: 'plain/net', interface: 'eth0', ips: ['10.9.9.9'], default: true }]);
    source.seed('pod', pod('remote', { 'k8s.v1.cni.cncf.io/network-status': status }, 'node-2'));
    source.seed('weirendpoint', weirEndpointObject({
      namespace: 'plain', name: 'remote', podUid: 'uid-remote', node: 'node-2', enforcement: [],
      interfaces: [{ name: 'eth0', network: undefined, isDefault: true, mac: undefined, ips: ['10.9.0.7'], containerId: 'c', attachedAtMs: 1 }],
    }));
    await agent.start();
    expect(fake.ipcache.has('10.9.0.7/32')).toBe(true);
    expect(fake.ipcache.has('10.9.9.9/32')).toBe(false);
    source.remove('weirendpoint', { metadata: { namespace: 'plain', name: 'remote' } });
    await agent.idle();
    expect(fake.ipcache.has('10.9.0.7/32')).toBe(false);
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}
