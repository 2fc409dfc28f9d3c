/**
 * In-memory DatapathApi for unit tests of the agent: records what would be programmed, lets a
 * test inject flow events and counters, and enforces the same preconditions as the driver
 * (ids in 1..MAX_ENDPOINT_ID, attach before update, one interface per id).
 */
import { MAX_ENDPOINT_ID, type FlowEvent } from './codec.js';
import type { DesiredEndpoint, IpCacheEntry } from './desired.js';
import { chooseShapingMode, type Bandwidth, type ShapingFeatures, type ShapingMode } from './shaping.js';
import type {
  AdoptedEndpoint, AttachRequest, AttachResult, CounterSample, DatapathApi, EventSubscription, LinkReport, LinkWatchHandle, UpdateRequest,
  UpdateResult,
} from './api.js';

export interface FakeEndpoint {
  endpointId: number;
  netnsPath: string | null;
  ifname: string;
  desired: DesiredEndpoint;
  bandwidth: Bandwidth | undefined;
  shapingMode: ShapingMode;
  generation: number;
  flowEvents: { ingress: boolean; egress: boolean };
}

export type FakeCall =
  | { op: 'attach'; endpointId: number }
  | { op: 'update'; endpointId: number }
  | { op: 'setBandwidth'; endpointId: number }
  | { op: 'detach'; endpointId: number }
  | { op: 'enforceLinks'; endpointId: number }
  | { op: 'syncIpCache'; entries: number }
  | { op: 'adopt' };

export class FakeDatapath implements DatapathApi {
  readonly endpoints = new Map<number, FakeEndpoint>();
  ipcache = new Map<string, number>();
  readonly calls: FakeCall[] = [];
  counters: CounterSample[] = [];
  /** What adoptExisting reports (a test preloads it to simulate a restart). */
  adoptable: AdoptedEndpoint[] = [];
  /** Entries the ipcache takes before it reports the rest as failed (a full map), like the driver. */
  ipcacheCapacity = Number.POSITIVE_INFINITY;
  /** What enforceLinks reports per endpoint (a test preloads it to simulate a link a later plugin added). */
  readonly linkReports = new Map<number, LinkReport>();
  /** Open link watches per netns (watchLinks); a test fires them with linkChange. */
  readonly linkWatches = new Map<string, Set<(error?: Error) => void>>();
  /** When set, watchLinks rejects with this (a netns the agent cannot enter). */
  watchError: Error | undefined;
  private readonly listeners = new Set<(e: FlowEvent) => void>();
  private readonly features: ShapingFeatures;

  /** Default: a kernel without sch_htb (shaping mode 'tbf'). */
  constructor(features: ShapingFeatures = { schFq: false, schTbf: true, schHtb: false, ifb: true }) {
    this.features = features;
  }

  async attachEndpoint(req: AttachRequest): Promise<AttachResult> {
    if (!Number.isInteger(req.endpointId) || req.endpointId < 1 || req.endpointId > MAX_ENDPOINT_ID) {
      throw new Error(`endpoint id ${req.endpointId} must be an integer in 1..${MAX_ENDPOINT_ID}`);
    }
    const prev = this.endpoints.get(req.endpointId);
    if (prev !== undefined && (prev.netnsPath !== req.netnsPath || prev.ifname !== req.ifname)) {
      throw new Error(`endpoint ${req.endpointId} is already attached to ${prev.ifname}`);
    }
    const shapingMode = chooseShapingMode(this.features, req.bandwidth);
    this.endpoints.set(req.endpointId, {
      endpointId: req.endpointId,
      netnsPath: req.netnsPath,
      ifname: req.ifname,
      desired: req.desired,
      bandwidth: req.bandwidth,
      shapingMode,
      generation: (prev?.generation ?? 0) + 1,
      flowEvents: req.flowEvents ?? { ingress: false, egress: false },
    });
    this.calls.push({ op: 'attach', endpointId: req.endpointId });
    return { shapingMode };
  }

