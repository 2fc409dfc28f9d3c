/**
 * The node's one object load and its pinned maps (driver.ts): opened once per agent, pins of
 * another layout version replaced and their flows carried over (layout.ts); and, after a
 * restart, what the pinned maps already hold per endpoint (adoptExisting).
 */
import {
  ENDPOINT_ID_CONSTANT, LAYOUT_VERSION, MAPS, decodeEndpointConfig, decodePolicyKey, type EndpointConfig,
} from './codec.js';
import { readContents, type MapContents } from './entries.js';
import { carryOver, encodeMeta, inspectPins, retirePins, type LayoutSwitch } from './layout.js';
import type { BpfMapPort, BpfObjectPort, DatapathAddon } from './port.js';
import { sweepConntrack } from './sweep.js';

export interface NodeMaps {
  object: BpfObjectPort;
  ipcache: BpfMapPort;
  policy: BpfMapPort;
  conntrack: BpfMapPort;
  endpoints: BpfMapPort;
  counters: BpfMapPort;
  events: BpfMapPort;
  conntrackUsage: BpfMapPort;
  nodeAddrs: BpfMapPort;
}

export const unhex = (s: string): Buffer => Buffer.from(s, 'hex');

/**
 * Loads the node's object (constant `endpoint_id` 0) over the pins under `pinRoot`. Pins of
 * another layout version are replaced, not reused: the old programs keep enforcing with the old
 * maps until attachEndpoint replaces them endpoint by endpoint. `layoutSwitch` says what moved.
 */
export function openNodeMaps(addon: DatapathAddon, objectPath: string, pinRoot: string): { maps: NodeMaps; layoutSwitch: LayoutSwitch | undefined } {
  const found = inspectPins(addon, pinRoot);
  const retired = found.kind === 'other' ? retirePins(addon, pinRoot, found) : undefined;
  let object: BpfObjectPort;
  try {
    object = addon.openObject({ path: objectPath, pinRoot, constants: { [ENDPOINT_ID_CONSTANT]: 0 } });
  } catch (error) {
    retired?.close();
    throw error;
  }
  const maps: NodeMaps = {
    object,
    ipcache: object.map(MAPS.ipcache),
    policy: object.map(MAPS.policy),
    conntrack: object.map(MAPS.conntrack),
    endpoints: object.map(MAPS.endpoints),
    counters: object.map(MAPS.counters),
    events: object.map(MAPS.events),
    conntrackUsage: object.map(MAPS.conntrackUsage),
    nodeAddrs: object.map(MAPS.nodeAddrs),
  };
  let layoutSwitch: LayoutSwitch | undefined;
  if (retired !== undefined) {
    try {
      layoutSwitch = carryOver(retired, { conntrack: maps.conntrack, endpoints: maps.endpoints });
      // The programs never decrement: the carried flows' counts are recounted from the table.
      if (layoutSwitch.conntrackCarried > 0) sweepConntrack(maps.conntrack, maps.conntrackUsage);
    } finally {
      retired.close();
    }
  }
  // Written last: a crash before this leaves unversioned pins, which the next start replaces again.
  if (found.kind !== 'current') object.map(MAPS.meta).update(Buffer.alloc(4), encodeMeta(LAYOUT_VERSION));
  return { maps, layoutSwitch };
}

export interface PinnedEndpoints {
  ipcache: MapContents;
  /** Endpoint configs by id. */
  configs: Map<number, EndpointConfig>;
  /** Policy entries by endpoint id, including slices whose config is gone (an interrupted detach). */
  policies: Map<number, MapContents>;
}

/** What the pinned maps hold, read back after an agent restart. */
export function readPinnedEndpoints(m: NodeMaps): PinnedEndpoints {
  const policies = new Map<number, MapContents>();
  for (const [k, v] of readContents(m.policy)) {
    const id = decodePolicyKey(unhex(k)).endpointId;
    let c = policies.get(id);
    if (c === undefined) policies.set(id, (c = new Map<string, string>()));
    c.set(k, v);
  }
  const configs = new Map<number, EndpointConfig>();
  for (const key of m.endpoints.keys()) {
    const value = m.endpoints.lookup(key);
    const config = value === undefined ? undefined : decodeEndpointConfig(value);
    if (config !== undefined) configs.set(key.readUInt32LE(0), config);
  }
  return { ipcache: readContents(m.ipcache), configs, policies };
}
