/**
 * The e2e suites' view of a lab: brings a Lab up, creates the x/y/z × a/b/c pods (each with the
 * Weir-enforced default network on eth0 and a second Weir-enforced network on net1), runs an echo
 * server in every pod netns, probes the reachability matrix, and applies policies through the API.
 * I/O lives here; the model and the truth tables are pure (model.ts, scenarios.ts).
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { explainer } from '../../agent/src/explain/explain-pods.js';
import type { FlowRecord } from '../../agent/src/api.js';
import { fetchCluster } from '../../cli/src/cluster-fetch.js';
import { streamFlows } from '../../cli/src/flows-client.js';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Lab } from '../../lab/supervisor.js';
import { podNetnsName } from '../../lab/simnode/kubelet.js';
import { addNetns, ip } from '../../lab/simnode/netns.js';
import { UPLINK } from '../../lab/simnode/underlay.js';
import { COORDINATOR_STANDIN_TYPE } from '../../lab/simnode/coordinator.js';
import { isRecord } from '../../common/src/records.js';
import { CASES, NAMESPACES, PODS, allowAll, cellKey, compare, expectedMatrix, podKey, portName, renderMatrices, type Matrix, type PodRef, type ProbeCase, type Truth } from './model.js';

const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** host-local keeps its leases per network name under this dir; ours are unique to this suite. */
const HOST_LOCAL_DIR = '/var/lib/cni/networks';
export const DEFAULT_SUBNET = '10.77.0.0/16';
export const SECOND_SUBNET = '10.79.0.0/16';
/** Blocked probes cost this much; replies inside one machine take well under 1 ms. */
export const PROBE_TIMEOUT_MS = 1_000;

export type Network = 'eth0' | 'net1';

/**
 * The policy kinds the suite applies, each created through the API as a custom object, with
 * `annotations` added to its metadata (e.g. weir.dev/enforcement: audit).
 */
export type PolicyObject = (
  | { kind: 'NetworkPolicy'; namespace: string; name: string; spec: Record<string, unknown> }
  | { kind: 'MultiNetworkPolicy'; namespace: string; name: string; policyFor: string; spec: Record<string, unknown> }
  | { kind: 'ClusterNetworkPolicy'; name: string; policyFor?: string; spec: Record<string, unknown> }
  | { kind: 'AdminNetworkPolicy'; name: string; spec: Record<string, unknown> }
  | { kind: 'BaselineAdminNetworkPolicy'; spec: Record<string, unknown> }
) & { annotations?: Record<string, string> };

interface Resource { group: string; version: string; plural: string; namespace: string | undefined; name: string; body: Record<string, unknown> }

function resourceOf(p: PolicyObject): Resource {
  const r = resourceWithoutAnnotations(p);
  if (p.annotations === undefined) return r;
  const metadata = isRecord(r.body.metadata) ? r.body.metadata : {};
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
  return { ...r, body: { ...r.body, metadata: { ...metadata, annotations: { ...annotations, ...p.annotations } } } };
}

function resourceWithoutAnnotations(p: PolicyObject): Resource {
  switch (p.kind) {
    case 'NetworkPolicy':
      return { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', namespace: p.namespace, name: p.name,
        body: { apiVersion: 'networking.k8s.io/v1', kind: p.kind, metadata: { name: p.name, namespace: p.namespace }, spec: p.spec } };
    case 'MultiNetworkPolicy':
      return { group: 'k8s.cni.cncf.io', version: 'v1beta1', plural: 'multi-networkpolicies', namespace: p.namespace, name: p.name,
        body: { apiVersion: 'k8s.cni.cncf.io/v1beta1', kind: p.kind, metadata: { name: p.name, namespace: p.namespace, annotations: { 'k8s.v1.cni.cncf.io/policy-for': p.policyFor } }, spec: p.spec } };
    case 'ClusterNetworkPolicy':
      return { group: 'policy.networking.k8s.io', version: 'v1beta1', plural: 'clusternetworkpolicies', namespace: undefined, name: p.name,
        body: { apiVersion: 'policy.networking.k8s.io/v1beta1', kind: p.kind, metadata: { name: p.name, annotations: p.policyFor === undefined ? {} : { 'k8s.v1.cni.cncf.io/policy-for': p.policyFor } }, spec: p.spec } };
    case 'AdminNetworkPolicy':
      return { group: 'policy.networking.k8s.io', version: 'v1alpha1', plural: 'adminnetworkpolicies', namespace: undefined, name: p.name,
        body: { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: p.kind, metadata: { name: p.name }, spec: p.spec } };
    case 'BaselineAdminNetworkPolicy':
      return { group: 'policy.networking.k8s.io', version: 'v1alpha1', plural: 'baselineadminnetworkpolicies', namespace: undefined, name: 'default',
        body: { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: p.kind, metadata: { name: 'default' }, spec: p.spec } };
  }
}

