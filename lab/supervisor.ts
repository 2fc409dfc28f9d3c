import { AdmissionregistrationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { freeLoopbackPorts } from '../harness/controlplane/ports.js';
import { startDaemon, startReaper, stopDaemon, type Daemon } from '../harness/controlplane/procs.js';
import { startControlPlane, type ControlPlane } from '../harness/controlplane/index.js';
import { render, type Manifest } from '../harness/chart/helm.js';
import { chartWebhookEnv, createWebhookConfigs, webhookConfigsAtUrl } from '../harness/chart/webhook-url.js';
import { BPF_OBJECT_DIR, CNI_PLUGIN_BINARY, REFERENCE_CNI_DIR, tsEntry } from './paths.js';
import { RoundRobinBinder } from './simnode/binder.js';
import { resolveAttachments, type ClusterNetwork } from './simnode/attachments.js';
import { networkListFromConfig } from './simnode/chain.js';
import { SimNode } from './simnode/kubelet.js';
import { addNodeToSwitch, createSwitch, destroyUnderlay, underlayNames, UPLINK } from './simnode/underlay.js';
import { listNetns, deleteNetns, netnsPath } from './simnode/netns.js';
import { isRecord } from '../common/src/records.js';
import { writeFileAtomic } from '../common/src/files.js';

/**
 * A whole Weir system on one machine: the control plane, the webhook (registered for real, from
 * the chart's own webhook configurations), one agent per simulated node, and the simulated nodes
 * themselves (kubelet + runtime + Multus) cabled to one underlay switch. Used by `weir lab up`
 * (in a background process) and by the end-to-end suites (in-process).
 */
export const LAB_NAMESPACE = 'weir-system';
export const DEFAULT_LAB_PREFIX = 'wlab';

export interface LabOptions {
  dir: string;
  nodes: number;
  log(line: string): void;
  /** Keep the control plane's data dir under `dir` (the lab) or use a temporary one (tests). */
  persistentControlPlane: boolean;
  /** Names every netns and pin directory of this lab, so two labs on one machine never collide. */
  prefix?: string;
}

export interface LabNode {
  name: string;
  netns: string;
  cniSocket: string;
  pinRoot: string;
  agentPort: number;
  agentUrl: string;
}

export interface LabState {
  version: 1;
  prefix: string;
  pid: number;
  kubeconfig: string;
  server: string;
  webhookHealthUrl: string;
  nodes: LabNode[];
  startedAt: string;
  controlPlaneStartupMs: number;
}

export class Lab {
  private controlPlane: ControlPlane | undefined;
  private webhook: Daemon | undefined;
  private readonly agents = new Map<string, Daemon>();
  private readonly simNodes: SimNode[] = [];
  private binder: RoundRobinBinder | undefined;
  private state: LabState | undefined;
  /** The simulated nodes' CNI bin dir; the agents get it as the chart's do (uninstall removes `weir` there). */
  private cniBinDir: string | undefined;
  private readonly names;
  readonly prefix: string;

  constructor(private readonly options: LabOptions) {
    this.prefix = options.prefix ?? DEFAULT_LAB_PREFIX;
    this.names = underlayNames(this.prefix);
  }

  get labState(): LabState {
    if (!this.state) throw new Error('the lab is not up');
    return this.state;
  }

  nodeNames(): string[] {
    return Array.from({ length: this.options.nodes }, (_, i) => `node-${i + 1}`);
  }

  async up(progress: (step: string) => void = () => undefined): Promise<LabState> {
    const { dir } = this.options;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await this.cleanLeftovers();
    progress('starting etcd and kube-apiserver');
    this.controlPlane = await startControlPlane(this.options.persistentControlPlane ? { dataDir: join(dir, 'control-plane') } : {});
    const kubeconfigPath = this.controlPlane.kubeconfigPath;
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);

    progress('wiring the underlay switch and the nodes');
    const cniBinDir = await this.prepareCniBinDir();
    this.cniBinDir = cniBinDir;
    await createSwitch(this.names);
    const nodes: LabNode[] = [];
    const ports = await freeLoopbackPorts(this.options.nodes + 2);
    for (const [index, name] of this.nodeNames().entries()) {
      const netns = await addNodeToSwitch(this.names, name, index + 1);
      const agentPort = ports[index + 2] ?? 0;
      nodes.push({
        name, netns, agentPort, agentUrl: `http://127.0.0.1:${agentPort}`,
        cniSocket: join(dir, 'nodes', name, 'cni.sock'),
        pinRoot: `/sys/fs/bpf/${this.prefix}/${name}`,
      });
      await core.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name, 'weir.dev/lab': 'true' } } } }).catch(() => undefined);
    }

    progress('starting the webhook and registering it');
    await core.createNamespace({ body: { metadata: { name: LAB_NAMESPACE } } }).catch(() => undefined);
    const [webhookPort = 0, healthPort = 0] = ports;
    const chart = await render({ namespace: LAB_NAMESPACE });
    this.webhook = this.spawnProcess('webhook', 'webhook/src/main.ts', {
      KUBECONFIG: kubeconfigPath, WEIR_WEBHOOK_PORT: String(webhookPort), WEIR_HEALTH_PORT: String(healthPort),
      WEIR_LISTEN_HOST: '127.0.0.1', WEIR_TLS_MODE: 'self-signed', WEIR_NAMESPACE: LAB_NAMESPACE,
      WEIR_SERVICE_NAME: 'weir-webhook', WEIR_MUTATING_WEBHOOK: 'weir', WEIR_VALIDATING_WEBHOOK: 'weir',
      ...webhookEnvFromChart(chart),
    });
    await createWebhookConfigs(kc, webhookConfigsAtUrl(chart, `https://127.0.0.1:${webhookPort}`));
    await waitForHttp(`http://127.0.0.1:${healthPort}/readyz`, 60_000, this.webhook);
    await this.waitForCaBundle(kc, 30_000);

    progress(`starting ${nodes.length} agent(s) and simulated node(s)`);
    const clusterNetwork = labClusterNetwork();
    for (const node of nodes) {
      await mkdir(join(dir, 'nodes', node.name), { recursive: true, mode: 0o700 });
      this.agents.set(node.name, this.spawnAgent(node, kubeconfigPath));
    }
    for (const node of nodes) {
      const agent = this.agents.get(node.name);
      await waitForHttp(`${node.agentUrl}/readyz`, 60_000, agent);
      const sim = new SimNode({
        nodeName: node.name, kubeconfig: kc, nodeNetns: node.netns, cniBinDir,
        pluginEnv: { WEIR_CNI_SOCKET: node.cniSocket },
        resolveAttachments: (pod) => resolveAttachments(pod, nadSource(kc), clusterNetwork),
        labPrefix: this.prefix,
        log: (line) => this.options.log(`[${node.name}] ${line}`),
      });
      await sim.start();
      this.simNodes.push(sim);
    }
    this.binder = new RoundRobinBinder(kc, nodes.map((n) => n.name), (line) => this.options.log(`[binder] ${line}`));
    await this.binder.start();

    this.state = {
      version: 1, prefix: this.prefix, pid: process.pid, kubeconfig: kubeconfigPath, server: this.controlPlane.server,
      webhookHealthUrl: `http://127.0.0.1:${healthPort}`, nodes, startedAt: new Date().toISOString(),
      controlPlaneStartupMs: this.controlPlane.startupMs,
    };
    return this.state;
  }

  /** Restarts one node's agent (the restart suites use it); enforcement must not gap. */
  async restartAgent(node: string): Promise<void> {
    const agent = this.agents.get(node);
    const labNode = this.state?.nodes.find((n) => n.name === node);
    if (!agent || !labNode || !this.state) throw new Error(`no agent for node ${node}`);
    await stopDaemon(agent, 10_000);
    const restarted = this.spawnAgent(labNode, this.state.kubeconfig);
    this.agents.set(node, restarted);
    await waitForHttp(`${labNode.agentUrl}/readyz`, 60_000, restarted);
  }

  /** Tears everything down, in the reverse order, and checks nothing is left. */
  async down(options: { keepLogs: boolean } = { keepLogs: false }, progress: (step: string) => void = () => undefined): Promise<string[]> {
    const problems: string[] = [];
    // Every step runs even when an earlier one failed: a teardown must remove all it can.
    const step = async (what: string, fn: () => Promise<void>) => {
      progress(what);
      try {
        await fn();
      } catch (error) {
        problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    await step('stopping the binder', async () => { await this.binder?.stop(); });
    await step('stopping the simulated nodes (CNI DEL for every pod)', async () => {
      for (const sim of this.simNodes.splice(0)) await sim.stop();
    });
    await step('stopping agents', async () => {
      for (const [name, agent] of this.agents) {
        await stopDaemon(agent, 10_000);
        this.agents.delete(name);
      }
    });
    await step('stopping the webhook', async () => { if (this.webhook) await stopDaemon(this.webhook, 10_000); });
    this.webhook = undefined;
    await step('stopping the control plane', async () => { await this.controlPlane?.stop(); });
    this.controlPlane = undefined;
    await step('removing the underlay and pinned maps', () => this.cleanLeftovers());
    // After a failed start the logs stay, so the user can read why; otherwise nothing stays.
    if (!options.keepLogs && problems.length === 0) await rm(this.options.dir, { recursive: true, force: true });
    return [...problems, ...await this.leftoverReport()];
  }

  /** What a previous lab (or a crashed one) may have left: lab netns, pinned maps. */
  private async cleanLeftovers(): Promise<void> {
    for (const ns of await listNetns()) {
      if (ns.startsWith(`${this.prefix}-`)) await deleteNetns(ns);
    }
    await destroyUnderlay(this.names, []);
    await rm(`/sys/fs/bpf/${this.prefix}`, { recursive: true, force: true });
  }

  /** What a lab leaves that it should not: lab netns, pinned maps. */
  async leftoverReport(): Promise<string[]> {
    const found: string[] = [];
    for (const ns of await listNetns()) if (ns.startsWith(`${this.prefix}-`)) found.push(`netns ${ns}`);
    try {
      const pins = await readdir(`/sys/fs/bpf/${this.prefix}`);
      if (pins.length > 0) found.push(`pinned BPF objects under /sys/fs/bpf/${this.prefix}`);
    } catch {
      // gone, as it should be
    }
    return found;
  }

  /**
   * What `helm uninstall` does to one node's agent: the chart's pre-delete hook runs
   * `weir-agent --arm-uninstall` in the agent's container (agent/src/uninstall.ts), then the
   * DaemonSet's deletion stops it. The armed agent cleans the node up on its way out.
   */
  async uninstallAgent(node: string): Promise<void> {
    const agent = this.agents.get(node);
    const labNode = this.state?.nodes.find((n) => n.name === node);
    if (!agent || !labNode || !this.state) throw new Error(`no agent for node ${node}`);
    const { command, args } = tsEntry('agent/src/main.ts');
    const env = { ...process.env, ...this.agentEnv(labNode, this.state.kubeconfig) };
    await new Promise<void>((resolve, reject) => {
      execFile(command, [...args, '--arm-uninstall'], { env, timeout: 60_000 }, (error, _stdout, stderr) => {
        if (error) reject(new Error(`weir-agent --arm-uninstall on ${node}: ${error.message} ${stderr}`));
        else resolve();
      });
    });
    await stopDaemon(agent, 20_000);
    this.agents.delete(node);
  }

  /** One node's agent env, with every node-scoped setting of its own (pins, socket, port, state). */
  private agentEnv(node: LabNode, kubeconfigPath: string): Record<string, string> {
    return {
      KUBECONFIG: kubeconfigPath, WEIR_NODE_NAME: node.name, WEIR_PIN_ROOT: node.pinRoot, WEIR_CNI_SOCKET: node.cniSocket,
      WEIR_API_PORT: String(node.agentPort), WEIR_METRICS_PORT: '0', WEIR_BPF_OBJECT: BPF_OBJECT_DIR,
      WEIR_STATE_DIR: join(this.options.dir, 'nodes', node.name, 'state'),
      // The agent runs in this machine's netns; the simulated node's addresses are in its own.
      WEIR_NODE_NETNS: netnsPath(node.netns),
      ...(this.cniBinDir === undefined ? {} : { WEIR_CNI_BIN_DIR: this.cniBinDir }),
    };
  }

  private spawnAgent(node: LabNode, kubeconfigPath: string): Daemon {
    return this.spawnProcess(`agent-${node.name}`, 'agent/src/main.ts', this.agentEnv(node, kubeconfigPath));
  }

  private spawnProcess(name: string, entry: string, env: Record<string, string>): Daemon {
    const { command, args } = tsEntry(entry);
    const daemon = startDaemon(name, command, args, join(this.options.dir, `${name}.log`), { ...process.env, ...env });
    // If the supervisor itself dies (SIGKILL, crash), the watchdog ends the daemon too: a lab never
    // leaves an agent or webhook running with nobody to stop it.
    startReaper([daemon.pid], undefined);
    return daemon;
  }

  private async prepareCniBinDir(): Promise<string> {
    const binDir = join(this.options.dir, 'cni-bin');
    await rm(binDir, { recursive: true, force: true });
    await mkdir(binDir, { recursive: true });
    for (const plugin of await readdir(REFERENCE_CNI_DIR)) await symlink(join(REFERENCE_CNI_DIR, plugin), join(binDir, plugin));
    await symlink(CNI_PLUGIN_BINARY, join(binDir, 'weir'));
    return binDir;
  }

  private async waitForCaBundle(kc: KubeConfig, timeoutMs: number): Promise<void> {
    const client = kc.makeApiClient(AdmissionregistrationV1Api);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = await client.readMutatingWebhookConfiguration({ name: 'weir' });
      const v = await client.readValidatingWebhookConfiguration({ name: 'weir' });
      const patched = [...(m.webhooks ?? []), ...(v.webhooks ?? [])].every((w) => (w.clientConfig.caBundle ?? '') !== '');
      if (patched) return;
      await sleep(250);
    }
    throw new Error('the webhook did not patch its caBundle into the webhook configurations in time; see webhook.log in the lab directory');
  }
}

