/**
 * What this agent process programmed for each endpoint, and the one way to change it: program()
 * diffs the wanted state against what was written and makes the fewest datapath calls; forget()
 * detaches and unregisters. Both run under the lock (withLock) that keeps datapath writes of CNI
 * commands, reconciles and attach checks from interleaving. The WeirEndpoint publisher and the
 * map gauges read this state.
 */
import { errorMessage } from '../../common/src/errors.js';
import type { AgentConfig } from './config.js';
import type { DatapathApi } from './datapath/api.js';
import type { EndpointAddresses } from './datapath/codec.js';
import type { DesiredEndpoint } from './datapath/desired.js';
import type { Bandwidth } from './datapath/shaping.js';
import { capacityEvent, DEFAULT_POLICY_ENTRIES_PER_ENDPOINT, fitToQuota, type CapacityLevel, type Occupancy } from './endpoints/capacity.js';
import type { PodIntake } from './endpoints/pod-intake.js';
import type { LinkWatches } from './endpoints/link-watches.js';
import { contentKey, type Programmed } from './endpoints/programmed.js';
import { endpointKeyOf, type EndpointRecord, type EndpointRegistry } from './endpoints/registry.js';
import type { WeirEndpoint } from './endpoints/weirendpoint.js';
import { EndpointPublisher, type EndpointWriter } from './endpoints/weirendpoint-publish.js';
import type { PodEventSink } from './events.js';
import type { Log } from './log.js';
import type { AgentMetrics } from './metrics.js';
import { weirEndpointOf } from './status.js';

export const podKey = (ns: string, name: string): string => `${ns}/${name}`;

export interface EndpointProgramsOptions {
  config: Pick<AgentConfig, 'nodeName' | 'policyEntriesPerEndpoint'>;
  datapath: DatapathApi;
  registry: EndpointRegistry;
  log: Log;
  metrics: AgentMetrics;
  intake: PodIntake;
  events?: PodEventSink;
  /** Where this agent publishes its WeirEndpoints; none = not published (unit tests). */
  endpoints?: EndpointWriter;
  /** Report allowed new flows too (drops are always reported); default both directions. */
  flowEvents?: { ingress: boolean; egress: boolean };
  /** The watch on each programmed endpoint's netns for links added after its ADD (link-watches.ts). */
  linkWatches: Pick<LinkWatches, 'hold' | 'release'>;
}

export class EndpointPrograms {
  readonly programmed = new Map<number, Programmed>();
  /** Last capacity level said for each endpoint (Events on change only). */
  private readonly occupancyLevel = new Map<number, CapacityLevel>();
  /** endpoint key → CNI network name (GC is per network); learned at ADD, not persisted. */
  readonly networkOf = new Map<string, string>();
  /** Endpoints found pinned at start and not programmed by this process yet. */
  private adopted = new Set<number>();
  private ipcacheEntries = 0;
  /** Entries the last ipcache sync could not write (a full map). */
  private ipcacheUnwritten = 0;
  private lock: Promise<unknown> = Promise.resolve();
  private readonly publisher: EndpointPublisher | undefined;

  constructor(private readonly o: EndpointProgramsOptions) {
    const writer = o.endpoints;
    this.publisher = writer && new EndpointPublisher({
      writer, snapshot: (k) => this.snapshot(k), onError: (k, e) => o.log.warn({ pod: k, err: errorMessage(e) }, 'publishing the WeirEndpoint failed; retrying'),
    });
  }

  /** Datapath writes never interleave: CNI commands, reconciles and attach checks take turns. */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  get ipcacheSize(): number {
    return this.ipcacheEntries;
  }

  /** Policy entries programmed over every endpoint. */
  policyEntries(): number {
    return [...this.programmed.values()].reduce((s, p) => s + p.desired.entries.length, 0);
  }

  flowEventsFlag(): { ingress: boolean; egress: boolean } {
    return this.o.flowEvents ?? { ingress: true, egress: true };
  }

