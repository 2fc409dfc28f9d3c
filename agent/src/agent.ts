/**
 * The node agent: cluster state in (ClusterSource), datapath state out (DatapathApi), endpoint
 * lifecycle from the weir CNI plugin (CNI socket). One reconcile loop (ReconcileRunner) diffs what
 * the compiler wants against what this process programmed; CNI ADD programs its endpoint itself,
 * before answering, so a pod's first packet already meets its policy and bandwidth.
 *
 * Restarts: endpoints are persisted (EndpointRegistry) and the pinned maps and attached programs
 * stay in the kernel while the agent is down. A new agent adopts them (adoptExisting, then
 * attachEndpoint with tc replace): programs are never detached, so flows are never reset.
 */
import type { AgentStatus } from './api.js';
import { CNI_ERROR_CODES } from './cni/codes.js';
import { cniError, cniOk, type AddRequest, type CniRequest, type CniResponse, type DelRequest, type GcRequest } from './cni/protocol.js';
import type { AgentConfig } from './config.js';
import type { DatapathApi, EventSubscription } from './datapath/api.js';
import type { EndpointAddresses, FlowEvent } from './datapath/codec.js';
import { resultAddresses } from './datapath/addresses.js';
import type { DesiredEndpoint, RuleOrigin } from './datapath/desired.js';
import type { Bandwidth } from './datapath/shaping.js';
import { AttachCheck } from './endpoints/attach-check.js';
import { endpointStatuses, weirEndpointOf } from './status.js';
import { contentKey, type Programmed } from './endpoints/programmed.js';
import { capacityEvent, DEFAULT_POLICY_ENTRIES_PER_ENDPOINT, fitToQuota, type CapacityLevel, type Occupancy } from './endpoints/capacity.js';
import { endpointKeyOf, type EndpointRecord, type EndpointRegistry } from './endpoints/registry.js';
import { defaultInterfaceOf, networkOf, resultIps, resultMac } from './endpoints/intent.js';
import { PodIntake, type PodEntry } from './endpoints/pod-intake.js';
import type { WeirEndpoint } from './endpoints/weirendpoint.js';
import { EndpointPublisher, type EndpointWriter } from './endpoints/weirendpoint-publish.js';
import type { AttachProbe } from './endpoints/probe.js';
import { FlowHub } from './flows/hub.js';
import { DropLog } from './flows/drop-log.js';
import { formatFlow, toFlowRecord, type FlowNames, type FlowRecord } from './flows/format.js';
import type { ObjectEventSink, PodEventSink } from './events.js';
import type { ClusterSource, Resource, SourceChange } from './kube/sources.js';
import { AgentMetrics } from './metrics.js';
import { ClusterPolicyIntake } from './policy/cnp-intake.js';
import { parseNode } from './policy/cnp-resolve.js';
import { PolicyCompiler } from './policy/compile.js';
import { POLICY_KINDS, PolicyIntake } from './policy/intake.js';
import { ServiceIntake } from './policy/service-intake.js';
import { PolicyVerdicts } from './flows/verdicts.js';
import { AuditPolicyEvents } from './flows/audit-events.js';
import { AuditHistory } from './flows/audit-history.js';
import { NamespaceEnforcement } from './policy/enforcement.js';
import { parseNamespace, type FieldError } from './policy/model.js';
import { ReconcileRunner, systemClock, type Clock, type RunReason } from './reconcile/runner.js';
import { errorMessage } from '../../common/src/errors.js';
import { formatFieldErrors } from '../../common/src/field-errors.js';
import { metaOf } from '../../common/src/records.js';

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


const podKey = (ns: string, name: string): string => `${ns}/${name}`;

