/**
 * Upgrades across a change of the pinned maps' layout (WEIR_LAYOUT_VERSION in
 * bpf/include/weir_shared.h). The maps are pinned by name under the pin root and outlive the
 * agent; libbpf refuses to reuse a pinned map whose definition differs from the new object's, and
 * reusing one whose struct changed at equal size would be worse. So the pinned weir_meta map
 * records the version that created the pins, and an agent that finds another version (or pins
 * from before versioning, which have no weir_meta) replaces them:
 *   1. the maps that can be carried over (CARRY_OVER) are opened from their pins;
 *   2. every pin is removed: the attached programs keep the old maps alive and go on enforcing
 *      the old state, so nothing changes for the pods yet;
 *   3. the new object is loaded with fresh pinned maps (the caller, driver.ts);
 *   4. conntrack and endpoint configs are copied across when their layout did not change since
 *      the pins' version, so established flows and the endpoints' own addresses survive; every
 *      copied flow is re-checked against the new policy on its next packet (generation 0);
 *   5. the agent re-programs every endpoint from its state (ipcache, then policy and config) and
 *      re-attaches the new programs with tc replace: each endpoint switches in one step.
 * A crash in between leaves fresh pins without a version: the next start replaces them again.
 */
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEndpointConfig, LAYOUT, LAYOUT_VERSION, MAPS } from './codec.js';
import type { BpfMapPort, DatapathAddon, PinnedMapPort } from './port.js';

/** Layout version reported for pins made before weir_meta existed. */
export const UNVERSIONED = 0;

/**
 * The oldest layout version whose pinned map may be copied into the current one, per carried map.
 * Version 0 (unversioned pins) had the version-1 layout of both (version 1 only added endpoint
 * flag bits that older agents left zero, and a zero skip bit costs a lookup, never a verdict).
 * Raise an entry to the new WEIR_LAYOUT_VERSION when that map's key or value changes. Beware
 * endpoints: the endpoint's own MAC and IPs (anti-spoofing) live only there and in the CNI ADD
 * result, not in the registry (agent/src/endpoints/registry.ts); convert the old configs here, or
 * persist the addresses first, or egress of every re-attached pod is refused until its next ADD.
 */
export const CARRY_OVER = { conntrack: 0, endpoints: 0 } as const;

export type PinnedLayout =
  | { kind: 'empty' }
  | { kind: 'current' }
  /** Pins of another layout version (UNVERSIONED when they carry none). */
  | { kind: 'other'; version: number; pins: string[] };

const key0 = (): Buffer => Buffer.alloc(4);

export function encodeMeta(version: number): Buffer {
  const b = Buffer.alloc(LAYOUT.weir_meta.size);
  b.writeUInt32LE(version, LAYOUT.weir_meta.fields.layout_version);
  return b;
}

/** What the pin root holds: nothing, pins of this layout, or pins of another one. */
export function inspectPins(addon: Pick<DatapathAddon, 'openPinnedMap'>, pinRoot: string): PinnedLayout {
  let pins: string[];
  try {
    pins = readdirSync(pinRoot, { withFileTypes: true }).filter((e) => !e.isDirectory() && e.name.startsWith('weir_')).map((e) => e.name);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return { kind: 'empty' };
    throw error;
  }
  if (pins.length === 0) return { kind: 'empty' };
  if (!pins.includes(MAPS.meta)) return { kind: 'other', version: UNVERSIONED, pins };
  const meta = addon.openPinnedMap(join(pinRoot, MAPS.meta));
  try {
    const value = meta.valueSize === LAYOUT.weir_meta.size ? meta.lookup(key0()) : undefined;
    // A weir_meta of another shape, or an empty slot (a crash before the version was written), is no version at all.
    const version = value === undefined ? UNVERSIONED : value.readUInt32LE(LAYOUT.weir_meta.fields.layout_version);
    return version === LAYOUT_VERSION ? { kind: 'current' } : { kind: 'other', version, pins };
  } finally {
    meta.close();
  }
}

/** The old maps held open across the switch (their pins are gone), to copy from. */
export interface RetiredMaps {
  version: number;
  conntrack: PinnedMapPort | undefined;
  endpoints: PinnedMapPort | undefined;
  close(): void;
}

/** Step 1 and 2: opens the old maps worth carrying over, then removes every pin. */
export function retirePins(addon: Pick<DatapathAddon, 'openPinnedMap'>, pinRoot: string, found: { version: number; pins: string[] }): RetiredMaps {
  const open = (name: string, since: number, keySize: number, valueSize: number): PinnedMapPort | undefined => {
    if (found.version < since || found.version > LAYOUT_VERSION || !found.pins.includes(name)) return undefined;
    const m = addon.openPinnedMap(join(pinRoot, name));
    // A size mismatch means the CARRY_OVER table is wrong: rebuild rather than copy garbage.
    if (m.keySize === keySize && m.valueSize === valueSize) return m;
    m.close();
    return undefined;
  };
  const conntrack = open(MAPS.conntrack, CARRY_OVER.conntrack, LAYOUT.weir_ct_key.size, LAYOUT.weir_ct_value.size);
  const endpoints = open(MAPS.endpoints, CARRY_OVER.endpoints, 4, LAYOUT.weir_endpoint_config.size);
  for (const pin of found.pins) unlinkSync(join(pinRoot, pin));
  return {
    version: found.version,
    conntrack,
    endpoints,
    close() {
      conntrack?.close();
      endpoints?.close();
    },
  };
}

export interface LayoutSwitch {
  from: number;
  to: number;
  /** Entries copied into the new maps. */
  conntrackCarried: number;
  endpointsCarried: number;
  /** Maps whose old contents were dropped: rebuilt by the agent (ipcache, policy) or started afresh. */
  rebuilt: string[];
}

/** Step 4: copies what can be carried over into the freshly loaded maps. */
export function carryOver(retired: RetiredMaps, fresh: { conntrack: BpfMapPort; endpoints: BpfMapPort }): LayoutSwitch {
  let conntrackCarried = 0;
  let endpointsCarried = 0;
  if (retired.endpoints !== undefined) {
    for (const k of retired.endpoints.keys()) {
      const v = retired.endpoints.lookup(k);
      if (v === undefined || decodeEndpointConfig(v) === undefined) continue; // unconfigured slot
      fresh.endpoints.update(k, v);
      endpointsCarried++;
    }
  }
  if (retired.conntrack !== undefined) {
    const generation = LAYOUT.weir_ct_value.fields.generation;
    for (const k of retired.conntrack.keys()) {
      const v = retired.conntrack.lookup(k);
      if (v === undefined) continue;
      // Generation 0 is never an endpoint's (configs start at 1): the flow's next packet re-runs
      // policy under the new programs, so a carried flow is never allowed on the old verdict alone.
      v.writeUInt32LE(0, generation);
      try {
        fresh.conntrack.update(k, v, 'noexist');
        conntrackCarried++;
      } catch {
        // Already created by the new programs, or the table is full: the flow is judged anew.
      }
    }
  }
  const carried = new Set<string>([
    ...(retired.conntrack !== undefined ? [MAPS.conntrack, MAPS.conntrackUsage] : []),
    ...(retired.endpoints !== undefined ? [MAPS.endpoints] : []),
    MAPS.meta,
  ]);
  return {
    from: retired.version,
    to: LAYOUT_VERSION,
    conntrackCarried,
    endpointsCarried,
    rebuilt: Object.values(MAPS).filter((m) => !carried.has(m)).sort(),
  };
}
