/**
 * The node agent: cluster state in (ClusterSource → ClusterIntake), datapath state out
 * (DatapathApi, through EndpointPrograms), endpoint lifecycle from the weir CNI plugin
 * (CniCommands). One reconcile loop (ReconcileRunner running Reconciler) diffs what the compiler
 * wants against what this process programmed; CNI ADD programs its endpoint itself, before
 * answering, so a pod's first packet already meets its policy and bandwidth. This class wires
 * those parts together and owns start and stop.
 *
 * Restarts: endpoints are persisted (EndpointRegistry) and the pinned maps and attached programs
 * stay in the kernel while the agent is down. A new agent adopts them (adoptExisting, then
 * attachEndpoint with tc replace): programs are never detached, so flows are never reset.
 */
import type { AgentStatus } from './api.js';
import { ClusterIntake } from './cluster-intake.js';
import { CniCommands } from './cni/commands.js';
import type { CniRequest, CniResponse } from './cni/protocol.js';
import type { AgentConfig } from './config.js';
import type { DatapathApi, EventSubscription } from './datapath/api.js';
import { EndpointPrograms } from './endpoint-programs.js';
import { AttachCheck } from './endpoints/attach-check.js';
import { LinkWatches } from './endpoints/link-watches.js';
import type { AttachProbe } from './endpoints/probe.js';
import { endpointKeyOf, type EndpointRegistry } from './endpoints/registry.js';
import type { EndpointWriter } from './endpoints/weirendpoint-publish.js';
import type { ObjectEventSink, PodEventSink } from './events.js';
import { FlowNaming } from './flow-naming.js';
import type { AuditHistory } from './flows/audit-history.js';
import type { FlowHub } from './flows/hub.js';
import type { FlowNames } from './flows/format.js';
import type { ClusterSource, SourceChange } from './kube/sources.js';
import { AgentMetrics } from './metrics.js';
import { Reconciler } from './reconciler.js';
import { ReconcileRunner, systemClock, type Clock } from './reconcile/runner.js';
import { endpointStatuses } from './status.js';
import { errorMessage } from '../../common/src/errors.js';

import type { Log } from './log.js';

export type { Log };

export interface AgentOptions {
  config: AgentConfig;
  datapath: DatapathApi;
  probe: AttachProbe;
  source: ClusterSource;
  registry: EndpointRegistry;
  log: Log;
  events?: PodEventSink;
  /** Warning Events about policy objects that do not parse (agent/src/policy/intake.ts). */
  policyEvents?: ObjectEventSink;
  /** Where this agent publishes its WeirEndpoints; none = not published (unit tests). */
  endpoints?: EndpointWriter;
  clock?: Clock;
  /** CNI ADD waits this long for the pod to reach the cache before a direct GET. */
  podWaitMs?: number;
  syncTimeoutMs?: number;
  coalesceMs?: number;
  /** Report allowed new flows too (drops are always reported); default both directions. */
  flowEvents?: { ingress: boolean; egress: boolean };
}

export type { AgentStatus, EndpointStatus } from './api.js';

export class Agent {
  readonly metrics: AgentMetrics;
  private readonly cluster: ClusterIntake;
  private readonly programs: EndpointPrograms;
  private readonly reconciler: Reconciler;
  private readonly naming: FlowNaming;
  private readonly cni: CniCommands;
  private readonly runner: ReconcileRunner;
  private readonly clock: Clock;
  private eventsSub: EventSubscription | undefined;
  private readonly attachCheck: AttachCheck;
  private readonly linkWatches: LinkWatches;
  private started = false;
  private ready = false;
  private stopped = false;

  constructor(private readonly o: AgentOptions) {
    const { config, log, registry, datapath } = o;
    const clock = (this.clock = o.clock ?? systemClock);
    const metrics = (this.metrics = new AgentMetrics({
      counters: () => datapath.readCounters(),
      endpointName: (id) => this.naming.endpointName(id) ?? `endpoint-${id}`,
    }));
    const cluster = (this.cluster = new ClusterIntake({
      nodeName: config.nodeName, log, metrics, events: o.events, now: () => clock.now(),
      ...(o.policyEvents === undefined ? {} : { policyEvents: o.policyEvents }),
      ...(config.ipBlockCidrsPerNamespace === undefined ? {} : { ipBlockCidrsPerNamespace: config.ipBlockCidrsPerNamespace }),
    }));
    // Links added to an enforced pod's netns after its ADD are enforced when the watch hears of them.
    this.linkWatches = new LinkWatches({ datapath, onChange: (netns, err) => this.attachCheck.linkChanged(netns, err) });
    const programs = (this.programs = new EndpointPrograms({
      config, datapath, registry, log, metrics, intake: cluster.intake, events: o.events, endpoints: o.endpoints, flowEvents: o.flowEvents,
      linkWatches: this.linkWatches,
    }));
    this.reconciler = new Reconciler({
      nodeName: config.nodeName, cluster, programs, datapath, registry, log, metrics, active: () => this.started && !this.stopped,
    });
    this.naming = new FlowNaming({ nodeName: config.nodeName, registry, cluster, log, metrics, rules: () => this.reconciler.rules });
    this.attachCheck = new AttachCheck({
      datapath, probe: o.probe, programmed: programs.programmed, withLock: (fn) => programs.withLock(fn), events: o.events, log,
      metrics, clock, periodSeconds: config.attachCheckSeconds, flowEvents: () => programs.flowEventsFlag(),
    });
    this.cni = new CniCommands({
      config, datapath, probe: o.probe, source: o.source, registry, log, metrics, clock, cluster, programs,
      podWaitMs: o.podWaitMs, isReady: () => this.isReady, applyChange: (c) => this.applyChange(c), trigger: () => this.trigger(),
    });
    this.runner = new ReconcileRunner({
      run: (reason) => this.reconciler.run(reason),
      coalesceMs: o.coalesceMs ?? 50,
      resyncMs: config.resyncSeconds * 1000,
      clock,
      onRunError: (e) => log.error({ err: errorMessage(e) }, 'reconcile failed'),
      onRunDone: (reason, ms) => metrics.reconcileSeconds.observe({ reason }, ms / 1000),
    });
  }

