/**
 * Issue 15, "Missing CRDs": every policy type but NetworkPolicy is a CRD a cluster may not have
 * (MultiNetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy, NADs, SpiderCoordinator).
 * Against a real kube-apiserver started WITHOUT any CRD, the agent must become ready and enforce
 * NetworkPolicy, the webhook's caches must sync, and a CRD installed afterwards must start being
 * watched. Before the fix, the list's 404 was an error, retried forever: the agent never became
 * ready.
 *
 * The agent runs in-process over the fake datapath (agent/src/datapath/fake.ts): what is checked
 * is what the agent programs, and the real datapath is covered by test/agent/agent-api.test.ts.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Agent, type Log } from '../../agent/src/agent.js';
import type { AddRequest } from '../../agent/src/cni/protocol.js';
import { FakeDatapath } from '../../agent/src/datapath/fake.js';
import { EndpointRegistry } from '../../agent/src/endpoints/registry.js';
import { KubeSources, type ClusterSource, type Resource, type SourceChange } from '../../agent/src/kube/sources.js';
import { rawList } from '../../common/src/kube/kube-source.js';
import { kubeCacheSources, startClusterCache } from '../../webhook/src/cache/cluster.js';
import { installCrds } from '../../harness/controlplane/crds.js';
import { defaultCrdDir, findBinaries, startControlPlane, type ControlPlane } from '../../harness/controlplane/index.js';
import { describeIf } from '../support/privileged.js';

const NODE = 'node-nocrd';
const NS = 'nocrd';
const quiet: Log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const OPTIONAL_PATHS = [
  '/apis/weir.dev/v1alpha1/weirendpoints',
  '/apis/k8s.cni.cncf.io/v1beta1/multi-networkpolicies',
  '/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies',
  '/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies',
  '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions',
  '/apis/spiderpool.spidernet.io/v2beta1/spidercoordinators',
];

/** Passes the real sources through and keeps every change, so a test can see what arrived. */
class Tee implements ClusterSource {
  readonly changes: SourceChange[] = [];
  constructor(private readonly inner: KubeSources) {}
  start(onChange: (c: SourceChange) => void, syncTimeoutMs: number): Promise<void> {
    return this.inner.start((c) => {
      this.changes.push(c);
      onChange(c);
    }, syncTimeoutMs);
  }
  get synced(): boolean { return this.inner.synced; }
  unsynced(): Resource[] { return this.inner.unsynced(); }
  fetchPod(namespace: string, name: string): Promise<unknown> { return this.inner.fetchPod(namespace, name); }
  stop(): Promise<void> { return this.inner.stop(); }
}

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function addRequest(): AddRequest {
  return {
    command: 'ADD', cniVersion: '1.0.0', networkName: 'underlay', config: {}, args: {}, rawArgs: '', path: [],
    attachment: { containerId: 'ctr-server', ifName: 'eth0', netns: '/var/run/netns/nocrd-server' },
    pod: { namespace: NS, name: 'server' },
    prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.77.0.5/24' }] },
    runtimeConfig: {},
  };
}

