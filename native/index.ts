// Typed bindings for the Weir native addon (node-addon-api over libbpf). This is the only module
// that loads the .node file. Loading happens on the first loadNative() call, never at import time.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Every failure of a kernel-facing step: which step failed and the errno it failed with. */
export class NativeError extends Error {
  override readonly name = 'NativeError';
  constructor(
    message: string,
    readonly step: string,
    readonly errno: number,
  ) {
    super(message);
  }
}

export interface OpenObjectOptions {
  /** Compiled .bpf.o. */
  path: string;
  /**
   * Maps declared with LIBBPF_PIN_BY_NAME are pinned/reused under this directory (bpffs is mounted
   * at /sys/fs/bpf if needed). Without it nothing is pinned: every map is private to the object.
   */
  pinRoot?: string;
  /** `const volatile` globals in .rodata, by variable name; an unknown name is an error. */
  constants?: Record<string, number | bigint | boolean>;
}

export interface TestRunOptions {
  data: Buffer;
  /** struct __sk_buff for tc programs. */
  ctx?: Buffer;
  repeat?: number;
  /** Size of the output packet buffer (default: input + 256). */
  dataSizeOut?: number;
}

export interface TestRunResult {
  retval: number;
  /** Average per run. */
  durationNs: number;
  data: Buffer;
  ctx?: Buffer;
}

export interface BpfProgram {
  readonly name: string;
  /** -1 once the owning object is closed. */
  readonly fd: number;
  readonly id: number;
  pin(path: string): void;
  unpin(path: string): void;
  testRun(opts: TestRunOptions): TestRunResult;
}

export type MapUpdateFlag = 'any' | 'noexist' | 'exist';

export interface BpfMap {
  readonly name: string;
  /** -1 once closed (or once the owning object is closed). */
  readonly fd: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** BPF_MAP_TYPE_* */
  readonly type: number;
  /** For per-CPU maps the value holds every possible CPU's slot (8-byte aligned each). */
  lookup(key: Buffer): Buffer | undefined;
  /** For per-CPU maps, a value of `valueSize` bytes is written to every CPU's slot. */
  update(key: Buffer, value: Buffer, flags?: MapUpdateFlag): void;
  delete(key: Buffer): boolean;
  /** Iterates with get_next_key. */
  keys(): Buffer[];
  /** Upsert; falls back to per-element updates for map types without batch ops (LPM trie). */
  updateBatch(keys: Buffer[], values: Buffer[]): void;
  /** Returns how many of the keys existed and were deleted. */
  deleteBatch(keys: Buffer[]): number;
  /** All entries; falls back to iteration for map types without batch ops. */
  lookupBatch(): { keys: Buffer[]; values: Buffer[] };
  /** One buffer of `valueSize` bytes per possible CPU ([] when the key is absent); per-CPU maps only. */
  lookupPerCpu(key: Buffer): Buffer[];
  pin(path: string): void;
  close(): void;
}

export interface BpfObject {
  program(name: string): BpfProgram;
  map(name: string): BpfMap;
  programNames(): string[];
  mapNames(): string[];
  /** Releases the object's fds. Attached tc filters and pinned objects stay in the kernel. */
  close(): void;
}

export type TcDirection = 'ingress' | 'egress';

export interface TcTarget {
  /** null = the agent's own (host) netns. */
  netnsPath: string | null;
  ifname: string;
  direction: TcDirection;
}

/** handle and priority default to 1. */
export interface TcFilterSelector {
  handle?: number;
  priority?: number;
}