  async updateEndpoint(req: UpdateRequest): Promise<UpdateResult> {
    const ep = this.must(req.endpointId);
    const before = new Set(ep.desired.entries.map((e) => JSON.stringify(e)));
    const after = new Set(req.desired.entries.map((e) => JSON.stringify(e)));
    ep.desired = req.desired;
    ep.generation++;
    if (req.flowEvents !== undefined) ep.flowEvents = req.flowEvents;
    this.calls.push({ op: 'update', endpointId: req.endpointId });
    return {
      added: [...after].filter((e) => !before.has(e)).length,
      removed: [...before].filter((e) => !after.has(e)).length,
      generation: ep.generation,
    };
  }

  async setBandwidth(endpointId: number, bandwidth: Bandwidth | undefined): Promise<AttachResult> {
    const ep = this.must(endpointId);
    ep.bandwidth = bandwidth;
    ep.shapingMode = chooseShapingMode(this.features, bandwidth);
    this.calls.push({ op: 'setBandwidth', endpointId });
    return { shapingMode: ep.shapingMode };
  }

  async detachEndpoint(endpointId: number): Promise<void> {
    this.endpoints.delete(endpointId);
    this.calls.push({ op: 'detach', endpointId });
  }

  async enforceLinks(endpointId: number): Promise<LinkReport> {
    this.must(endpointId);
    this.calls.push({ op: 'enforceLinks', endpointId });
    return this.linkReports.get(endpointId) ?? { attached: [], tampered: [], leftAlone: [] };
  }

  async watchLinks(netnsPath: string, onChange: (error?: Error) => void): Promise<LinkWatchHandle> {
    if (this.watchError !== undefined) throw this.watchError;
    const set = this.linkWatches.get(netnsPath) ?? new Set();
    this.linkWatches.set(netnsPath, set.add(onChange));
    return {
      close: () => {
        set.delete(onChange);
        if (set.size === 0 && this.linkWatches.get(netnsPath) === set) this.linkWatches.delete(netnsPath);
      },
    };
  }

  /** Test hook: a link was added or changed in the netns, as the kernel would notify it; with an error, the watches broke (and closed, as native ones do). */
  linkChange(netnsPath: string, error?: Error): void {
    const watches = [...(this.linkWatches.get(netnsPath) ?? [])];
    if (error !== undefined) this.linkWatches.delete(netnsPath);
    for (const w of watches) w(error);
  }

  async syncIpCache(entries: readonly IpCacheEntry[]): Promise<{ added: number; removed: number; changed: number; failed: number }> {
    const next = new Map(entries.map((e) => [e.cidr, e.identity]));
    let added = 0;
    let changed = 0;
    for (const [k, v] of next) {
      const cur = this.ipcache.get(k);
      if (cur === undefined) added++;
      else if (cur !== v) changed++;
    }
    const removed = [...this.ipcache.keys()].filter((k) => !next.has(k)).length;
    this.ipcache = next;
    if (changed + removed > 0) for (const ep of this.endpoints.values()) ep.generation++;
    this.calls.push({ op: 'syncIpCache', entries: entries.length });
    const failed = Math.max(0, next.size - this.ipcacheCapacity);
    return { added: added - Math.min(added, failed), removed, changed, failed };
  }

  programIds(): { ingress: number; egress: number } {
    return { ingress: 1001, egress: 1002 };
  }

  async adoptExisting(): Promise<AdoptedEndpoint[]> {
    this.calls.push({ op: 'adopt' });
    return [...this.adoptable];
  }

  async readCounters(): Promise<CounterSample[]> {
    return [...this.counters];
  }

  events(onEvent: (e: FlowEvent) => void): EventSubscription {
    this.listeners.add(onEvent);
    return { stop: async () => void this.listeners.delete(onEvent) };
  }

  /** Test hook: deliver a flow event as the ring buffer would. */
  emit(e: FlowEvent): void {
    for (const l of this.listeners) l(e);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private must(endpointId: number): FakeEndpoint {
    const ep = this.endpoints.get(endpointId);
    if (ep === undefined) throw new Error(`endpoint ${endpointId} is not attached`);
    return ep;
  }
}
