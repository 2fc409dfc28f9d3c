import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { addNetworkList, delNetworkList, resultAddresses, type ChainContext, type NetworkList } from './chain.js';
import { kubeWatch, lineLogger, rawObject, toListResult } from '../../common/src/kube/kube-source.js';
import { Reflector } from '../../common/src/kube/reflector.js';
import { addNetns, deleteNetns, setLoopbackUp, setStrictArp } from './netns.js';

/**
 * The simulated node: stands in for kubelet, the container runtime and Multus for the pods bound
 * to one node. For each pod it creates a network namespace, runs the CNI chain of every network
 * the pod asks for with the real plugins (inside the node's own network namespace, where the
 * node's uplink lives), and writes back pod status and `k8s.v1.cni.cncf.io/network-status`.
 * On deletion it runs DEL in reverse and removes the pod object, as kubelet does.
 */

/** One network of a pod, resolved from its annotations (Multus semantics). */
export interface Attachment {
  /** "namespace/name" of the NAD, as Multus writes it into network-status. */
  network: string;
  ifName: string;
  isDefault: boolean;
  list: NetworkList;
  /** Per-attachment runtimeConfig (ips, mac) from the JSON selection element. */
  runtimeConfig?: Record<string, unknown>;
}

export type AttachmentResolution = { ok: true; attachments: Attachment[] } | { ok: false; error: string };

export interface SimNodeOptions {
  nodeName: string;
  kubeconfig: KubeConfig;
  /** Network namespace of the node: CNI plugins run inside it, so `master` names resolve there. */
  nodeNetns: string;
  /** CNI bin dir holding the reference plugins and `weir`. */
  cniBinDir: string;
  /** Extra env for plugins, e.g. WEIR_CNI_SOCKET of this node's agent. */
  pluginEnv: Record<string, string>;
  resolveAttachments(pod: V1Pod): Promise<AttachmentResolution>;
  /** The lab's name prefix: pod network namespaces are named after it. */
  labPrefix?: string;
  log(line: string): void;
}

interface PodSandbox {
  uid: string;
  netns: string;
  /** Who the sandbox is for: a DEL carries the pod's names like kubelet's, even once the pod is gone. */
  pod: V1Pod;
  done: Array<{ attachment: Attachment; result: unknown }>;
}

const CNI_ANNOTATION_STATUS = 'k8s.v1.cni.cncf.io/network-status';

/** Netns name for a pod: stable from its UID and the lab's prefix, so `weir lab exec` can find it. */
export function podNetnsName(uid: string, labPrefix = 'wlab'): string {
  return `${labPrefix}-pod-${uid.replace(/-/g, '').slice(0, 12)}`;
}

/** Cache entry of a pod: keyed namespace/name, kept as the API server sent it (as kubelet would). */
export function podEntry(obj: unknown): { key: string; value: V1Pod } | undefined {
  const entry = rawObject(obj);
  return entry === undefined ? undefined : { key: entry.key, value: entry.value as V1Pod };
}

export class SimNode {
  private readonly core: CoreV1Api;
  private pods: Reflector<V1Pod> | undefined;
  private readonly sandboxes = new Map<string, PodSandbox>();
  private readonly busy = new Map<string, Promise<void>>();
  private readonly failed = new Set<string>();

  constructor(private readonly options: SimNodeOptions) {
    this.core = options.kubeconfig.makeApiClient(CoreV1Api);
  }

  get sandboxCount(): number { return this.sandboxes.size; }

  async start(): Promise<void> {
    const node = this.options.nodeName;
    // The same field selector on list and watch: only this node's pods are cached.
    this.pods = new Reflector<V1Pod>({
      resource: `pods on ${node}`,
      watchPath: '/api/v1/pods',
      fieldSelector: `spec.nodeName=${node}`,
      list: async (q) => toListResult(await this.core.listPodForAllNamespaces(q)),
      watch: kubeWatch(this.options.kubeconfig),
      parse: podEntry,
      logger: lineLogger((line) => { this.options.log(line); }),
      backoffMaxMs: 10_000,
      onChange: (c) => this.enqueue(c.value),
    });
    this.pods.start();
    await this.pods.waitForSync(30_000);
  }