/**
 * The webhook settings that must agree with the chart's webhook configurations, taken from the
 * chart's own Deployment env: the lab registers those configurations (timeoutSeconds included), so
 * its webhook process waits for its caches within the same timeout as an installed one.
 */
export const CHART_WEBHOOK_ENV = ['WEIR_ADMISSION_TIMEOUT_SECONDS'] as const;

export function webhookEnvFromChart(chart: readonly Manifest[]): Record<string, string> {
  const deployment = chart.find((m) => m.kind === 'Deployment' && m.metadata.name.endsWith('-webhook'));
  if (deployment === undefined) throw new Error('the rendered chart has no webhook Deployment (charts/weir/templates/webhook-deployment.yaml)');
  const env = chartWebhookEnv(chart, deployment.metadata.name, LAB_NAMESPACE);
  const out: Record<string, string> = {};
  for (const name of CHART_WEBHOOK_ENV) {
    const value = env[name];
    if (value === undefined) throw new Error(`the chart's webhook Deployment sets no ${name}; the lab takes it from there`);
    out[name] = value;
  }
  return out;
}

/** The lab's stand-in for Multus's clusterNetwork: a plain macvlan network Weir does not enforce. */
export function labClusterNetwork(): ClusterNetwork {
  const parsed = networkListFromConfig(JSON.stringify({
    cniVersion: '1.0.0', name: 'lab-cluster-network',
    plugins: [{ type: 'macvlan', master: UPLINK, mode: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '10.250.0.0/16' }]] } }],
  }), 'lab-cluster-network');
  if (!parsed.ok) throw new Error(parsed.error);
  return { name: 'lab-cluster-network', list: parsed.list };
}

function nadSource(kc: KubeConfig) {
  return {
    async nadConfig(namespace: string, name: string): Promise<string | undefined> {
      const api = kc.makeApiClient(CustomObjectsApi);
      try {
        const nad: unknown = await api.getNamespacedCustomObject({ group: 'k8s.cni.cncf.io', version: 'v1', namespace, plural: 'network-attachment-definitions', name });
        const spec = isRecord(nad) ? nad.spec : undefined;
        return isRecord(spec) && typeof spec.config === 'string' ? spec.config : '';
      } catch {
        return undefined;
      }
    },
  };
}

async function waitForHttp(url: string, timeoutMs: number, daemon: Daemon | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (daemon?.hasExited()) throw new Error(`${daemon.name} exited during start-up; see ${daemon.logPath}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  throw new Error(`${url} did not become ready within ${timeoutMs} ms${daemon ? `; see ${daemon.logPath}` : ''}`);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function writeState(dir: string, state: LabState): Promise<void> {
  // Atomic: `weir lab up` polls this file from another process.
  await writeFileAtomic(join(dir, 'state.json'), JSON.stringify(state, null, 1));
}