export interface PodInfo {
  key: string;
  node: string;
  uid: string;
  netns: string;
  ips: Record<Network, string>;
}

export interface ClusterOptions {
  nodes: number;
  /**
   * Names this lab's netns, pin root and host-local networks. Unique per run (suites add their
   * pid): two labs sharing a prefix sweep each other's netns and share pinned maps.
   */
  prefix: string;
  /** Lab state dir (logs stay there on failure), inside a parent dir this cluster owns and removes. */
  dir: string;
  /** Node a pod is pinned to (spec.nodeName). */
  placement(p: PodRef, index: number): string;
  /** Called detached (the lab keeps the function), so a function property, not a method. */
  log: (line: string) => void;
}

export interface Convergence {
  label: string;
  network: Network;
  ms: number;
  rounds: number;
}

export class E2eCluster {
  readonly lab: Lab;
  readonly kc = new KubeConfig();
  private clients: { core: CoreV1Api; custom: CustomObjectsApi } | undefined;
  readonly pods = new Map<string, PodInfo>();
  private readonly servers = new Map<string, ChildProcess>();
  private probeBinary = '';
  labUpMs = 0;
  /** host-local network names (their lease dirs), unique to this lab. */
  readonly defaultNet: string;
  readonly secondNet: string;

  constructor(private readonly options: ClusterOptions) {
    this.lab = new Lab({ dir: options.dir, nodes: options.nodes, log: options.log, persistentControlPlane: false, prefix: options.prefix });
    this.defaultNet = `${options.prefix}-underlay`;
    this.secondNet = `${options.prefix}-net1`;
  }

  get core(): CoreV1Api {
    if (!this.clients) throw new Error('the e2e cluster is not up');
    return this.clients.core;
  }

  get custom(): CustomObjectsApi {
    if (!this.clients) throw new Error('the e2e cluster is not up');
    return this.clients.custom;
  }