  /** Serialises work per pod: a pod is never set up and torn down at the same time. */
  private enqueue(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid || pod.spec?.nodeName !== this.options.nodeName) return;
    const previous = this.busy.get(uid) ?? Promise.resolve();
    const next = previous.then(() => this.sync(uid)).catch((error: unknown) => {
      this.options.log(`pod ${podRef(pod)}: ${describe(error)}`);
    });
    this.busy.set(uid, next);
    void next.finally(() => { if (this.busy.get(uid) === next) this.busy.delete(uid); });
  }

  private async sync(uid: string): Promise<void> {
    const pod = this.pods?.values().find((p) => p.metadata?.uid === uid);
    if (!pod) {
      // Gone from the API (deleted with grace 0 by someone else): clean up what we built.
      await this.teardown(uid, undefined);
      return;
    }
    if (pod.metadata?.deletionTimestamp) {
      await this.teardown(uid, pod);
      await this.core.deleteNamespacedPod({ name: pod.metadata.name ?? '', namespace: pod.metadata.namespace ?? '', gracePeriodSeconds: 0 })
        .catch(() => undefined);
      return;
    }
    if (this.sandboxes.has(uid) || this.failed.has(uid)) return;
    await this.setup(pod, uid);
  }

  private async setup(pod: V1Pod, uid: string): Promise<void> {
    const resolution = await this.options.resolveAttachments(pod);
    if (!resolution.ok) {
      this.failed.add(uid);
      await this.reportFailure(pod, resolution.error);
      return;
    }
    const netns = podNetnsName(uid, this.options.labPrefix);
    await addNetns(netns);
    await setLoopbackUp(netns);
    await setStrictArp(netns);
    const sandbox: PodSandbox = { uid, netns, pod: { metadata: { namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid } }, done: [] };
    this.sandboxes.set(uid, sandbox);
    for (const attachment of resolution.attachments) {
      const outcome = await addNetworkList(attachment.list, this.chainContext(pod, sandbox, attachment));
      if (!outcome.ok) {
        // Like kubelet and containerd: a failed sandbox is torn down, which DELs every network
        // including the one that failed (its IPAM may already hold an address), and the error
        // is surfaced on the pod. The next sync retries.
        sandbox.done.push({ attachment, result: undefined });
        this.failed.add(uid);
        await this.teardown(uid, pod);
        await this.reportFailure(pod, `error adding pod ${podRef(pod)} to network "${attachment.network}": ${outcome.message}`);
        return;
      }
      sandbox.done.push({ attachment, result: outcome.result });
    }
    await this.reportRunning(pod, sandbox);
    this.options.log(`pod ${podRef(pod)} running in netns ${netns}`);
  }

  private chainContext(pod: V1Pod, sandbox: PodSandbox, attachment: Attachment): ChainContext {
    const meta = pod.metadata;
    return {
      containerId: sandbox.uid,
      netns: sandbox.netns,
      ifName: attachment.ifName,
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${meta?.namespace ?? ''};K8S_POD_NAME=${meta?.name ?? ''};K8S_POD_INFRA_CONTAINER_ID=${sandbox.uid};K8S_POD_UID=${meta?.uid ?? ''}`,
      binDir: this.options.cniBinDir,
      env: this.options.pluginEnv,
      netnsToRunIn: this.options.nodeNetns,
      runtimeConfig: attachment.runtimeConfig,
    };
  }

  private async teardown(uid: string, pod: V1Pod | undefined): Promise<void> {
    const sandbox = this.sandboxes.get(uid);
    this.failed.delete(uid);
    if (!sandbox) return;
    for (const { attachment, result } of [...sandbox.done].reverse()) {
      const failures = await delNetworkList(attachment.list, this.chainContext(pod ?? sandbox.pod, sandbox, attachment), result);
      for (const failure of failures) if (!failure.ok) this.options.log(`DEL ${attachment.network}: ${failure.message}`);
    }
    await deleteNetns(sandbox.netns);
    this.sandboxes.delete(uid);
  }

  private async reportRunning(pod: V1Pod, sandbox: PodSandbox): Promise<void> {
    const statuses = sandbox.done.map(({ attachment, result }) => {
      const { ips, mac } = resultAddresses(result);
      return { name: attachment.network, interface: attachment.ifName, ips: ips.map(stripPrefix), ...(mac ? { mac } : {}), default: attachment.isDefault };
    });
    const defaultIps = statuses.find((s) => s.default)?.ips ?? statuses[0]?.ips ?? [];
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? '';
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await this.core.patchNamespacedPod({ name, namespace, body: { metadata: { annotations: { [CNI_ANNOTATION_STATUS]: JSON.stringify(statuses, null, 1) } } } }, merge);
    const now = new Date().toISOString();
    await this.core.patchNamespacedPodStatus({
      name, namespace,
      body: {
        status: {
          phase: 'Running',
          hostIP: '127.0.0.1',
          podIP: defaultIps[0],
          podIPs: defaultIps.map((ip) => ({ ip })),
          startTime: now,
          // The lab runs no containers; each container is reported ready so kubectl shows 1/1.
          containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
            name: c.name, image: c.image ?? '', imageID: '', ready: true, restartCount: 0, started: true,
            state: { running: { startedAt: now } },
          })),
          conditions: [
            { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: now },
            { type: 'Ready', status: 'True', lastTransitionTime: now },
          ],
        },
      },
    }, merge);
  }

  private async reportFailure(pod: V1Pod, message: string): Promise<void> {
    this.options.log(`pod ${podRef(pod)}: ${message}`);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await this.core.patchNamespacedPodStatus({
      name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '',
      body: { status: { phase: 'Pending', conditions: [{ type: 'PodReadyToStartContainers', status: 'False', reason: 'FailedCreatePodSandBox', message }] } },
    }, merge).catch(() => undefined);
  }

  /** Stops watching and tears down every sandbox this node built. */
  async stop(): Promise<void> {
    await this.pods?.stop();
    await Promise.allSettled([...this.busy.values()]);
    for (const uid of [...this.sandboxes.keys()]) await this.teardown(uid, undefined);
  }
}

function stripPrefix(cidr: string): string {
  const slash = cidr.indexOf('/');
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

function podRef(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? '?'}/${pod.metadata?.name ?? '?'}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
