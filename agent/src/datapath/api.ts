/**
 * What the agent sees of the datapath: implemented by `Datapath` (driver.ts, real BPF maps
 * and tc programs through the native addon) and `FakeDatapath` (fake.ts, in memory).
 *
 * Endpoint ids are allocated by the caller (the agent's endpoint registry, with
 * `allocateEndpointId` below: the lowest free id in 1..MAX_ENDPOINT_ID, because the ids index BPF
 * arrays) and must be stable for the endpoint's life: they key the policy entries, the conntrack entries and the per-endpoint program load.
 * Rule ids are passed through untouched: PolicyEntry.ruleId is an index into
 * DesiredNodeState.rules, and flow events report it back (undefined when no rule decided).
 */
import { MAX_ENDPOINT_ID, type EndpointAddresses, type FlowEvent, type Reason } from './codec.js';
import type { DesiredEndpoint, IpCacheEntry } from './desired.js';
import type { Bandwidth, ShapingMode } from './shaping.js';

export interface AttachRequest {
  endpointId: number;
  /** Path of the pod's network namespace, e.g. /var/run/netns/cni-…; null = current netns. */
  netnsPath: string | null;
  /** The pod's interface inside that namespace (eth0, net1, …). */
  ifname: string;
  desired: DesiredEndpoint;
  bandwidth?: Bandwidth;
  /** Emit a flow event for every new flow's verdict (drops are always reported). */
  flowEvents?: { ingress: boolean; egress: boolean };
  /**
   * The interface's own MAC and IPs from the CNI ADD result: the only sources its egress may use
   * (anti-spoofing). Absent = keep what the endpoint already has; a new endpoint without them
   * can send no IP packet (every one is dropped as `spoofed`).
   */
  addresses?: EndpointAddresses;
}

export interface AttachResult {
  shapingMode: ShapingMode;
  /** Filters found ahead of Weir's (or a foreign program in Weir's slot), removed or replaced: tampering. */
  tampered?: string[];
}

/** What one pass over an endpoint's netns did with links no CNI ADD reported (links.ts). */
export interface LinkReport {
  /** Links that got Weir's programs now (new, or whose filters had gone). */
  attached: string[];
  /** Per link, filters removed or replaced (tampering). */
  tampered: { link: string; filters: string[] }[];
  /** Links left unenforced, with the reason. */
  leftAlone: { link: string; reason: string }[];
  /**
   * Adopted links that now carry another network's address (IPAM sets a link up before it adds
   * the address, and the link watch hears the first): Weir's programs were removed. Absent when none.
   */
  released?: string[];
}

export interface UpdateRequest {
  endpointId: number;
  desired: DesiredEndpoint;
  flowEvents?: { ingress: boolean; egress: boolean };
}

export interface UpdateResult {
  added: number;
  removed: number;
  /** Policy generation now in force; established flows are re-checked against it. */
  generation: number;
}

export interface AdoptedEndpoint {
  endpointId: number;
  generation: number;
  policyEntries: number;
  ingressShaped: boolean;
}

export interface CounterSample {
  endpointId: number;
  reason: Reason;
  packets: bigint;
  bytes: bigint;
}

export interface EventSubscription {
  stop(): Promise<void>;
}

/** A watch on a netns's links (native/src/linkwatch.cc); close() is idempotent. */
export interface LinkWatchHandle {
  close(): void;
}

export interface DatapathApi {
  attachEndpoint(req: AttachRequest): Promise<AttachResult>;
  updateEndpoint(req: UpdateRequest): Promise<UpdateResult>;
  setBandwidth(endpointId: number, bandwidth: Bandwidth | undefined): Promise<AttachResult>;
  detachEndpoint(endpointId: number): Promise<void>;
  /**
   * Attaches the endpoint's programs to links in its netns that a later chained plugin added
   * (Spiderpool coordinator's veth0) and re-attaches them where they went missing. Only the
   * lowest endpoint id of a netns owns such links; for the others this reports nothing.
   */
  enforceLinks(endpointId: number): Promise<LinkReport>;
  /**
   * Opens a watch on the links (and their addresses) of a netns: onChange runs when one is added
   * or changes, or notifications were lost; with an error when the watch broke (it is then
   * closed). Rejects when the netns cannot be entered or the socket not opened.
   */
  watchLinks(netnsPath: string, onChange: (error?: Error) => void): Promise<LinkWatchHandle>;
  /** `failed`: entries a full ipcache refused (the most specific prefixes are written first). */
  syncIpCache(entries: readonly IpCacheEntry[]): Promise<{ added: number; removed: number; changed: number; failed: number }>;
  adoptExisting(): Promise<AdoptedEndpoint[]>;
  readCounters(): Promise<CounterSample[]>;
  /** Kernel ids of the programs attachEndpoint attaches (one pair per node), to tell Weir's filters from foreign ones. */
  programIds(): { ingress: number; egress: number };
  events(onEvent: (e: FlowEvent) => void): EventSubscription;
  close(): Promise<void>;
}

/** Lowest free endpoint id in 1..MAX_ENDPOINT_ID (0 is the node object's placeholder id). */
export function allocateEndpointId(used: ReadonlySet<number>): number {
  let id = 1;
  while (used.has(id)) id++;
  if (id > MAX_ENDPOINT_ID) throw new Error(`no free endpoint id: all ${MAX_ENDPOINT_ID} are in use on this node`);
  return id;
}