export interface TcApi {
  /**
   * Creates clsact if missing. Without `replace`, an existing filter at handle/priority fails with EEXIST.
   * `classid` (non-zero minor) is set on the filter; a program reads its minor as skb->tc_classid.
   */
  attach(target: TcTarget & TcFilterSelector & { program: BpfProgram; replace?: boolean; classid?: number }): Promise<{ progId: number }>;
  query(target: TcTarget & TcFilterSelector): Promise<{ progId: number } | undefined>;
  /** false when there was nothing to detach. */
  detach(target: TcTarget & TcFilterSelector): Promise<boolean>;
  /** Removes clsact (and with it every tc filter of both directions); no-op when absent. */
  destroyClsact(target: Omit<TcTarget, 'direction'>): Promise<void>;
  /** Every filter on the hook, in no particular order; empty when the device has no clsact. */
  list(target: TcTarget): Promise<TcFilter[]>;
  /**
   * Deletes the filter `list` reported (by handle), or with `whole` every filter of its classifier
   * instance (same priority and protocol). false when it was already gone.
   */
  deleteFilter(target: TcTarget & { filter: TcFilter; whole?: boolean }): Promise<boolean>;
}

/** One tc filter as the kernel reports it; progId and classid are 0 for non-bpf filters. */
export interface TcFilter {
  handle: number;
  priority: number;
  /** Host byte order: 3 = ETH_P_ALL. */
  protocol: number;
  kind: string;
  progId: number;
  classid: number;
}

/** A network interface of a netns with its global-scope addresses (link-local ones are left out). */
export interface LinkInfo {
  ifindex: number;
  name: string;
  /** IFLA_INFO_KIND: 'veth', 'ifb', 'macvlan', ...; '' for links without one (physical, loopback). */
  kind: string;
  loopback: boolean;
  /** Administratively up (IFF_UP). */
  up: boolean;
  addresses: string[];
}

export interface TbfOptions {
  rateBitsPerSecond: number;
  burstBytes: number;
  limitBytes: number;
}

/** HTB flow classes (native/src/ops.hh FlowClasses): one parent at the rate, a leaf per minor. */
export interface FlowClassOptions {
  rateBitsPerSecond: number;
  burstBytes: number;
  leafRateBitsPerSecond: number;
  leafBurstBytes: number;
  /** Each leaf's queue is a TBF with these (its rate above the parent's, so HTB paces). */
  leafQueueRateBitsPerSecond: number;
  leafQueueBurstBytes: number;
  leafQueueLimitBytes: number;
  quantumBytes: number;
  /** The HTB root's handle major; the parent class is major:1. */
  major: number;
  /** Leaf class minors, in the order the programs number them (the first is HTB's default class). */
  leafMinors: readonly number[];
  /** Handle major of leaf i's queue is leafQdiscMajor + i. */
  leafQdiscMajor: number;
}

export interface RootQdisc {
  kind: string;
  rateBitsPerSecond?: number;
}

export interface NetlinkApi {
  linkIndex(netnsPath: string | null, ifname: string): Promise<number | undefined>;
  /** ifindex; idempotent; sets the link up. */
  createIfb(netnsPath: string | null, name: string): Promise<number>;
  /** false when the link did not exist. */
  deleteLink(netnsPath: string | null, name: string): Promise<boolean>;
  /** Replaces the root qdisc with tbf. */
  setTbf(netnsPath: string | null, ifname: string, opts: TbfOptions): Promise<void>;
  /** Replaces the root qdisc with HTB flow classes (an HTB root already there only has its classes changed). */
  setFlowClasses(netnsPath: string | null, ifname: string, opts: FlowClassOptions): Promise<void>;
  /** Back to the device's default root qdisc; no-op when it already has it. */
  clearRootQdisc(netnsPath: string | null, ifname: string): Promise<void>;
  rootQdisc(netnsPath: string | null, ifname: string): Promise<RootQdisc | undefined>;
  links(netnsPath: string | null): Promise<LinkInfo[]>;
  /**
   * Watches a netns for links added or changed (and their addresses): a NETLINK_ROUTE socket
   * created inside it, polled on Node's event loop (native/src/linkwatch.cc). onChange runs once
   * per wakeup that saw a change or lost notifications; with an error when the socket failed
   * (the watch is then closed). The watch does not keep the process alive.
   */
  watchLinks(netnsPath: string, onChange: (error?: Error) => void): Promise<LinkWatch>;
}

export interface LinkWatch {
  /** Stops the watch and closes its socket; idempotent. */
  close(): void;
  readonly open: boolean;
}