  get isReady(): boolean {
    return this.ready && this.o.source.synced;
  }

  /** Flow records of this node (`weir flows`). */
  get flows(): FlowHub {
    return this.naming.hub;
  }

  /** The distinct audited flows of the last day (`weir audit report --since`; GET /v1/audit). */
  get auditHistory(): AuditHistory {
    return this.naming.auditHistory;
  }

  // ------------------------------------------------------------------ lifecycle

  /** load registry → adopt pinned state → caches synced → first reconcile → attach check → ready. */
  async start(): Promise<void> {
    const { log, datapath, registry } = this.o;
    for (const problem of await registry.load()) log.warn({}, problem);
    const adopted = await this.programs.adoptExisting();
    log.info({ adopted, registered: registry.list().length }, 'adopted pinned datapath state (nothing detached)');
    this.eventsSub = datapath.events((e) => this.naming.onFlowEvent(e));
    await this.o.source.start((c) => this.applyChange(c), this.o.syncTimeoutMs ?? 60_000);
    this.started = true;
    await this.reconciler.run('resync');
    await this.programs.detachOrphans();
    this.runner.start();
    this.attachCheck.start();
    this.ready = true;
    log.info({ node: this.o.config.nodeName, endpoints: registry.list().length }, 'agent ready');
  }

  /**
   * Stops watching and serving. Programs and pinned maps stay (enforcement continues while the
   * agent restarts) unless `cleanup` is set: then every endpoint is detached (lab teardown).
   */
  async stop(opts: { cleanup?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ready = false;
    this.runner.stop();
    this.attachCheck.stop();
    this.linkWatches.closeAll();
    this.programs.stopPublishing();
    await this.o.source.stop().catch(() => undefined);
    await this.eventsSub?.stop().catch(() => undefined);
    await this.programs.withLock(async () => {
      if (opts.cleanup) {
        for (const rec of this.o.registry.list()) {
          await this.o.datapath.detachEndpoint(rec.endpointId).catch((e: unknown) => this.o.log.warn({ err: errorMessage(e) }, `cleanup of ${endpointKeyOf(rec)} failed`));
          await this.o.registry.remove(endpointKeyOf(rec));
        }
      }
      await this.o.datapath.close();
    });
  }

  // ------------------------------------------------------------------ cluster changes

  /** Applies one watched change to the compiler (cluster-intake.ts). Bad objects are logged and ignored. */
  applyChange(change: SourceChange): void {
    this.cluster.applyChange(change);
    this.trigger();
  }

  private trigger(): void {
    if (this.started) this.runner.trigger('event');
  }

  /** Waits for any pending or running reconcile (tests, lab). */
  idle(): Promise<void> {
    return this.runner.idle();
  }

  // ------------------------------------------------------------------ CNI

  /** The CNI socket handler (startCniServer's `handler`; cni/commands.ts). */
  handleCni(req: CniRequest, signal: AbortSignal): Promise<CniResponse> {
    return this.cni.handle(req, signal);
  }

  /** Netns paths whose links are watched now (endpoints/link-watches.ts). */
  watchedNetns(): string[] {
    return this.linkWatches.watched();
  }

  /** Resolves once the link passes the watches started are done (tests). */
  linkPassesSettled(): Promise<void> {
    return this.attachCheck.linkPassesSettled();
  }

  /** Re-attaches missing or replaced programs and enforces links added after ADD (endpoints/attach-check.ts); tests call it directly. */
  checkAttachments(): Promise<number> {
    return this.attachCheck.check();
  }

  // ------------------------------------------------------------------ flows and status

  flowNames(): FlowNames {
    return this.naming.flowNames();
  }

  status(): AgentStatus {
    const endpoints = endpointStatuses(this.o.registry.list(), this.programs.programmed);
    const { intake } = this.cluster;
    return {
      node: this.o.config.nodeName,
      ready: this.isReady,
      unsynced: this.o.source.unsynced(),
      endpoints,
      maps: { ipcache: this.programs.ipcacheSize, policy: this.programs.policyEntries(), endpoints: endpoints.length },
      pods: intake.size,
      malformedIntents: intake.malformedIntents,
    };
  }
}