describeIf(findBinaries().kind === 'found', 'no kube-apiserver/etcd binaries (run `make bootstrap`)')('on an API server without the optional CRDs', () => {
  let cp: ControlPlane | undefined;
  let kc: KubeConfig;
  let dir = '';
  let agent: Agent | undefined;
  let tee: Tee | undefined;
  const fake = new FakeDatapath();
  const infos: Array<{ resource: unknown; msg: string }> = [];
  const infoLines = (start: string): unknown[] => infos.filter((l) => l.msg.startsWith(start)).map((l) => l.resource).sort();

  beforeAll(async () => {
    cp = await startControlPlane({ crdDir: null });
    kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    dir = await mkdtemp(join(tmpdir(), 'weir-nocrd-'));
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await core.createNamespacedPod({
      namespace: NS,
      body: { metadata: { name: 'server', labels: { app: 'server' } }, spec: { nodeName: NODE, containers: [{ name: 'c', image: 'busybox' }] } },
    });
    await kc.makeApiClient(NetworkingV1Api).createNamespacedNetworkPolicy({
      namespace: NS,
      body: { metadata: { name: 'deny-ingress' }, spec: { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'] } },
    });
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await cp?.stop();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('(precondition) the API server serves none of the optional types: the list says "not served"', async () => {
    for (const path of OPTIONAL_PATHS) expect(await rawList(kc, path)({}), path).toBeUndefined();
    const served = await rawList(kc, '/api/v1/namespaces')({});
    expect(Array.isArray(served?.items)).toBe(true);
  });

  it('the agent becomes ready and enforces NetworkPolicy', async () => {
    tee = new Tee(new KubeSources(kc, () => undefined, {
      absentRecheckMs: 300,
      info: (obj, msg) => infos.push({ resource: (obj as { resource?: unknown }).resource, msg }),
    }));
    agent = new Agent({
      config: {
        nodeName: NODE, pinRoot: '/nonexistent', cniSocket: join(dir, 'cni.sock'), apiPort: 1, metricsPort: 1, metricsHost: '127.0.0.1',
        bpfObjectDir: '/nonexistent', netnsDir: '/var/run/netns', stateDir: join(dir, 'state'), logLevel: 'info',
        resyncSeconds: 3600, attachCheckSeconds: 3600,
      },
      datapath: fake, probe: { check: async () => ({ kind: 'attached' }) }, source: tee, registry: new EndpointRegistry(join(dir, 'state')),
      log: quiet, podWaitMs: 5_000, coalesceMs: 1, syncTimeoutMs: 20_000,
    });
    await agent.start();
    expect(agent.isReady).toBe(true);
    expect(agent.status().unsynced).toEqual([]);
    expect(await agent.handleCni({ command: 'STATUS', cniVersion: '1.1.0', networkName: 'underlay', config: {}, args: {}, rawArgs: '', path: [] }, new AbortController().signal)).toEqual({ ok: true });

    expect(await agent.handleCni(addRequest(), new AbortController().signal)).toEqual({ ok: true });
    const [endpoint] = agent.status().endpoints;
    expect(endpoint).toMatchObject({ pod: `${NS}/server`, programmed: true, isolation: { ingress: true, egress: false } });
    expect(fake.endpoints.get(endpoint?.endpointId ?? 0)?.desired.isolatedIngress).toBe(true);
  });

  it('a CRD installed later is listed and watched without a restart', async () => {
    if (cp === undefined || tee === undefined) throw new Error('the previous test did not start the agent');
    const crds = await mkdtemp(join(tmpdir(), 'weir-nocrd-crds-'));
    try {
      await copyFile(join(defaultCrdDir(), 'multi-networkpolicy.yaml'), join(crds, 'multi-networkpolicy.yaml'));
      await installCrds({ server: cp.server, caCertPem: cp.caCertPem, clientCertPem: cp.adminClientCertPem, clientKeyPem: cp.adminClientKeyPem }, crds);
    } finally {
      await rm(crds, { recursive: true, force: true });
    }
    const custom = kc.makeApiClient(CustomObjectsApi);
    const body = {
      apiVersion: 'k8s.cni.cncf.io/v1beta1', kind: 'MultiNetworkPolicy',
      metadata: { name: 'late', namespace: NS, annotations: { 'k8s.v1.cni.cncf.io/policy-for': `${NS}/underlay` } },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    };
    await custom.createNamespacedCustomObject({ group: 'k8s.cni.cncf.io', version: 'v1beta1', namespace: NS, plural: 'multi-networkpolicies', body });
    const seen = (name: string, type: SourceChange['type']): boolean => tee?.changes.some((c) =>
      c.resource === 'multinetworkpolicy' && c.type === type && JSON.stringify(c.object).includes(`"name":"${name}"`)) ?? false;
    await until('the first MultiNetworkPolicy (from the re-list)', () => seen('late', 'upsert'));
    // From now on the type is watched: a second object arrives as a watch event, and so does a delete.
    await custom.createNamespacedCustomObject({
      group: 'k8s.cni.cncf.io', version: 'v1beta1', namespace: NS, plural: 'multi-networkpolicies', body: { ...body, metadata: { ...body.metadata, name: 'later' } },
    });
    await until('the second MultiNetworkPolicy', () => seen('later', 'upsert'), 5_000);
    await custom.deleteNamespacedCustomObject({ group: 'k8s.cni.cncf.io', version: 'v1beta1', namespace: NS, plural: 'multi-networkpolicies', name: 'late' });
    await until('the delete', () => seen('late', 'delete'), 5_000);
    expect(agent?.isReady).toBe(true);
    // Each absent type was said once (not at every recheck), and the one that appeared once more.
    expect(infoLines('resource type not served')).toEqual(['adminnetworkpolicy', 'baselineadminnetworkpolicy', 'clusternetworkpolicy', 'multinetworkpolicy', 'nad', 'weirendpoint']);
    expect(infoLines('resource type now served')).toEqual(['multinetworkpolicy']);
  });

  it('the webhook\'s caches (namespaces, NADs, SpiderCoordinators) sync and it reports ready', async () => {
    const cache = startClusterCache(kubeCacheSources(kc), pino({ level: 'silent' }));
    try {
      await cache.waitForSync(20_000);
      expect(cache.readiness()).toEqual({ ready: true, reasons: [] });
      expect(cache.view.coordinator('default')).toBeUndefined();
      expect(cache.view.namespace(NS)?.name).toBe(NS);
    } finally {
      await cache.stop();
    }
  });
});