export interface RingBufferConsumer {
  start(): void;
  /** Resolves after the poll thread has exited and every polled record was delivered. */
  stop(): Promise<void>;
  readonly delivered: number;
}

export interface KernelFeatures {
  ringbuf: boolean;
  lpmTrie: boolean;
  lruHash: boolean;
  tcClsact: boolean;
  schFq: boolean;
  schTbf: boolean;
  schHtb: boolean;
  ifb: boolean;
  btf: boolean;
  jit: boolean;
  /** bpffs is mounted at /sys/fs/bpf (probeFeatures mounts it when missing). */
  bpffs: boolean;
  kernelRelease: string;
  /** Set when the qdisc/link probes could not run at all (their flags are then false). */
  netProbeError?: string;
}

export interface NativeAddon {
  /** open + set .rodata + load, in libbpf's canonical order. */
  openObject(opts: OpenObjectOptions): BpfObject;
  openPinnedMap(path: string): BpfMap;
  pinnedProgramId(path: string): number | undefined;
  /** Synchronous; runs its netlink probes in a throwaway netns on a short-lived thread. Mounts bpffs at /sys/fs/bpf when missing. */
  probeFeatures(): KernelFeatures;
  tc: TcApi;
  netlink: NetlinkApi;
  ringBuffer(map: BpfMap, onRecord: (record: Buffer) => void): RingBufferConsumer;
}

// ---- the raw module ------------------------------------------------------------------------------

interface RawMap {
  info(): { name: string; fd: number; keySize: number; valueSize: number; maxEntries: number; type: number };
  lookup(key: Buffer): Buffer | undefined;
  update(key: Buffer, value: Buffer, flags?: MapUpdateFlag): void;
  delete(key: Buffer): boolean;
  keys(): Buffer[];
  updateBatch(keys: Buffer[], values: Buffer[]): void;
  deleteBatch(keys: Buffer[]): number;
  lookupBatch(): { keys: Buffer[]; values: Buffer[] };
  lookupPerCpu(key: Buffer): Buffer[];
  pin(path: string): void;
  close(): void;
}

interface RawObject {
  program(name: string): BpfProgram;
  map(name: string): RawMap;
  programNames(): string[];
  mapNames(): string[];
  close(): void;
}

interface RawTcOptions {
  netnsPath: string | null;
  ifname: string;
  direction?: TcDirection;
  handle?: number;
  priority?: number;
  program?: BpfProgram;
  replace?: boolean;
  classid?: number;
}

interface RawAddon {
  init(errorClass: typeof NativeError): void;
  openObject(opts: OpenObjectOptions): RawObject;
  openPinnedMap(path: string): RawMap;
  pinnedProgramId(path: string): number | undefined;
  probeFeatures(): unknown;
  tcAttach(o: RawTcOptions): Promise<{ progId: number }>;
  tcQuery(o: RawTcOptions): Promise<{ progId: number } | undefined>;
  tcDetach(o: RawTcOptions): Promise<boolean>;
  tcDestroyClsact(o: RawTcOptions): Promise<void>;
  tcList(o: RawTcOptions): Promise<TcFilter[]>;
  tcDeleteFilter(o: RawTcOptions & { protocol: number; kind: string; whole: boolean }): Promise<boolean>;
  nlLinks(ns: string | null): Promise<LinkInfo[]>;
  nlLinkIndex(ns: string | null, ifname: string): Promise<number | undefined>;
  nlCreateIfb(ns: string | null, name: string): Promise<number>;
  nlDeleteLink(ns: string | null, name: string): Promise<boolean>;
  nlSetTbf(ns: string | null, ifname: string, opts: TbfOptions): Promise<void>;
  nlSetFlowClasses(ns: string | null, ifname: string, opts: FlowClassOptions): Promise<void>;
  nlClearRootQdisc(ns: string | null, ifname: string): Promise<void>;
  nlRootQdisc(ns: string | null, ifname: string): Promise<RootQdisc | undefined>;
  nlWatchLinks(ns: string, onChange: (error?: Error) => void): Promise<LinkWatch>;
  RingBufferConsumer: new (map: RawMap, onRecord: (record: Buffer) => void) => RingBufferConsumer;
}

