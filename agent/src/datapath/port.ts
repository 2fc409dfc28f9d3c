/**
 * The slice of the native addon (native/index.ts) the datapath driver uses, as structural
 * types. The driver depends on this port, not on the .node file: the real addon satisfies it
 * (checked in driver.privileged.test.ts by passing loadNative() where a DatapathAddon is
 * expected), and unit tests can hand in anything shaped like it.
 */

import type { TcFilterInfo } from './filters.js';
import type { PodLink } from './links.js';
import type { FlowClassParameters } from './shaping.js';

export interface BpfProgramPort {
  readonly name: string;
  readonly id: number;
  testRun(opts: { data: Buffer; ctx?: Buffer; repeat?: number; dataSizeOut?: number }): {
    retval: number;
    durationNs: number;
    data: Buffer;
    ctx?: Buffer;
  };
}

export interface BpfMapPort {
  readonly name: string;
  lookup(key: Buffer): Buffer | undefined;
  update(key: Buffer, value: Buffer, flags?: 'any' | 'noexist' | 'exist'): void;
  delete(key: Buffer): boolean;
  keys(): Buffer[];
  lookupPerCpu?(key: Buffer): Buffer[] | undefined;
}

/** A map opened from its pin (not owned by an object): its sizes tell its layout. */
export interface PinnedMapPort extends BpfMapPort {
  readonly keySize: number;
  readonly valueSize: number;
  close(): void;
}

export interface BpfObjectPort {
  program(name: string): BpfProgramPort;
  map(name: string): BpfMapPort;
  close(): void;
}

export interface TcTargetPort {
  netnsPath: string | null;
  ifname: string;
  direction: 'ingress' | 'egress';
}

export interface RingBufferPort {
  start(): void;
  stop(): Promise<void>;
  readonly delivered: number;
}

export interface DatapathAddon {
  openObject(opts: { path: string; pinRoot?: string; constants?: Record<string, number | bigint | boolean> }): BpfObjectPort;
  /** Opens a pinned map by path (agent/src/datapath/layout.ts reads the old pins with it). */
  openPinnedMap(path: string): PinnedMapPort;
  probeFeatures(): { schFq: boolean; schTbf: boolean; schHtb: boolean; ifb: boolean };
  tc: {
    /** `classid`: the filter's classid, whose minor the shared programs read as their endpoint id. */
    attach(target: TcTargetPort & { program: BpfProgramPort; replace?: boolean; classid?: number }): Promise<{ progId: number }>;
    query(target: TcTargetPort): Promise<{ progId: number } | undefined>;
    detach(target: TcTargetPort): Promise<boolean>;
    /** Every filter on the hook; empty without clsact. */
    list(target: TcTargetPort): Promise<TcFilterInfo[]>;
    /** By handle, or with `whole` the filter's whole classifier instance (priority + protocol). */
    deleteFilter(target: TcTargetPort & { filter: TcFilterInfo; whole?: boolean }): Promise<boolean>;
    destroyClsact(target: Omit<TcTargetPort, 'direction'>): Promise<void>;
  };
  netlink: {
    linkIndex(netnsPath: string | null, ifname: string): Promise<number | undefined>;
    createIfb(netnsPath: string | null, name: string): Promise<number>;
    deleteLink(netnsPath: string | null, name: string): Promise<boolean>;
    setTbf(netnsPath: string | null, ifname: string, opts: { rateBitsPerSecond: number; burstBytes: number; limitBytes: number }): Promise<void>;
    setFlowClasses(netnsPath: string | null, ifname: string, opts: FlowClassParameters): Promise<void>;
    clearRootQdisc(netnsPath: string | null, ifname: string): Promise<void>;
    links(netnsPath: string | null): Promise<PodLink[]>;
    watchLinks(netnsPath: string, onChange: (error?: Error) => void): Promise<{ close(): void }>;
  };
  ringBuffer(map: BpfMapPort, onRecord: (record: Buffer) => void): RingBufferPort;
}
