/**
 * The CNI commands the weir plugin forwards over the agent's socket (cni/server.ts): ADD programs
 * the endpoint before answering, so a pod's first packet already meets its policy and bandwidth;
 * DEL and GC detach; CHECK asks the kernel whether the programs are still in place; STATUS says
 * whether the caches are synced. Every datapath write runs under EndpointPrograms' lock.
 */
import { errorMessage } from '../../../common/src/errors.js';
import type { ClusterIntake } from '../cluster-intake.js';
import type { AgentConfig } from '../config.js';
import type { DatapathApi } from '../datapath/api.js';
import { resultAddresses } from '../datapath/addresses.js';
import { podKey, type EndpointPrograms } from '../endpoint-programs.js';
import { defaultInterfaceOf, networkOf, resultIps, resultMac } from '../endpoints/intent.js';
import type { PodEntry } from '../endpoints/pod-intake.js';
import type { AttachProbe } from '../endpoints/probe.js';
import { endpointKeyOf, type EndpointRegistry } from '../endpoints/registry.js';
import type { ClusterSource, SourceChange } from '../kube/sources.js';
import type { Log } from '../log.js';
import type { AgentMetrics } from '../metrics.js';
import type { Clock } from '../reconcile/runner.js';
import { CNI_ERROR_CODES } from './codes.js';
import { cniError, cniOk, type AddRequest, type CniRequest, type CniResponse, type DelRequest, type GcRequest } from './protocol.js';

export interface CniCommandsOptions {
  config: Pick<AgentConfig, 'nodeName'>;
  datapath: DatapathApi;
  probe: AttachProbe;
  source: Pick<ClusterSource, 'fetchPod' | 'unsynced'>;
  registry: EndpointRegistry;
  log: Log;
  metrics: AgentMetrics;
  clock: Clock;
  cluster: ClusterIntake;
  programs: EndpointPrograms;
  /** CNI ADD waits this long for the pod to reach the cache before a direct GET. */
  podWaitMs?: number;
  isReady(): boolean;
  /** The agent's intake of a change (a pod fetched directly), which also triggers a reconcile. */
  applyChange(change: SourceChange): void;
  /** Asks for a reconcile soon, once the agent runs (peers learn a new pod's identity; a detached pod's goes). */
  trigger(): void;
}

export class CniCommands {
  constructor(private readonly o: CniCommandsOptions) {}

  /** The CNI socket handler (startCniServer's `handler`): one command, timed and counted. */
  async handle(req: CniRequest, signal: AbortSignal): Promise<CniResponse> {
    let res: CniResponse;
    const started = this.o.clock.now();
    try {
      switch (req.command) {
        case 'ADD': res = await this.cniAdd(req, signal); break;
        case 'CHECK': res = await this.cniCheck(req); break;
        case 'DEL': res = await this.cniDel(req); break;
        case 'STATUS': res = this.cniStatus(); break;
        case 'GC': res = await this.cniGc(req); break;
      }
    } catch (e) {
      res = cniError(CNI_ERROR_CODES.WEIR_ERR_AGENT_INTERNAL, `weir agent: ${req.command} failed: ${errorMessage(e)}`);
    }
    if (req.command === 'ADD') this.o.metrics.cniAddSeconds.observe((this.o.clock.now() - started) / 1000);
    this.o.metrics.cniRequests.inc({ command: req.command, result: res.ok ? 'ok' : 'error' });
    if (!res.ok) this.o.log.warn({ command: req.command, code: res.code }, res.message);
    return res;
  }

