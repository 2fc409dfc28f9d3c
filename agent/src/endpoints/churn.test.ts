/**
 * Issue 12: endpoint ids index fixed-size BPF arrays (1..MAX_ENDPOINT_ID), so they must be reused.
 * An agent that only counted ids up refused every CNI ADD after 1,023 attachments in its life.
 *
 * The agent here is driven through its real CNI socket (startCniServer + agent.handleCni), with
 * requests in the wire form the C plugin writes (agent/src/cni/protocol.ts). The datapath is the
 * in-memory fake (agent/src/datapath/fake.ts), which refuses ids outside 1..MAX_ENDPOINT_ID as the
 * driver does; 10,000 runs of the plugin binary would only add process start-up time to a test
 * about id allocation. The plugin binary itself is covered by agent/src/cni/plugin.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Agent, type Log } from '../agent.js';
import { startCniServer, type CniServer } from '../cni/server.js';
import { MAX_ENDPOINT_ID } from '../datapath/codec.js';
import { FakeDatapath } from '../datapath/fake.js';
import { ScriptedSource } from '../kube/scripted.js';
import { EndpointRegistry } from './registry.js';

const NODE = 'node-churn';
const CYCLES = 5_000;
/** Pods alive at once while the churn runs: ids must come back while others are held. */
const LIVE = 6;

const quiet: Log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

let dir = '';
let agent: Agent | undefined;
let server: CniServer | undefined;
const fake = new FakeDatapath();
const source = new ScriptedSource();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weir-churn-'));
  source
    .seed('namespace', { metadata: { name: 'jobs', labels: {} } })
    .seed('networkpolicy', { metadata: { namespace: 'jobs', name: 'deny-ingress' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
  agent = new Agent({
    config: {
      nodeName: NODE, pinRoot: '/nonexistent', cniSocket: join(dir, 'cni.sock'), metricsPort: 1, metricsHost: '127.0.0.1',
      bpfObjectDir: '/nonexistent', netnsDir: '/var/run/netns', stateDir: join(dir, 'state'), logLevel: 'info',
      resyncSeconds: 3600, attachCheckSeconds: 3600,
    },
    datapath: fake, probe: { check: async () => ({ kind: 'attached' }) }, source, registry: new EndpointRegistry(join(dir, 'state')),
    log: quiet, podWaitMs: 1_000, coalesceMs: 1,
  });
  await agent.start();
  const a = agent;
  server = await startCniServer({ socketPath: join(dir, 'cni.sock'), handler: (req, signal) => a.handleCni(req, signal), timeoutMs: 10_000 });
});

afterAll(async () => {
  await server?.close();
  await agent?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** One exchange as the plugin makes it: write the request, shut the write side, read to EOF. */
function exchange(request: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = net.connect(join(dir, 'cni.sock'));
    const chunks: Buffer[] = [];
    s.on('connect', () => s.end(JSON.stringify(request)));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    s.on('error', reject);
  });
}

const podName = (i: number): string => `job-${i}`;
const ipOf = (i: number): string => `10.${20 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`;

function podObject(i: number): unknown {
  return {
    metadata: { namespace: 'jobs', name: podName(i), uid: `uid-${i}`, labels: { job: String(i) }, annotations: {} },
    spec: { nodeName: NODE, containers: [{ name: 'c' }] },
    status: { phase: 'Running', podIPs: [{ ip: ipOf(i) }] },
  };
}

function request(command: 'ADD' | 'DEL', i: number): object {
  return {
    version: 1, command, containerId: `ctr-${i}`, netns: command === 'ADD' ? `/var/run/netns/job-${i}` : '', ifName: 'eth0',
    args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=jobs;K8S_POD_NAME=${podName(i)};K8S_POD_UID=uid-${i}`, path: '/opt/cni/bin',
    config: {
      cniVersion: '1.0.0', name: 'underlay', type: 'weir',
      prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: `/var/run/netns/job-${i}` }], ips: [{ address: `${ipOf(i)}/16`, interface: 0 }] },
    },
  };
}

it(`attaches and detaches ${CYCLES} endpoints through the CNI socket; ids are reused and the last one is programmed`, async () => {
  const live: number[] = [];
  let highest = 0;
  for (let i = 0; i < CYCLES; i++) {
    source.put('pod', podObject(i));
    const added = await exchange(request('ADD', i));
    if (JSON.stringify(added) !== '{"ok":true}') throw new Error(`ADD #${i} failed: ${JSON.stringify(added)}`);
    live.push(i);
    const id = agent?.status().endpoints.find((e) => e.pod === `jobs/${podName(i)}`)?.endpointId ?? 0;
    highest = Math.max(highest, id);
    if (live.length > LIVE || i === CYCLES - 1) {
      // Job churn: the oldest pods finish (the last ADD stays attached).
      while (live.length > (i === CYCLES - 1 ? 1 : LIVE)) {
        const done = live.shift() ?? 0;
        const deleted = await exchange(request('DEL', done));
        if (JSON.stringify(deleted) !== '{"ok":true}') throw new Error(`DEL #${done} failed: ${JSON.stringify(deleted)}`);
        source.remove('pod', podObject(done));
      }
    }
  }
  await agent?.idle();

  expect(CYCLES).toBeGreaterThan(MAX_ENDPOINT_ID);
  // At most LIVE + 1 endpoints were ever attached at once, so the lowest-free ids stay that small.
  expect(highest).toBeLessThanOrEqual(LIVE + 1);
  const last = podName(CYCLES - 1);
  const status = agent?.status();
  expect(status?.endpoints).toEqual([expect.objectContaining({ pod: `jobs/${last}`, programmed: true })]);
  const id = status?.endpoints[0]?.endpointId ?? 0;
  const programmed = fake.endpoints.get(id);
  expect(programmed?.netnsPath).toBe(`/var/run/netns/${last}`);
  // The namespace's deny-all-ingress policy is in force on it.
  expect(programmed?.desired.isolatedIngress).toBe(true);
  expect([...fake.endpoints.keys()]).toEqual([id]);
  expect(fake.calls.filter((c) => c.op === 'attach')).toHaveLength(CYCLES);
}, 240_000);