export class Agent {
  readonly metrics: AgentMetrics;
  readonly flows = new FlowHub();
  /** The distinct audited flows of the last day (`weir audit report --since`; GET /v1/audit). */
  readonly auditHistory = new AuditHistory();
  private readonly dropLog = new DropLog((fields, message) => this.o.log.info(fields, message));
  private readonly compiler = new PolicyCompiler();
  /** Namespaces in audit mode (weir.dev/enforcement); applied to every desired endpoint. */
  private readonly enforcement = new NamespaceEnforcement();
  private readonly verdicts: PolicyVerdicts;
  /** Events on audit policies summarising their would-drops (issue 17); with policyEvents only. */
  private readonly auditEvents: AuditPolicyEvents | undefined;
  private readonly policies: PolicyIntake;
  /** Between the intake and the compiler: ClusterNetworkPolicy `nodes` peers and what is not enforced. */
  private readonly cnps = new ClusterPolicyIntake(this.compiler, (p, notes) => this.reportNotEnforced(p, notes));
  /** Services and EndpointSlices: egress to a ClusterIP (agent/src/policy/services.ts). */
  private readonly services = new ServiceIntake(this.compiler, (r, o, e) => this.parseFailed(r, o, e));
  private readonly intake: PodIntake;
  private readonly publisher: EndpointPublisher | undefined;
  private readonly programmed = new Map<number, Programmed>();
  /** Last capacity level said for each endpoint (Events on change only). */
  private readonly occupancyLevel = new Map<number, CapacityLevel>();
  /** endpoint key → CNI network name (GC is per network); learned at ADD, not persisted. */
  private readonly networkOf = new Map<string, string>();
  private adopted = new Set<number>();
  private rules: RuleOrigin[] = [];
  private ipcacheSize = 0;
  /** Entries the last ipcache sync could not write (a full map). */
  private ipcacheUnwritten = 0;
  private readonly runner: ReconcileRunner;
  private readonly clock: Clock;
  private lock: Promise<unknown> = Promise.resolve();
  private eventsSub: EventSubscription | undefined;
  private readonly attachCheck: AttachCheck;
  private started = false;
  private ready = false;
  private stopped = false;

  constructor(private readonly o: AgentOptions) {
    this.clock = o.clock ?? systemClock;
    this.metrics = new AgentMetrics({
      counters: () => o.datapath.readCounters(),
      endpointName: (id) => this.endpointName(id) ?? `endpoint-${id}`,
    });
    this.verdicts = new PolicyVerdicts(this.metrics.policyVerdicts);
    this.policies = new PolicyIntake({
      target: this.cnps, log: o.log, parseErrors: this.metrics.parseErrors, registry: this.metrics.registry,
      ...(o.policyEvents === undefined ? {} : { events: o.policyEvents }),
    });
    this.auditEvents = o.policyEvents && new AuditPolicyEvents(o.policyEvents, (kind, ns, name) => this.policies.objectRef(kind, ns, name), () => this.clock.now());
    this.intake = new PodIntake({
      sink: this.compiler, log: o.log, events: o.events, node: o.config.nodeName, onMalformedIntent: () => this.metrics.malformedIntents.inc(),
    });
    const writer = o.endpoints;
    this.publisher = writer && new EndpointPublisher({
      writer, snapshot: (k) => this.snapshot(k), onError: (k, e) => o.log.warn({ pod: k, err: errorMessage(e) }, 'publishing the WeirEndpoint failed; retrying'),
    });
    this.attachCheck = new AttachCheck({
      datapath: o.datapath, probe: o.probe, programmed: this.programmed, withLock: (fn) => this.withLock(fn), events: o.events, log: o.log,
      metrics: this.metrics, clock: this.clock, periodSeconds: o.config.attachCheckSeconds, flowEvents: () => this.flowEventsFlag(),
    });
    this.runner = new ReconcileRunner({
      run: (reason) => this.reconcile(reason),
      coalesceMs: o.coalesceMs ?? 50,
      resyncMs: o.config.resyncSeconds * 1000,
      clock: this.clock,
      onRunError: (e) => o.log.error({ err: errorMessage(e) }, 'reconcile failed'),
      onRunDone: (reason, ms) => this.metrics.reconcileSeconds.observe({ reason }, ms / 1000),
    });
  }

  get isReady(): boolean {
    return this.ready && this.o.source.synced;
  }

  // ------------------------------------------------------------------ lifecycle