  /** Republishes the pod's WeirEndpoint (coalesced by the publisher). */
  publish(podK: string, uid: string): void {
    this.publisher?.mark(podK, uid);
  }

  stopPublishing(): void {
    this.publisher?.stop();
  }

  /** Adopts the endpoints found pinned at start; returns how many there are. */
  async adoptExisting(): Promise<number> {
    const adopted = await this.o.datapath.adoptExisting();
    this.adopted = new Set(adopted.map((a) => a.endpointId));
    return adopted.length;
  }

  /**
   * Map state left by endpoints nobody registered (an agent killed between map writes and the
   * registry write): not enforcing anything reachable, so clean it up.
   */
  async detachOrphans(): Promise<void> {
    const { registry, datapath, log } = this.o;
    for (const id of this.adopted) {
      if (!registry.list().some((r) => r.endpointId === id)) {
        await this.withLock(() => datapath.detachEndpoint(id)).catch((e: unknown) => log.warn({ endpointId: id, err: errorMessage(e) }, 'orphan endpoint cleanup failed'));
        this.adopted.delete(id);
      }
    }
  }

  /**
   * Records an ipcache sync. A full map keeps the most specific prefixes (driver.ts); what it
   * refused is judged as world, so the operator hears of it once per change, not once per sync.
   */
  noteIpCache(result: { failed: number }, wanted: number): void {
    this.ipcacheEntries = wanted - result.failed;
    this.o.metrics.mapEntriesUnwritten.set({ map: 'ipcache' }, result.failed);
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
  async program(rec: EndpointRecord, wanted: DesiredEndpoint, bandwidth: Bandwidth | undefined, addresses?: EndpointAddresses): Promise<void> {
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
      // After the attach (a restarted agent whose watch fails still writes the current policy) and
      // before programmed is set: without its watch the endpoint is not done, and a CNI ADD fails.
      await this.o.linkWatches.hold(rec.netnsPath, rec.endpointId);
      if (cur !== undefined && cur.record.netnsPath !== rec.netnsPath) this.o.linkWatches.release(cur.record.netnsPath, rec.endpointId);
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

  /** Detach + unregister. Caller holds the lock. Never throws (the netns may be long gone). */
  async forget(rec: EndpointRecord): Promise<void> {
    const key = endpointKeyOf(rec);
    try {
      await this.o.datapath.detachEndpoint(rec.endpointId);
    } catch (e) {
      this.o.log.debug({ endpoint: key, err: errorMessage(e) }, 'detach reported an error (netns already gone?)');
    }
    this.o.linkWatches.release(rec.netnsPath, rec.endpointId);
    this.programmed.delete(rec.endpointId);
    this.occupancyLevel.delete(rec.endpointId);
    this.adopted.delete(rec.endpointId);
    this.networkOf.delete(key);
    await this.o.registry.remove(key);
    this.o.intake.unbindLocal(podKey(rec.namespace, rec.pod), rec.ifName);
    this.publish(podKey(rec.namespace, rec.pod), rec.podUid);
  }

  /** The endpoint, map-size and quota gauges, from what is programmed now. */
  updateGauges(): void {
    const m = this.o.metrics;
    m.endpoints.reset();
    const counts = new Map<string, number>();
    for (const rec of this.o.registry.list()) {
      const shaping = this.programmed.get(rec.endpointId)?.shaping ?? 'unknown';
      counts.set(shaping, (counts.get(shaping) ?? 0) + 1);
    }
    for (const [shaping, n] of counts) m.endpoints.set({ shaping }, n);
    m.mapEntries.set({ map: 'ipcache' }, this.ipcacheEntries);
    m.mapEntries.set({ map: 'policy' }, this.policyEntries());
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

  /** This agent's WeirEndpoint of a pod: the interfaces it attached and what each one enforces. */
  private snapshot(podK: string): WeirEndpoint | undefined {
    const recs = this.o.registry.list().filter((r) => podKey(r.namespace, r.pod) === podK);
    return weirEndpointOf(this.o.config.nodeName, recs, this.o.intake.trustedInterfaces(podK), this.programmed);
  }
}