const RAW_FUNCTIONS = [
  'init', 'openObject', 'openPinnedMap', 'pinnedProgramId', 'probeFeatures', 'tcAttach', 'tcQuery', 'tcDetach',
  'tcDestroyClsact', 'tcList', 'tcDeleteFilter', 'nlLinks', 'nlLinkIndex', 'nlCreateIfb', 'nlDeleteLink', 'nlSetTbf', 'nlSetFlowClasses', 'nlClearRootQdisc',
  'nlRootQdisc', 'nlWatchLinks',
  'RingBufferConsumer',
] as const;

function isRawAddon(mod: unknown): mod is RawAddon {
  if (typeof mod !== 'object' || mod === null) return false;
  const rec = mod as Record<string, unknown>;
  return RAW_FUNCTIONS.every((k) => typeof rec[k] === 'function');
}

/** Where the addon may be: beside this file (source tree) or in the repo when running from dist/. */
function candidatePaths(): string[] {
  const fromEnv = process.env.WEIR_NATIVE_PATH;
  const rel = ['./build/Release/weir_native.node', '../../native/build/Release/weir_native.node'];
  const paths = rel.map((r) => fileURLToPath(new URL(r, import.meta.url)));
  return fromEnv ? [fromEnv, ...paths] : paths;
}

// ---- wrappers ------------------------------------------------------------------------------------

class MapHandle implements BpfMap {
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly type: number;

  constructor(readonly raw: RawMap) {
    const i = raw.info();
    this.name = i.name;
    this.keySize = i.keySize;
    this.valueSize = i.valueSize;
    this.maxEntries = i.maxEntries;
    this.type = i.type;
  }
  get fd(): number {
    return this.raw.info().fd;
  }
  lookup(key: Buffer): Buffer | undefined {
    return this.raw.lookup(key);
  }
  update(key: Buffer, value: Buffer, flags: MapUpdateFlag = 'any'): void {
    this.raw.update(key, value, flags);
  }
  delete(key: Buffer): boolean {
    return this.raw.delete(key);
  }
  keys(): Buffer[] {
    return this.raw.keys();
  }
  updateBatch(keys: Buffer[], values: Buffer[]): void {
    this.raw.updateBatch(keys, values);
  }
  deleteBatch(keys: Buffer[]): number {
    return this.raw.deleteBatch(keys);
  }
  lookupBatch(): { keys: Buffer[]; values: Buffer[] } {
    return this.raw.lookupBatch();
  }
  lookupPerCpu(key: Buffer): Buffer[] {
    return this.raw.lookupPerCpu(key);
  }
  pin(path: string): void {
    this.raw.pin(path);
  }
  close(): void {
    this.raw.close();
  }
}

class ObjectHandle implements BpfObject {
  // One wrapper per name, so repeated lookups do not pile up handles.
  private readonly programs = new Map<string, BpfProgram>();
  private readonly maps = new Map<string, MapHandle>();

  constructor(private readonly raw: RawObject) {}

  program(name: string): BpfProgram {
    let p = this.programs.get(name);
    if (!p) {
      p = this.raw.program(name);
      this.programs.set(name, p);
    }
    return p;
  }
  map(name: string): BpfMap {
    let m = this.maps.get(name);
    if (!m) {
      m = new MapHandle(this.raw.map(name));
      this.maps.set(name, m);
    }
    return m;
  }
  programNames(): string[] {
    return this.raw.programNames();
  }
  mapNames(): string[] {
    return this.raw.mapNames();
  }
  close(): void {
    this.raw.close();
    this.programs.clear();
    this.maps.clear();
  }
}