  /**
   * Lab up, netprobe built, and (unless `model: false`) x/y/z with NADs and the nine pods
   * Running with their servers listening.
   */
  async up(opts: { model?: boolean } = {}): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    await this.cleanHostLocal();
    this.probeBinary = join(this.options.dir, '..', `netprobe-${process.pid}`);
    await execFileP('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', this.probeBinary, new URL('./netprobe.c', import.meta.url).pathname]);
    const started = performance.now();
    const state = await this.lab.up((step) => this.options.log(`lab: ${step}`));
    this.labUpMs = performance.now() - started;
    this.kc.loadFromFile(state.kubeconfig);
    this.clients = { core: this.kc.makeApiClient(CoreV1Api), custom: this.kc.makeApiClient(CustomObjectsApi) };
    if (opts.model === false) return;
    for (const ns of NAMESPACES) await this.createNamespace(ns);
    await Promise.all(PODS.map((p, i) => this.createPod(p, this.options.placement(p, i))));
    for (const p of PODS) await this.waitRunning(p);
    await Promise.all(PODS.map((p) => this.startServer(podKey(p))));
  }

  /** `keepLogs`: leave the lab dir (agent, webhook, control-plane logs) for a failed run. */
  async down(keepLogs = false): Promise<string[]> {
    for (const server of this.servers.values()) server.kill('SIGKILL');
    this.servers.clear();
    const left = await this.lab.down({ keepLogs });
    await this.cleanHostLocal();
    if (this.probeBinary !== '') await rm(this.probeBinary, { force: true });
    if (!keepLogs) await rm(dirname(this.options.dir), { recursive: true, force: true });
    return left;
  }

  private async cleanHostLocal(): Promise<void> {
    for (const net of [this.defaultNet, this.secondNet, `${this.options.prefix}-fixed`]) await rm(join(HOST_LOCAL_DIR, net), { recursive: true, force: true });
  }

  /**
   * `coordinatorStandIn`: the namespace's default network chains the lab's stand-in for
   * Spiderpool's coordinator after weir (lab/simnode/coordinator.ts) with this config.
   */
  async createNamespace(ns: string, labels: Record<string, string> = {}, opts: { coordinatorStandIn?: Record<string, unknown> } = {}): Promise<void> {
    await this.core.createNamespace({
      body: { metadata: { name: ns, labels: { ns, 'weir.dev/inject': 'enabled', ...labels }, annotations: { 'weir.dev/default-network': `${ns}/underlay` } } },
    });
    const afterWeir = opts.coordinatorStandIn === undefined ? [] : [{ ...opts.coordinatorStandIn, type: COORDINATOR_STANDIN_TYPE }];
    await this.createNad(ns, 'underlay', this.defaultNet, { type: 'host-local', ranges: [[{ subnet: DEFAULT_SUBNET }]] }, false, afterWeir);
    await this.createNad(ns, 'sec', this.secondNet, { type: 'host-local', ranges: [[{ subnet: SECOND_SUBNET }]] });
  }

  /** macvlan on the uplink with `ipam`, then weir, then `afterWeir` (plugins chained after weir). */
  async createNad(ns: string, name: string, netName: string, ipam: Record<string, unknown>, ipamCapabilities = false, afterWeir: Record<string, unknown>[] = []): Promise<void> {
    const macvlan: Record<string, unknown> = { type: 'macvlan', master: 'uplink0', mode: 'bridge', ipam };
    if (ipamCapabilities) macvlan.capabilities = { ips: true };
    const config = JSON.stringify({ cniVersion: '1.0.0', name: netName, plugins: [macvlan, { type: 'weir' }, ...afterWeir] });
    await this.custom.createNamespacedCustomObject({
      group: 'k8s.cni.cncf.io', version: 'v1', namespace: ns, plural: 'network-attachment-definitions',
      body: { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name }, spec: { config } },
    });
  }

  /** A pod of the model: label `pod: <name>`, the four upstream-named container ports, net1 on `sec`. */
  async createPod(p: { ns: string; pod: string }, node: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Promise<void> {
    await this.core.createNamespacedPod({
      namespace: p.ns,
      body: {
        metadata: {
          name: p.pod,
          labels: { pod: p.pod, ...extra.labels },
          annotations: { 'k8s.v1.cni.cncf.io/networks': `${p.ns}/sec@net1`, ...extra.annotations },
        },
        spec: {
          nodeName: node,
          containers: [{
            name: 'cont', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53',
            ports: CASES.map((c: ProbeCase) => ({ name: portName(c), containerPort: c.port, protocol: c.protocol })),
          }],
        },
      },
    });
  }

  /** Waits for Running and records node, netns and IPs (from network-status, as the agents read them). */
  async waitRunning(p: { ns: string; pod: string }, timeoutMs = 60_000): Promise<PodInfo> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pod: V1Pod = await this.core.readNamespacedPod({ namespace: p.ns, name: p.pod });
      if (pod.status?.phase === 'Running') {
        const info = podInfo(pod, this.lab.prefix);
        this.pods.set(`${p.ns}/${p.pod}`, info);
        return info;
      }
      if (Date.now() > deadline) {
        throw new Error(`pod ${p.ns}/${p.pod} not Running after ${timeoutMs} ms: ${JSON.stringify(pod.status?.conditions ?? [])}`);
      }
      await sleep(100);
    }
  }

  async deletePod(key: string): Promise<void> {
    const [ns = '', name = ''] = key.split('/');
    this.servers.get(key)?.kill('SIGKILL');
    this.servers.delete(key);
    await this.core.deleteNamespacedPod({ namespace: ns, name });
    // The simulated kubelet runs CNI DEL, removes the netns and then the object.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await this.core.readNamespacedPod({ namespace: ns, name });
      } catch {
        break;
      }
      if (Date.now() > deadline) throw new Error(`pod ${key} still exists 30 s after deletion`);
      await sleep(100);
    }
    this.pods.delete(key);
  }

  info(key: string): PodInfo {
    const info = this.pods.get(key);
    if (!info) throw new Error(`unknown pod ${key}`);
    return info;
  }

  /** Echo server (TCP+UDP 80, 81) in the pod's netns; resolves once it listens. */
  async startServer(key: string): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.info(key).netns, this.probeBinary, 'serve', '80', '81'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.servers.set(key, child);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`server in ${key} exited ${String(code)}: ${err}`)));
    });
  }

  /** Runs netprobe in a pod's netns; returns spec → ok. */
  async runProbe(fromKey: string, args: string[], timeoutMs: number): Promise<Array<{ t: number; spec: string; ok: boolean; why: string }>> {
    const { stdout } = await execFileP('ip', ['netns', 'exec', this.info(fromKey).netns, this.probeBinary, ...args], { timeout: timeoutMs, maxBuffer: 8 << 20 });
    return parseProbeLines(stdout);
  }

  spawnInPod(key: string, argv: string[]): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.info(key).netns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  get netprobe(): string { return this.probeBinary; }

  /** One prober per source pod, all probes of a source concurrent: the whole matrix in ~1 s. */
  async probeMatrix(network: Network, pods: readonly PodRef[] = PODS, cases: readonly ProbeCase[] = CASES): Promise<Matrix> {
    const observed: Matrix = new Map();
    await Promise.all(pods.map(async (from) => {
      const specs: string[] = [];
      const cells = new Map<string, string>();
      for (const to of pods) {
        if (podKey(from) === podKey(to)) continue;
        for (const c of cases) {
          const spec = `${c.protocol.toLowerCase()}:${this.info(podKey(to)).ips[network]}:${c.port}`;
          specs.push(spec);
          cells.set(spec, cellKey(from, to, c));
        }
      }
      for (const line of await this.runProbe(podKey(from), ['probe', String(PROBE_TIMEOUT_MS), ...specs], PROBE_TIMEOUT_MS + 10_000)) {
        const cell = cells.get(line.spec);
        if (cell !== undefined) observed.set(cell, line.ok);
      }
    }));
    return observed;
  }

  /**
   * Polls the matrix until it equals the truth table or `boundMs` passes (then throws with the
   * upstream-style tables). When the truth equals what was there before (e.g. all allowed), one
   * more round after a pause makes sure the match was not just the old state.
   */
  async converge(label: string, truth: Truth, opts: { network?: Network; boundMs?: number; stable?: boolean } = {}): Promise<Convergence> {
    const network = opts.network ?? 'eth0';
    const boundMs = opts.boundMs ?? 10_000;
    const expected = expectedMatrix(truth);
    const started = performance.now();
    let rounds = 0;
    for (;;) {
      const observed = await this.probeMatrix(network);
      rounds++;
      const mismatches = compare(expected, observed);
      const ms = performance.now() - started;
      if (mismatches.length === 0) {
        // `weir explain` must agree with the datapath on every cell it can speak for (the default
        // network; MultiNetworkPolicy on net1 is outside what explain answers).
        if (network === 'eth0') {
          const disagreements = await this.explainDisagreements(expected);
          if (disagreements.length > 0) {
            throw new Error(`${label}: weir explain disagrees with the datapath on ${disagreements.length} cells:\n${disagreements.slice(0, 12).join('\n')}`);
          }
        }
        if (opts.stable === true) {
          await sleep(1_000);
          const again = await this.probeMatrix(network);
          rounds++;
          const late = compare(expected, again);
          if (late.length > 0) {
            throw new Error(`${label} [${network}]: matched after ${ms.toFixed(0)} ms but not on the re-check (${late.length} cells):\n${renderMatrices(expected, again)}`);
          }
        }
        return { label, network, ms, rounds };
      }
      if (ms > boundMs) {
        const involved = new Set(mismatches.flatMap((m) => m.cell.split('>').slice(0, 2)));
        throw new Error(`${label} [${network}]: ${mismatches.length} cells still wrong after ${ms.toFixed(0)} ms (${rounds} rounds):\n`
          + `${renderMatrices(expected, observed)}\nagent view of the pods involved:\n${await this.agentView(involved)}`);
      }
      await sleep(200);
    }
  }

  /** Cells where `weir explain` (same parsers, compiler and evaluator as the agent) says otherwise. */
  async explainDisagreements(matrix: Matrix): Promise<string[]> {
    const explain = explainer(await fetchCluster(this.kc));
    const wrong: string[] = [];
    for (const from of PODS) for (const to of PODS) {
      if (podKey(from) === podKey(to)) continue;
      for (const c of CASES) {
        const observed = matrix.get(cellKey(from, to, c));
        const answer = explain({ pod: { namespace: to.ns, name: to.pod }, peer: { namespace: from.ns, name: from.pod, direction: 'from' }, port: c.port, protocol: c.protocol });
        if (!answer.ok) {
          wrong.push(`${cellKey(from, to, c)}: explain failed: ${answer.error}`);
          continue;
        }
        const allowed = answer.explanation.flow?.verdict === 'allow';
        if (allowed !== observed) wrong.push(`${cellKey(from, to, c)}: datapath ${observed ? 'allows' : 'denies'}, explain says ${allowed ? 'allow' : 'deny'} (${answer.explanation.flow?.rule?.policy ?? 'no rule'})`);
      }
    }
    return wrong;
  }

  /**
   * Live /v1/flows of every agent with `query` (as `weir observe` reads them), collected into
   * `records`; resolves once every stream is connected (agents stream live flows, no replay).
   */
  async watchFlows(query: string): Promise<{ records: FlowRecord[]; stop(): void }> {
    const records: FlowRecord[] = [];
    const watching = new AbortController();
    await Promise.all(this.lab.labState.nodes.map((node) => new Promise<void>((connected) => {
      streamFlows(`${node.agentUrl}/v1/flows?${query}`, (r) => records.push(r), watching.signal, connected).catch(() => undefined).finally(connected);
    })));
    return { records, stop: () => watching.abort() };
  }

  /** What each agent says about the endpoints of these pods (for failure messages). */
  async agentView(podKeys: Set<string>): Promise<string> {
    const lines: string[] = [];
    for (const node of this.lab.labState.nodes) {
      try {
        const body: unknown = await (await fetch(`${node.agentUrl}/v1/status`, { signal: AbortSignal.timeout(3_000) })).json();
        const endpoints = isRecord(body) && Array.isArray(body.endpoints) ? body.endpoints : [];
        for (const e of endpoints) {
          if (!isRecord(e) || typeof e.pod !== 'string' || !podKeys.has(e.pod)) continue;
          lines.push(`  ${node.name} ep ${String(e.endpointId)} ${e.pod} ${String(e.interface)} programmed=${String(e.programmed)} entries=${String(e.policyEntries)} isolation=${JSON.stringify(e.isolation)} audit=${String(e.audit === true)}`);
        }
      } catch (error) {
        lines.push(`  ${node.name}: status unavailable (${String(error)})`);
      }
    }
    return lines.join('\n');
  }

  async apply(p: PolicyObject): Promise<void> {
    const r = resourceOf(p);
    if (r.namespace === undefined) await this.custom.createClusterCustomObject({ group: r.group, version: r.version, plural: r.plural, body: r.body });
    else await this.custom.createNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: r.namespace, body: r.body });
  }

  /** Replaces the spec with a merge patch (an update of a live object, not delete + create). */
  async update(p: PolicyObject): Promise<void> {
    const r = resourceOf(p);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const body = { spec: r.body.spec };
    if (r.namespace === undefined) await this.custom.patchClusterCustomObject({ group: r.group, version: r.version, plural: r.plural, name: r.name, body }, merge);
    else await this.custom.patchNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: r.namespace, name: r.name, body }, merge);
  }

  /** Merge-patches the object's annotations (null removes one), as `kubectl annotate` does. */
  async annotatePolicy(p: PolicyObject, annotations: Record<string, string | null>): Promise<void> {
    const r = resourceOf(p);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const body = { metadata: { annotations } };
    if (r.namespace === undefined) await this.custom.patchClusterCustomObject({ group: r.group, version: r.version, plural: r.plural, name: r.name, body }, merge);
    else await this.custom.patchNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: r.namespace, name: r.name, body }, merge);
  }

  /**
   * A host outside the cluster on the pods' underlay: a macvlan on node-1's uplink in netns `netns`
   * (the caller deletes it), with `address`/16.
   */
  async addOutsideHost(netns: string, address: string): Promise<void> {
    const node = this.lab.labState.nodes[0]?.netns ?? '';
    await addNetns(netns);
    await ip(['link', 'add', 'out0', 'link', UPLINK, 'type', 'macvlan', 'mode', 'bridge'], node);
    await ip(['link', 'set', 'out0', 'netns', netns], node);
    await ip(['addr', 'add', `${address}/16`, 'dev', 'out0'], netns);
    await ip(['link', 'set', 'out0', 'up'], netns);
  }

  async remove(p: PolicyObject): Promise<void> {
    const r = resourceOf(p);
    if (r.namespace === undefined) await this.custom.deleteClusterCustomObject({ group: r.group, version: r.version, plural: r.plural, name: r.name });
    else await this.custom.deleteNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: r.namespace, name: r.name });
  }

  async labelNamespace(ns: string, labels: Record<string, string | null>): Promise<void> {
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await this.core.patchNamespace({ name: ns, body: { metadata: { labels } } }, merge);
  }

  async annotateNamespace(ns: string, annotations: Record<string, string | null>): Promise<void> {
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await this.core.patchNamespace({ name: ns, body: { metadata: { annotations } } }, merge);
  }

  async labelPod(key: string, labels: Record<string, string | null>): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await this.core.patchNamespacedPod({ namespace, name, body: { metadata: { labels } } }, merge);
  }

  /** Every pair allowed on both networks: the state between scenarios. */
  async baseline(label: string): Promise<Convergence[]> {
    return [await this.converge(`${label}: back to all allowed`, allowAll), await this.converge(`${label}: back to all allowed`, allowAll, { network: 'net1' })];
  }
}