  private async waitForPod(ns: string, name: string, uid: string | undefined, signal: AbortSignal): Promise<PodEntry | undefined> {
    const key = podKey(ns, name);
    const fits = (e: PodEntry | undefined): e is PodEntry => e !== undefined && (uid === undefined || e.uid === uid);
    const deadline = this.o.clock.now() + (this.o.podWaitMs ?? 5000);
    let entry = this.o.cluster.intake.entry(key);
    while (!fits(entry) && this.o.clock.now() < deadline && !signal.aborted) {
      await new Promise<void>((resolve) => this.o.clock.setTimeout(resolve, 25));
      entry = this.o.cluster.intake.entry(key);
    }
    if (fits(entry)) return entry;
    // The watch may lag (or have broken): ask the API server directly before refusing.
    const object = await this.o.source.fetchPod(ns, name).catch((e: unknown) => {
      this.o.log.warn({ pod: key, err: errorMessage(e) }, 'direct GET of the pod failed');
      return undefined;
    });
    if (object !== undefined) this.o.applyChange({ resource: 'pod', type: 'upsert', object });
    entry = this.o.cluster.intake.entry(key);
    return fits(entry) ? entry : undefined;
  }

  private async cniAdd(req: AddRequest, signal: AbortSignal): Promise<CniResponse> {
    const { attachment, pod: ref } = req;
    if (ref === null) {
      return cniError(CNI_ERROR_CODES.CNI_ERR_INVALID_ENV, 'weir: CNI_ARGS has no K8S_POD_NAMESPACE/K8S_POD_NAME; weir enforces Kubernetes pods only');
    }
    if (!this.o.isReady()) {
      return cniError(CNI_ERROR_CODES.CNI_ERR_TRY_AGAIN_LATER, `weir agent on ${this.o.config.nodeName} is starting (caches not synced yet); retry`);
    }
    const what = `${ref.namespace}/${ref.name} ${attachment.ifName}`;
    const entry = await this.waitForPod(ref.namespace, ref.name, ref.uid, signal);
    if (entry === undefined) {
      return cniError(
        CNI_ERROR_CODES.CNI_ERR_TRY_AGAIN_LATER,
        `weir agent: pod ${ref.namespace}/${ref.name}${ref.uid ? ` (uid ${ref.uid})` : ''} is unknown: not in the cache after ${this.o.podWaitMs ?? 5000} ms and not found by a direct GET; refusing to wire it without its policy`,
      );
    }
    // A call of the weir plugin proves its chain runs weir: the interface is always enforced.
    const key = `${ref.namespace}/${ref.name}/${attachment.ifName}`;
    const podK = podKey(ref.namespace, ref.name);
    return this.o.programs.withLock(async () => {
      const { registry, datapath } = this.o;
      const previous = registry.get(key);
      if (previous !== undefined && (previous.containerId !== attachment.containerId || previous.netnsPath !== attachment.netns)) {
        // A re-created sandbox: the old one's programs and state must not linger.
        await this.o.programs.forget(previous);
      }
      const isDefault = attachment.ifName === defaultInterfaceOf(entry.view);
      this.o.cluster.intake.bindLocal(podK, {
        name: attachment.ifName, network: networkOf(entry.view, attachment.ifName), isDefault, mac: resultMac(req.prevResult, attachment.ifName),
        ips: resultIps(req.prevResult), containerId: attachment.containerId, attachedAtMs: Date.now(),
      });
      const rec = await registry.put({
        containerId: attachment.containerId, netnsPath: attachment.netns, ifName: attachment.ifName,
        namespace: ref.namespace, pod: ref.name, podUid: entry.uid,
      });
      this.o.programs.networkOf.set(key, req.networkName);
      const desired = this.o.cluster.compiler.compileEndpoint({ namespace: ref.namespace, pod: ref.name, interface: attachment.ifName });
      try {
        if (desired === undefined) throw new Error('the policy compiler has no state for this interface');
        // The pod's own addresses get their identity before its first packet can reach a peer.
        const ipcache = this.o.cluster.compiler.ipcache();
        this.o.programs.noteIpCache(await datapath.syncIpCache(ipcache), ipcache.length);
        const bandwidth = isDefault ? entry.view.bandwidth : undefined;
        this.o.programs.programmed.delete(rec.endpointId);
        await this.o.programs.program(rec, this.o.cluster.enforcement.apply(desired), bandwidth, resultAddresses(req.prevResult, attachment.ifName));
      } catch (e) {
        await this.o.programs.forget(rec);
        return cniError(CNI_ERROR_CODES.WEIR_ERR_AGENT_INTERNAL, `weir agent: could not enforce policy on ${what}: ${errorMessage(e)}`);
      }
      this.o.programs.updateGauges();
      this.o.programs.publish(podK, entry.uid);
      const p = this.o.programs.programmed.get(rec.endpointId);
      this.o.log.info(
        { pod: podK, interface: attachment.ifName, endpointId: rec.endpointId, policyEntries: desired.entries.length, shaping: p?.shaping },
        'endpoint attached',
      );
      // Peers on this node learn the new pod's identity (ipcache) on the next run. Links the rest
      // of the chain adds to the pod are enforced as the netns's link watch hears of them
      // (program() opened it; endpoints/link-watches.ts).
      this.o.trigger();
      return cniOk();
    });
  }

