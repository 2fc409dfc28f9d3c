import { isRecord } from './records.js';
/**
 * `weir.dev/intent`: what the node agent must program for a pod, written only by the webhook.
 * Canonical, versioned JSON, so equal intents are equal strings. Version 1:
 *
 * ```json
 * {"version":1,
 *  "networks":[{"nad":null,"interface":"eth0","default":true,"enforced":false},
 *              {"nad":"team-a/underlay","interface":"net1","default":false,"enforced":true}],
 *  "bandwidth":{"ingressBitsPerSecond":10000000,"egressBitsPerSecond":5000000},
 *  "defaultRouteNic":"net1"}
 * ```
 *
 * - `networks`: every attachment in attachment order; the first is the pod's default network.
 *   `nad` is `"namespace/name"`, or null for Multus's cluster default network (which Weir cannot see
 *   and therefore never enforces). `enforced` is true when the NAD's chain runs `{"type":"weir"}`.
 * - `bandwidth`: bits/s per direction, keys omitted when unset (ingress = towards the pod). Only set
 *   when the default network is enforced (the webhook refuses bandwidth otherwise).
 * - `defaultRouteNic`: `ipam.spidernet.io/default-route-nic`, omitted when unset.
 *
 * Key order is fixed (as listed); unknown keys are rejected so a newer writer is noticed, not half-read.
 */

export const INTENT_VERSION = 1;

export interface IntentNetwork {
  nad: string | null;
  interface: string;
  default: boolean;
  enforced: boolean;
}

export interface IntentBandwidth {
  ingressBitsPerSecond?: number;
  egressBitsPerSecond?: number;
}

export interface Intent {
  version: 1;
  networks: IntentNetwork[];
  bandwidth: IntentBandwidth;
  defaultRouteNic?: string;
}

export type IntentParse = { ok: true; intent: Intent } | { ok: false; errors: string[] };

/** Canonical JSON: fixed key order, no whitespace, optional keys omitted when undefined. */
export function encodeIntent(intent: Intent): string {
  const bandwidth: Record<string, number> = {};
  if (intent.bandwidth.ingressBitsPerSecond !== undefined) bandwidth['ingressBitsPerSecond'] = intent.bandwidth.ingressBitsPerSecond;
  if (intent.bandwidth.egressBitsPerSecond !== undefined) bandwidth['egressBitsPerSecond'] = intent.bandwidth.egressBitsPerSecond;
  const out: Record<string, unknown> = {
    version: intent.version,
    networks: intent.networks.map((n) => ({ nad: n.nad, interface: n.interface, default: n.default, enforced: n.enforced })),
    bandwidth,
  };
  if (intent.defaultRouteNic !== undefined) out['defaultRouteNic'] = intent.defaultRouteNic;
  return JSON.stringify(out);
}


function unknownKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string, errors: string[]): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) errors.push(`${path}.${k}: unknown field`);
}

const NAD_REF = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function rate(v: unknown, path: string, errors: string[]): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    errors.push(`${path}: must be a positive integer (bits per second)`);
    return undefined;
  }
  return v;
}

/**
 * Parses an intent from the annotation string (or an already-decoded value). Every bad field is
 * reported with its path.
 */
export function parseIntent(value: unknown): IntentParse {
  let doc: unknown = value;
  if (typeof value === 'string') {
    try {
      doc = JSON.parse(value);
    } catch (e: unknown) {
      return { ok: false, errors: [`intent: not valid JSON (${e instanceof Error ? e.message : 'parse error'})`] };
    }
  }
  if (!isRecord(doc)) return { ok: false, errors: ['intent: must be a JSON object'] };
  const errors: string[] = [];
  if (doc['version'] !== INTENT_VERSION) {
    return { ok: false, errors: [`intent.version: must be ${INTENT_VERSION}, got ${doc['version'] === undefined ? 'nothing' : JSON.stringify(doc['version'])}`] };
  }
  unknownKeys(doc, ['version', 'networks', 'bandwidth', 'defaultRouteNic'], 'intent', errors);
  const networks: IntentNetwork[] = [];
  const rawNets = doc['networks'];
  if (!Array.isArray(rawNets)) {
    errors.push('intent.networks: must be an array');
  } else {
    rawNets.forEach((n: unknown, i) => {
      const path = `intent.networks[${i}]`;
      if (!isRecord(n)) {
        errors.push(`${path}: must be an object`);
        return;
      }
      unknownKeys(n, ['nad', 'interface', 'default', 'enforced'], path, errors);
      const nad = n['nad'];
      if (nad !== null && (typeof nad !== 'string' || !NAD_REF.test(nad))) errors.push(`${path}.nad: must be "namespace/name" or null`);
      const iface = n['interface'];
      if (typeof iface !== 'string' || !/^[^\s/]{1,15}$/.test(iface)) {
        errors.push(`${path}.interface: must be an interface name (1-15 chars, no '/' or spaces)`);
      }
      const isDefault = n['default'];
      if (typeof isDefault !== 'boolean') errors.push(`${path}.default: must be a boolean`);
      const enforced = n['enforced'];
      if (typeof enforced !== 'boolean') errors.push(`${path}.enforced: must be a boolean`);
      if (nad === null && enforced === true) errors.push(`${path}.enforced: the cluster default network (nad null) is never enforced`);
      if (
        (nad === null || typeof nad === 'string') &&
        typeof iface === 'string' &&
        typeof isDefault === 'boolean' &&
        typeof enforced === 'boolean'
      ) {
        networks.push({ nad, interface: iface, default: isDefault, enforced });
      }
    });
    if (Array.isArray(rawNets) && rawNets.length > 0) {
      const defaults = networks.filter((n) => n.default).length;
      if (defaults !== 1 || networks[0]?.default !== true) errors.push('intent.networks: exactly one default network, and it comes first');
      const names = new Set(networks.map((n) => n.interface));
      if (names.size !== networks.length) errors.push('intent.networks: interface names must be unique');
    } else if (Array.isArray(rawNets)) {
      errors.push('intent.networks: must list the default network');
    }
  }
  const bandwidth: IntentBandwidth = {};
  const rawBw = doc['bandwidth'];
  if (!isRecord(rawBw)) {
    errors.push('intent.bandwidth: must be an object');
  } else {
    unknownKeys(rawBw, ['ingressBitsPerSecond', 'egressBitsPerSecond'], 'intent.bandwidth', errors);
    const ing = rate(rawBw['ingressBitsPerSecond'], 'intent.bandwidth.ingressBitsPerSecond', errors);
    const eg = rate(rawBw['egressBitsPerSecond'], 'intent.bandwidth.egressBitsPerSecond', errors);
    if (ing !== undefined) bandwidth.ingressBitsPerSecond = ing;
    if (eg !== undefined) bandwidth.egressBitsPerSecond = eg;
  }
  const drn = doc['defaultRouteNic'];
  if (drn !== undefined && (typeof drn !== 'string' || drn === '')) errors.push('intent.defaultRouteNic: must be a non-empty string');
  if (errors.length > 0) return { ok: false, errors };
  const intent: Intent = { version: 1, networks, bandwidth };
  if (typeof drn === 'string') intent.defaultRouteNic = drn;
  return { ok: true, intent };
}