  /** load registry → adopt pinned state → caches synced → first reconcile → attach check → ready. */
  async start(): Promise<void> {
    const { log, datapath, registry } = this.o;
    for (const problem of await registry.load()) log.warn({}, problem);
    const adopted = await datapath.adoptExisting();
    this.adopted = new Set(adopted.map((a) => a.endpointId));
    log.info({ adopted: adopted.length, registered: registry.list().length }, 'adopted pinned datapath state (nothing detached)');
    this.eventsSub = datapath.events((e) => this.onFlowEvent(e));
    await this.o.source.start((c) => this.applyChange(c), this.o.syncTimeoutMs ?? 60_000);
    this.started = true;
    await this.reconcile('resync');
    // Map state left by endpoints nobody registered (an agent killed between map writes and
    // the registry write): not enforcing anything reachable, so clean it up.
    for (const id of this.adopted) {
      if (!registry.list().some((r) => r.endpointId === id)) {
        await this.withLock(() => datapath.detachEndpoint(id)).catch((e: unknown) => log.warn({ endpointId: id, err: errorMessage(e) }, 'orphan endpoint cleanup failed'));
        this.adopted.delete(id);
      }
    }
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
    this.publisher?.stop();
    await this.o.source.stop().catch(() => undefined);
    await this.eventsSub?.stop().catch(() => undefined);
    await this.withLock(async () => {
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

  /** Applies one watched change to the compiler. Bad objects are logged and ignored. */
  applyChange(change: SourceChange): void {
    try {
      this.applyChangeUnsafe(change);
    } catch (e) {
      this.o.log.error({ resource: change.resource, err: errorMessage(e) }, 'could not apply a cluster change');
    }
    if (this.started) this.runner.trigger('event');
  }

  private parseFailed(resource: Resource, object: unknown, errors: readonly FieldError[]): void {
    const m = metaOf(object);
    this.metrics.parseErrors.inc({ resource });
    this.o.log.warn({ resource, object: m.namespace ? `${m.namespace}/${m.name}` : m.name, errors: formatFieldErrors(errors) }, `ignoring ${resource} that does not parse`);
  }

  private applyChangeUnsafe(change: SourceChange): void {
    const { object } = change;
    const m = metaOf(object);
    const c = this.compiler;
    switch (change.resource) {
      case 'namespace': {
        if (change.type === 'delete') {
          this.intake.removeNamespace(m.name);
          this.enforcement.remove(m.name);
          this.verdicts.removePolicy('default', m.name, '');
          return c.removeNamespace(m.name);
        }
        const p = parseNamespace(object);
        if (!p.ok) return this.parseFailed('namespace', object, p.errors);
        const warning = this.enforcement.upsert(object);
        if (warning !== undefined) this.o.log.warn({ namespace: m.name }, warning);
        c.upsertNamespace(p.value);
        return this.intake.upsertNamespace(object);
      }
      case 'pod': {
        if (change.type === 'delete') return void this.intake.removePod(m.namespace, m.name, m.uid);
        const errors = this.intake.upsertPod(object);
        return errors === undefined ? undefined : this.parseFailed('pod', object, errors);
      }
      case 'weirendpoint': {
        if (change.type === 'delete') return this.intake.removeEndpoint(object);
        const errors = this.intake.upsertEndpoint(object);
        return errors === undefined ? undefined : this.parseFailed('weirendpoint', object, errors);
      }
      case 'networkpolicy':
      case 'multinetworkpolicy':
      case 'adminnetworkpolicy':
      case 'baselineadminnetworkpolicy':
      case 'clusternetworkpolicy': {
        const spec = POLICY_KINDS[change.resource];
        if (change.type === 'delete') {
          this.verdicts.removePolicy(spec.kind, spec.namespaced ? m.namespace : '', m.name);
          this.auditEvents?.remove(spec.kind, spec.namespaced ? m.namespace : '', m.name);
        }
        return this.policies.apply(change.resource, change.type, object);
      }
      case 'node': {
        if (change.type === 'delete') return this.cnps.removeNode(m.name);
        const n = parseNode(object);
        return n.ok ? this.cnps.upsertNode(n.value) : this.parseFailed('node', object, n.errors);
      }
      case 'nad':
        return change.type === 'delete' ? this.intake.removeNad(object) : this.intake.upsertNad(object);
      case 'service':
      case 'endpointslice':
        return this.services.apply(change.resource, change.type, object);
    }
  }

  private reportNotEnforced(policy: { name: string; uid: string }, notes: string[]): void {
    const message = `ClusterNetworkPolicy ${policy.name} is not enforced as written: ${notes.join('; ')}`;
    this.o.log.warn({ policy: `ClusterNetworkPolicy ${policy.name}`, notes }, message);
    this.o.policyEvents?.warning(
      { apiVersion: 'policy.networking.k8s.io/v1beta1', kind: 'ClusterNetworkPolicy', namespace: undefined, name: policy.name, uid: policy.uid },
      'WeirRuleNotEnforced',
      message,
    );
  }

  // ------------------------------------------------------------------ reconcile

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Waits for any pending or running reconcile (tests, lab). */
  idle(): Promise<void> {
    return this.runner.idle();
  }

  private reconcile(reason: RunReason): Promise<void> {
    return this.withLock(async () => {
      if (!this.started || this.stopped) return;
      const { datapath, registry, log, config } = this.o;
      const desired = this.compiler.compileNode({ name: config.nodeName });
      this.rules = desired.rules;
      try {
        this.noteIpCache(await datapath.syncIpCache(desired.ipcache), desired.ipcache.length);
      } catch (e) {
        this.metrics.reconcileErrors.inc({ step: 'ipcache' });
        log.error({ err: errorMessage(e) }, 'ipcache sync failed');
      }
      const byKey = new Map(desired.endpoints.map((e) => [`${e.namespace}/${e.pod}/${e.interface}`, e]));
      for (const rec of registry.list()) {
        const key = endpointKeyOf(rec);
        const entry = this.intake.entry(podKey(rec.namespace, rec.pod));
        if (entry === undefined || (rec.podUid !== '' && entry.uid !== '' && rec.podUid !== entry.uid)) {
          log.info({ endpoint: key, reason }, 'pod is gone; detaching its endpoint');
          await this.forget(rec);
          continue;
        }
        const compiled = byKey.get(key) ?? this.compiler.compileEndpoint({ namespace: rec.namespace, pod: rec.pod, interface: rec.ifName });
        const want = compiled === undefined ? undefined : this.enforcement.apply(compiled);
        if (want === undefined) {
          // Keep what is programmed (fail closed) until the compiler knows the interface again.
          log.warn({ endpoint: key }, 'no desired state for a registered endpoint; keeping its current programs');
          continue;
        }
        const bandwidth = rec.ifName === defaultInterfaceOf(entry.view) ? entry.view.bandwidth : undefined;
        try {
          await this.program(rec, want, bandwidth);
          this.publisher?.mark(podKey(rec.namespace, rec.pod), rec.podUid);
        } catch (e) {
          this.metrics.reconcileErrors.inc({ step: 'endpoint' });
          log.error({ endpoint: key, err: errorMessage(e) }, 'programming endpoint failed');
        }
      }
      this.updateGauges();
    });
  }

  /**
   * Records an ipcache sync. A full map keeps the most specific prefixes (driver.ts); what it
   * refused is judged as world, so the operator hears of it once per change, not once per sync.
   */
  private noteIpCache(result: { failed: number }, wanted: number): void {
    this.ipcacheSize = wanted - result.failed;
    this.metrics.mapEntriesUnwritten.set({ map: 'ipcache' }, result.failed);
    if (result.failed !== this.ipcacheUnwritten) {
      if (result.failed > 0) {
        this.o.log.error(
          { map: 'ipcache', wanted, unwritten: result.failed },
          'the ipcache map is full: addresses of the widest prefixes are judged as world; reduce ipBlock CIDRs or raise the map size',
        );
      } else {
        this.o.log.info({ map: 'ipcache', wanted }, 'the ipcache map holds every entry again');
      }
      this.ipcacheUnwritten = result.failed;
    }
  }

  /**
   * Brings one endpoint to `wanted` with the fewest datapath calls; a policy over the endpoint's
   * quota is programmed as nothing, isolated (capacity.ts). Caller holds the lock.
   */
  private async program(rec: EndpointRecord, wanted: DesiredEndpoint, bandwidth: Bandwidth | undefined, addresses?: EndpointAddresses): Promise<void> {
    const { datapath } = this.o;
    const { program: desired, occupancy } = fitToQuota(wanted, this.o.config.policyEntriesPerEndpoint ?? DEFAULT_POLICY_ENTRIES_PER_ENDPOINT);
    this.noteOccupancy(rec, occupancy);
    const desiredKey = contentKey(desired);
    const bandwidthJson = JSON.stringify(bandwidth ?? null);
    const cur = this.programmed.get(rec.endpointId);
    if (cur === undefined || cur.record.netnsPath !== rec.netnsPath || cur.record.ifName !== rec.ifName) {
      const res = await datapath.attachEndpoint({
        endpointId: rec.endpointId, netnsPath: rec.netnsPath, ifname: rec.ifName, desired, bandwidth, flowEvents: this.flowEventsFlag(), addresses,
      });
      this.programmed.set(rec.endpointId, { record: rec, desired, occupancy, desiredKey, bandwidth, bandwidthJson, shaping: res.shapingMode });
      this.adopted.delete(rec.endpointId);
      return;
    }
    cur.record = rec;
    cur.occupancy = occupancy;
    if (cur.desiredKey !== desiredKey) {
      await datapath.updateEndpoint({ endpointId: rec.endpointId, desired, flowEvents: this.flowEventsFlag() });
      cur.desired = desired;
      cur.desiredKey = desiredKey;
    }
    if (cur.bandwidthJson !== bandwidthJson) {
      const res = await datapath.setBandwidth(rec.endpointId, bandwidth);
      cur.bandwidth = bandwidth;
      cur.bandwidthJson = bandwidthJson;
      cur.shaping = res.shapingMode;
    }
  }

  /** Says (once per change, as a pod Event and a log line) when an endpoint nears or passes its quota. */
  private noteOccupancy(rec: EndpointRecord, now: Occupancy): void {
    const before = this.occupancyLevel.get(rec.endpointId);
    this.occupancyLevel.set(rec.endpointId, now.level);
    const event = capacityEvent(rec.ifName, before, now);
    if (event === undefined) return;
    const fields = { endpoint: endpointKeyOf(rec), entries: now.entries, quota: now.quota };
    if (now.level === 'over') this.o.log.error(fields, event.message);
    else this.o.log.warn(fields, event.message);
    this.o.events?.warning({ namespace: rec.namespace, name: rec.pod, uid: rec.podUid }, event.reason, event.message);
  }

  private flowEventsFlag(): { ingress: boolean; egress: boolean } {
    return this.o.flowEvents ?? { ingress: true, egress: true };
  }

  /** Detach + unregister. Caller holds the lock. Never throws (the netns may be long gone). */
  private async forget(rec: EndpointRecord): Promise<void> {
    const key = endpointKeyOf(rec);
    try {
      await this.o.datapath.detachEndpoint(rec.endpointId);
    } catch (e) {
      this.o.log.debug({ endpoint: key, err: errorMessage(e) }, 'detach reported an error (netns already gone?)');
    }
    this.programmed.delete(rec.endpointId);
    this.occupancyLevel.delete(rec.endpointId);
    this.adopted.delete(rec.endpointId);
    this.networkOf.delete(key);
    await this.o.registry.remove(key);
    this.intake.unbindLocal(podKey(rec.namespace, rec.pod), rec.ifName);
    this.publisher?.mark(podKey(rec.namespace, rec.pod), rec.podUid);
  }

  private updateGauges(): void {
    const m = this.metrics;
    m.endpoints.reset();
    const counts = new Map<string, number>();
    for (const rec of this.o.registry.list()) {
      const shaping = this.programmed.get(rec.endpointId)?.shaping ?? 'unknown';
      counts.set(shaping, (counts.get(shaping) ?? 0) + 1);
    }
    for (const [shaping, n] of counts) m.endpoints.set({ shaping }, n);
    m.mapEntries.set({ map: 'ipcache' }, this.ipcacheSize);
    m.mapEntries.set({ map: 'policy' }, [...this.programmed.values()].reduce((s, p) => s + p.desired.entries.length, 0));
    m.mapEntries.set({ map: 'endpoints' }, this.o.registry.list().length);
    const levels: Record<CapacityLevel, number> = { ok: 0, high: 0, over: 0 };
    let maxRatio = 0;
    for (const p of this.programmed.values()) {
      levels[p.occupancy.level]++;
      maxRatio = Math.max(maxRatio, p.occupancy.entries / p.occupancy.quota);
    }
    for (const [level, n] of Object.entries(levels)) m.policyQuotaEndpoints.set({ level }, n);
    m.policyQuotaMaxRatio.set(maxRatio);
  }

  // ------------------------------------------------------------------ CNI

  /** The CNI socket handler (startCniServer's `handler`). */
  async handleCni(req: CniRequest, signal: AbortSignal): Promise<CniResponse> {
    let res: CniResponse;
    const started = this.clock.now();
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
    if (req.command === 'ADD') this.metrics.cniAddSeconds.observe((this.clock.now() - started) / 1000);
    this.metrics.cniRequests.inc({ command: req.command, result: res.ok ? 'ok' : 'error' });
    if (!res.ok) this.o.log.warn({ command: req.command, code: res.code }, res.message);
    return res;
  }

  private async waitForPod(ns: string, name: string, uid: string | undefined, signal: AbortSignal): Promise<PodEntry | undefined> {
    const key = podKey(ns, name);
    const fits = (e: PodEntry | undefined): e is PodEntry => e !== undefined && (uid === undefined || e.uid === uid);
    const deadline = this.clock.now() + (this.o.podWaitMs ?? 5000);
    let entry = this.intake.entry(key);
    while (!fits(entry) && this.clock.now() < deadline && !signal.aborted) {
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, 25));
      entry = this.intake.entry(key);
    }
    if (fits(entry)) return entry;
    // The watch may lag (or have broken): ask the API server directly before refusing.
    const object = await this.o.source.fetchPod(ns, name).catch((e: unknown) => {
      this.o.log.warn({ pod: key, err: errorMessage(e) }, 'direct GET of the pod failed');
      return undefined;
    });
    if (object !== undefined) this.applyChange({ resource: 'pod', type: 'upsert', object });
    entry = this.intake.entry(key);
    return fits(entry) ? entry : undefined;
  }

  private async cniAdd(req: AddRequest, signal: AbortSignal): Promise<CniResponse> {
    const { attachment, pod: ref } = req;
    if (ref === null) {
      return cniError(CNI_ERROR_CODES.CNI_ERR_INVALID_ENV, 'weir: CNI_ARGS has no K8S_POD_NAMESPACE/K8S_POD_NAME; weir enforces Kubernetes pods only');
    }
    if (!this.isReady) {
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
    return this.withLock(async () => {
      const { registry, datapath } = this.o;
      const previous = registry.get(key);
      if (previous !== undefined && (previous.containerId !== attachment.containerId || previous.netnsPath !== attachment.netns)) {
        // A re-created sandbox: the old one's programs and state must not linger.
        await this.forget(previous);
      }
      const isDefault = attachment.ifName === defaultInterfaceOf(entry.view);
      this.intake.bindLocal(podK, {
        name: attachment.ifName, network: networkOf(entry.view, attachment.ifName), isDefault, mac: resultMac(req.prevResult, attachment.ifName),
        ips: resultIps(req.prevResult), containerId: attachment.containerId, attachedAtMs: Date.now(),
      });
      const rec = await registry.put({
        containerId: attachment.containerId, netnsPath: attachment.netns, ifName: attachment.ifName,
        namespace: ref.namespace, pod: ref.name, podUid: entry.uid,
      });
      this.networkOf.set(key, req.networkName);
      const desired = this.compiler.compileEndpoint({ namespace: ref.namespace, pod: ref.name, interface: attachment.ifName });
      try {
        if (desired === undefined) throw new Error('the policy compiler has no state for this interface');
        // The pod's own addresses get their identity before its first packet can reach a peer.
        const ipcache = this.compiler.ipcache();
        this.noteIpCache(await datapath.syncIpCache(ipcache), ipcache.length);
        const bandwidth = isDefault ? entry.view.bandwidth : undefined;
        this.programmed.delete(rec.endpointId);
        await this.program(rec, this.enforcement.apply(desired), bandwidth, resultAddresses(req.prevResult, attachment.ifName));
      } catch (e) {
        await this.forget(rec);
        return cniError(CNI_ERROR_CODES.WEIR_ERR_AGENT_INTERNAL, `weir agent: could not enforce policy on ${what}: ${errorMessage(e)}`);
      }
      this.updateGauges();
      this.publisher?.mark(podK, entry.uid);
      const p = this.programmed.get(rec.endpointId);
      this.o.log.info(
        { pod: podK, interface: attachment.ifName, endpointId: rec.endpointId, policyEntries: desired.entries.length, shaping: p?.shaping },
        'endpoint attached',
      );
      // Peers on this node learn the new pod's identity (ipcache) on the next run.
      this.runner.trigger('event');
      this.attachCheck.scheduleLinkPass(rec.endpointId);
      return cniOk();
    });
  }

  private async cniDel(req: DelRequest): Promise<CniResponse> {
    await this.withLock(async () => {
      const rec = this.o.registry.byContainer(req.attachment.containerId, req.attachment.ifName);
      if (rec === undefined) return;
      await this.forget(rec);
      this.updateGauges();
      this.o.log.info({ endpoint: endpointKeyOf(rec), endpointId: rec.endpointId }, 'endpoint detached (CNI DEL)');
    });
    if (this.started) this.runner.trigger('event');
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
    if (this.isReady) return cniOk();
    const unsynced = this.o.source.unsynced();
    return cniError(
      CNI_ERROR_CODES.CNI_ERR_NOT_READY,
      `weir agent on ${this.o.config.nodeName} is not ready${unsynced.length ? `: caches not synced (${unsynced.join(', ')})` : ''}`,
    );
  }

  private async cniGc(req: GcRequest): Promise<CniResponse> {
    const valid = new Set(req.validAttachments.map((a) => `${a.containerId}\u0000${a.ifName}`));
    await this.withLock(async () => {
      for (const rec of this.o.registry.list()) {
        // GC is per network: only endpoints known to belong to this network may be collected.
        if (this.networkOf.get(endpointKeyOf(rec)) !== req.networkName) continue;
        if (valid.has(`${rec.containerId}\u0000${rec.ifName}`)) continue;
        this.o.log.info({ endpoint: endpointKeyOf(rec) }, 'endpoint not in the valid attachments (CNI GC); detaching');
        await this.forget(rec);
      }
      this.updateGauges();
    });
    return cniOk();
  }

  /** Re-attaches missing or replaced programs and enforces links added after ADD (endpoints/attach-check.ts); tests call it directly. */
  checkAttachments(): Promise<number> {
    return this.attachCheck.check();
  }

  // ------------------------------------------------------------------ flows and status

  private endpointName(id: number): string | undefined {
    const rec = this.o.registry.list().find((r) => r.endpointId === id);
    if (rec === undefined) return undefined;
    const entry = this.intake.entry(podKey(rec.namespace, rec.pod));
    const isDefault = entry === undefined || rec.ifName === defaultInterfaceOf(entry.view);
    return isDefault ? `${rec.namespace}/${rec.pod}` : `${rec.namespace}/${rec.pod}/${rec.ifName}`;
  }

  flowNames(): FlowNames {
    return {
      node: this.o.config.nodeName,
      endpoint: (id) => this.endpointName(id),
      podByIp: (ip) => this.intake.ownerOf(ip) ?? this.compiler.serviceAt(ip),
      rule: (id) => this.rules[id],
      isolatedBy: (id, direction) => {
        const rec = this.o.registry.list().find((r) => r.endpointId === id);
        return rec === undefined ? [] : this.compiler.isolatingPolicies({ namespace: rec.namespace, pod: rec.pod, interface: rec.ifName }, direction);
      },
    };
  }

  private onFlowEvent(e: FlowEvent): void {
    let record: FlowRecord;
    try {
      record = toFlowRecord(e, this.flowNames());
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err) }, 'undecodable flow event');
      return;
    }
    this.metrics.flowEvents.inc({ endpoint: record.endpoint, direction: record.direction, verdict: record.verdict.toLowerCase(), reason: record.reason });
    const rec = this.o.registry.list().find((r) => r.endpointId === e.endpointId);
    const origin = e.ruleId === undefined ? undefined : this.rules[e.ruleId];
    this.verdicts.count(e, origin, rec?.namespace ?? '');
    this.auditEvents?.add(e, origin, record);
    this.auditHistory.add(record, Date.now());
    if (record.verdict !== 'ALLOWED') this.dropLog.add(record);
    else this.o.log.debug({ flow: record }, formatFlow(record));
    this.flows.publish(record);
  }

  /** This agent's WeirEndpoint of a pod: the interfaces it attached and what each one enforces. */
  private snapshot(podK: string): WeirEndpoint | undefined {
    const recs = this.o.registry.list().filter((r) => podKey(r.namespace, r.pod) === podK);
    return weirEndpointOf(this.o.config.nodeName, recs, this.intake.trustedInterfaces(podK), this.programmed);
  }

  status(): AgentStatus {
    const endpoints = endpointStatuses(this.o.registry.list(), this.programmed);
    return {
      node: this.o.config.nodeName,
      ready: this.isReady,
      unsynced: this.o.source.unsynced(),
      endpoints,
      maps: {
        ipcache: this.ipcacheSize,
        policy: [...this.programmed.values()].reduce((s, p) => s + p.desired.entries.length, 0),
        endpoints: endpoints.length,
      },
      pods: this.intake.size,
      malformedIntents: this.intake.malformedIntents,
    };
  }
}