export function parseProbeLines(stdout: string): Array<{ t: number; spec: string; ok: boolean; why: string }> {
  const out: Array<{ t: number; spec: string; ok: boolean; why: string }> = [];
  for (const line of stdout.split('\n')) {
    const [t, spec, verdict, ...why] = line.trim().split(' ');
    if (t === undefined || spec === undefined || verdict === undefined || t === '') continue;
    out.push({ t: Number(t), spec, ok: verdict === 'ok' || verdict === 'connected', why: why.join(' ') });
  }
  return out;
}

function podInfo(pod: V1Pod, labPrefix: string): PodInfo {
  const ns = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const uid = pod.metadata?.uid ?? '';
  const ips: Record<Network, string> = { eth0: pod.status?.podIP ?? '', net1: '' };
  const raw = pod.metadata?.annotations?.['k8s.v1.cni.cncf.io/network-status'];
  if (raw !== undefined) {
    const parsed: unknown = JSON.parse(raw);
    if (Array.isArray(parsed)) {
      for (const entry of parsed) {
        if (!isRecord(entry) || !Array.isArray(entry.ips) || typeof entry.ips[0] !== 'string') continue;
        if (entry.interface === 'net1') ips.net1 = entry.ips[0];
        if (entry.interface === 'eth0') ips.eth0 = entry.ips[0];
      }
    }
  }
  return { key: `${ns}/${name}`, node: pod.spec?.nodeName ?? '', uid, netns: podNetnsName(uid, labPrefix), ips };
}

/**
 * One lab suite's run: whether its lab came up, and whether a test failed (then `cluster.down`
 * keeps the lab's logs). `guarded` runs a test's body and removes the policies it applied.
 */
export class LabRun {
  up = false;
  failed = false;

  constructor(private readonly cluster: E2eCluster) {}

  async guarded(body: (applied: PolicyObject[]) => Promise<void>): Promise<void> {
    if (!this.up) throw new Error('the lab did not come up');
    const applied: PolicyObject[] = [];
    try {
      await body(applied);
    } catch (error) {
      this.failed = true;
      throw error;
    } finally {
      for (const p of applied.reverse()) await this.cluster.remove(p).catch(() => undefined);
    }
  }
}