function parseFeatures(v: unknown): KernelFeatures {
  if (typeof v !== 'object' || v === null) throw new TypeError('probeFeatures: native result is not an object');
  const r = v as Record<string, unknown>;
  const flag = (k: string): boolean => {
    const x = r[k];
    if (typeof x !== 'boolean') throw new TypeError(`probeFeatures: ${k} is not a boolean`);
    return x;
  };
  const release = r.kernelRelease;
  if (typeof release !== 'string') throw new TypeError('probeFeatures: kernelRelease is not a string');
  const features: KernelFeatures = {
    ringbuf: flag('ringbuf'),
    lpmTrie: flag('lpmTrie'),
    lruHash: flag('lruHash'),
    tcClsact: flag('tcClsact'),
    schFq: flag('schFq'),
    schTbf: flag('schTbf'),
    schHtb: flag('schHtb'),
    ifb: flag('ifb'),
    btf: flag('btf'),
    jit: flag('jit'),
    bpffs: flag('bpffs'),
    kernelRelease: release,
  };
  if (typeof r.netProbeError === 'string') features.netProbeError = r.netProbeError;
  return features;
}

function wrap(raw: RawAddon): NativeAddon {
  const tcOpts = (t: TcTarget & TcFilterSelector): RawTcOptions => ({
    netnsPath: t.netnsPath,
    ifname: t.ifname,
    direction: t.direction,
    handle: t.handle,
    priority: t.priority,
  });
  return {
    openObject: (opts) => new ObjectHandle(raw.openObject(opts)),
    openPinnedMap: (path) => new MapHandle(raw.openPinnedMap(path)),
    pinnedProgramId: (path) => raw.pinnedProgramId(path),
    probeFeatures: () => parseFeatures(raw.probeFeatures()),
    tc: {
      attach: (t) => raw.tcAttach({ ...tcOpts(t), program: t.program, replace: t.replace === true, classid: t.classid }),
      query: (t) => raw.tcQuery(tcOpts(t)),
      detach: (t) => raw.tcDetach(tcOpts(t)),
      destroyClsact: (t) => raw.tcDestroyClsact({ netnsPath: t.netnsPath, ifname: t.ifname }),
      list: (t) => raw.tcList(tcOpts(t)),
      deleteFilter: (t) => raw.tcDeleteFilter({
        ...tcOpts({ ...t, handle: t.filter.handle, priority: t.filter.priority }),
        protocol: t.filter.protocol, kind: t.filter.kind, whole: t.whole === true,
      }),
    },
    netlink: {
      linkIndex: (ns, ifname) => raw.nlLinkIndex(ns, ifname),
      createIfb: (ns, name) => raw.nlCreateIfb(ns, name),
      deleteLink: (ns, name) => raw.nlDeleteLink(ns, name),
      setTbf: (ns, ifname, o) =>
        raw.nlSetTbf(ns, ifname, { rateBitsPerSecond: o.rateBitsPerSecond, burstBytes: o.burstBytes, limitBytes: o.limitBytes }),
      setFlowClasses: (ns, ifname, o) => raw.nlSetFlowClasses(ns, ifname, { ...o, leafMinors: [...o.leafMinors] }),
      clearRootQdisc: (ns, ifname) => raw.nlClearRootQdisc(ns, ifname),
      rootQdisc: (ns, ifname) => raw.nlRootQdisc(ns, ifname),
      links: (ns) => raw.nlLinks(ns),
      watchLinks: (ns, onChange) => raw.nlWatchLinks(ns, onChange),
    },
    ringBuffer: (map, onRecord) => {
      if (!(map instanceof MapHandle)) throw new TypeError('ringBuffer: map must come from this addon');
      return new raw.RingBufferConsumer(map.raw, onRecord);
    },
  };
}

let loaded: NativeAddon | undefined;

/** Loads the addon once per process. Throws, naming `make native`, when it has not been built. */
export function loadNative(): NativeAddon {
  if (loaded) return loaded;
  const candidates = candidatePaths();
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    throw new Error(`Weir native addon not built (looked for ${candidates.join(', ')}); build it with \`make native\``);
  }
  const mod: unknown = createRequire(import.meta.url)(path);
  if (!isRawAddon(mod)) throw new Error(`${path} is not the Weir native addon (exports are missing); rebuild it with \`make native\``);
  mod.init(NativeError);
  loaded = wrap(mod);
  return loaded;
}