  private async cniDel(req: DelRequest): Promise<CniResponse> {
    await this.o.programs.withLock(async () => {
      const rec = this.o.registry.byContainer(req.attachment.containerId, req.attachment.ifName);
      if (rec === undefined) return;
      await this.o.programs.forget(rec);
      this.o.programs.updateGauges();
      this.o.log.info({ endpoint: endpointKeyOf(rec), endpointId: rec.endpointId }, 'endpoint detached (CNI DEL)');
    });
    this.o.trigger();
    return cniOk();
  }

  private async cniCheck(req: AddRequest): Promise<CniResponse> {
    const rec = this.o.registry.byContainer(req.attachment.containerId, req.attachment.ifName);
    const what = req.pod ? `${req.pod.namespace}/${req.pod.name} ${req.attachment.ifName}` : `${req.attachment.containerId} ${req.attachment.ifName}`;
    if (rec === undefined) {
      return cniError(CNI_ERROR_CODES.WEIR_ERR_AGENT_INTERNAL, `weir agent: no endpoint for ${what}: it was never attached or was removed`);
    }
    const state = await this.o.probe.check(rec.netnsPath, rec.ifName, this.o.datapath.programIds(), rec.endpointId);
    switch (state.kind) {
      case 'attached': return cniOk();
      case 'missing': return cniError(
        CNI_ERROR_CODES.WEIR_ERR_AGENT_INTERNAL,
        `weir agent: programs ${state.foreign.length > 0 ? 'replaced by foreign ones' : 'missing'} on ${what} (${state.directions.join(', ')})`,
      );
      case 'netns-gone': return cniError(CNI_ERROR_CODES.WEIR_ERR_AGENT_INTERNAL, `weir agent: ${rec.netnsPath} or ${rec.ifName} no longer exists`);
    }
  }

  private cniStatus(): CniResponse {
    if (this.o.isReady()) return cniOk();
    const unsynced = this.o.source.unsynced();
    return cniError(
      CNI_ERROR_CODES.CNI_ERR_NOT_READY,
      `weir agent on ${this.o.config.nodeName} is not ready${unsynced.length ? `: caches not synced (${unsynced.join(', ')})` : ''}`,
    );
  }

  private async cniGc(req: GcRequest): Promise<CniResponse> {
    const valid = new Set(req.validAttachments.map((a) => `${a.containerId}\u0000${a.ifName}`));
    await this.o.programs.withLock(async () => {
      for (const rec of this.o.registry.list()) {
        // GC is per network: only endpoints known to belong to this network may be collected.
        if (this.o.programs.networkOf.get(endpointKeyOf(rec)) !== req.networkName) continue;
        if (valid.has(`${rec.containerId}\u0000${rec.ifName}`)) continue;
        this.o.log.info({ endpoint: endpointKeyOf(rec) }, 'endpoint not in the valid attachments (CNI GC); detaching');
        await this.o.programs.forget(rec);
      }
      this.o.programs.updateGauges();
    });
    return cniOk();
  }
}
