/**
 * What the agent may take from a pod's annotations, and how far it trusts them. Pure: no I/O.
 *
 * Trust (README "Security"): `weir.dev/intent` is believed only in a namespace labelled
 * `weir.dev/inject=enabled`, where the webhook wrote it (a client value is replaced on create and
 * refused on update). There it carries the pod's bandwidth and its default interface, nothing more:
 * whether an interface is enforced is not the intent's to say, because a call of the weir plugin
 * proves its chain runs weir and always enforces. Elsewhere an intent is ignored (the caller
 * records an Event) and no shaping is applied. A malformed intent in an opted-in namespace is
 * reported the same way and the pod is shaped from its `kubernetes.io/*-bandwidth` annotations,
 * which the webhook checked against the namespace's caps.
 */
import {
  K8S_EGRESS_BANDWIDTH,
  K8S_INGRESS_BANDWIDTH,
  MULTUS_DEFAULT_NETWORK,
  MULTUS_NETWORKS,
  POD_INTENT,
} from '../../../common/src/annotations.js';
import { parseBandwidth } from '../../../common/src/bandwidth.js';
import { isRecord } from '../../../common/src/records.js';
import { parseIntent, type Intent } from '../../../common/src/intent.js';
import {
  effectiveInterfaces,
  parseDefaultNetworkAnnotation,
  parseNetworksAnnotation,
  type NetworkSelection,
} from '../../../common/src/multus.js';
import { DEFAULT_INTERFACE } from '../policy/model.js';
import type { Bandwidth } from '../datapath/shaping.js';

export interface IntentNetworkView {
  interface: string;
  /** "ns/name" of the NAD; undefined for the cluster default network or when unknown. */
  nad: string | undefined;
  isDefault: boolean;
}

export type PodIntentView =
  /** A valid intent in an opted-in namespace: bandwidth and the default interface come from it. */
  | { kind: 'intent'; intent: Intent; networks: IntentNetworkView[]; bandwidth: Bandwidth | undefined }
  /** Opted in, no intent: bandwidth from the kubernetes.io annotations; `problems` lists those that did not parse. */
  | { kind: 'derived'; networks: IntentNetworkView[]; bandwidth: Bandwidth | undefined; problems: string[] }
  /** Opted in, an intent that failed validation: reported; shaped as 'derived'. */
  | { kind: 'malformed'; errors: string[]; networks: IntentNetworkView[]; bandwidth: Bandwidth | undefined; problems: string[] }
  /** Not opted in: no shaping; `intentIgnored` when the pod carried an intent nobody checked. */
  | { kind: 'untrusted'; networks: IntentNetworkView[]; bandwidth: undefined; intentIgnored: boolean };

export function podIntentView(annotations: Readonly<Record<string, string>>, podNamespace: string, optedIn: boolean): PodIntentView {
  const raw = annotations[POD_INTENT];
  const derived = deriveFromAnnotations(annotations, podNamespace);
  if (!optedIn) return { kind: 'untrusted', networks: derived.networks, bandwidth: undefined, intentIgnored: raw !== undefined };
  if (raw === undefined) return { kind: 'derived', ...derived };
  const parsed = parseIntent(raw);
  if (!parsed.ok) return { kind: 'malformed', errors: parsed.errors, ...derived };
  const intent = parsed.intent;
  return {
    kind: 'intent',
    intent,
    networks: intent.networks.map((n) => ({ interface: n.interface, nad: n.nad ?? undefined, isDefault: n.default })),
    bandwidth: nonEmpty({ ...intent.bandwidth }),
  };
}

function deriveFromAnnotations(
  annotations: Readonly<Record<string, string>>,
  podNamespace: string,
): { networks: IntentNetworkView[]; bandwidth: Bandwidth | undefined; problems: string[] } {
  const problems: string[] = [];
  const bandwidth: Bandwidth = {};
  for (const [key, field] of [[K8S_INGRESS_BANDWIDTH, 'ingressBitsPerSecond'], [K8S_EGRESS_BANDWIDTH, 'egressBitsPerSecond']] as const) {
    const value = annotations[key];
    if (value === undefined) continue;
    const parsed = parseBandwidth(value);
    if (parsed.ok) bandwidth[field] = parsed.bitsPerSecond;
    else problems.push(`${key}: ${parsed.error}`);
  }
  let defaultSelection: NetworkSelection | undefined;
  const def = annotations[MULTUS_DEFAULT_NETWORK];
  if (def !== undefined && def !== '') {
    const parsed = parseDefaultNetworkAnnotation(def);
    if (parsed.ok) defaultSelection = parsed.value;
    else problems.push(`${MULTUS_DEFAULT_NETWORK}: ${parsed.error}`);
  }
  let selections: NetworkSelection[] = [];
  const nets = annotations[MULTUS_NETWORKS];
  if (nets !== undefined && nets !== '') {
    const parsed = parseNetworksAnnotation(nets, podNamespace);
    if (parsed.ok) selections = parsed.value.selections;
    else problems.push(`${MULTUS_NETWORKS}: ${parsed.error}`);
  }
  // Which NAD each interface is on (for MultiNetworkPolicy), as Multus attached them. The default
  // interface is never taken from here (defaultInterfaceOf).
  const networks = effectiveInterfaces(defaultSelection, selections).map((i) => ({
    interface: i.name,
    nad: i.selection === undefined ? undefined : `${i.selection.namespace}/${i.selection.name}`,
    isDefault: i.isDefault,
  }));
  return { networks, bandwidth: nonEmpty(bandwidth), problems };
}

function nonEmpty(b: Bandwidth): Bandwidth | undefined {
  return b.ingressBitsPerSecond === undefined && b.egressBitsPerSecond === undefined ? undefined : b;
}

/**
 * The interface NetworkPolicy and bandwidth apply to: the one the webhook's intent names as the
 * default network, else eth0 (Multus's name for the default network). Never a tenant-written field.
 */
export function defaultInterfaceOf(view: PodIntentView): string {
  if (view.kind !== 'intent') return DEFAULT_INTERFACE;
  return view.networks.find((n) => n.isDefault)?.interface ?? DEFAULT_INTERFACE;
}

/** The NAD ("ns/name") an interface is on, as the pod's networks say; undefined for the default. */
export function networkOf(view: PodIntentView, ifName: string): string | undefined {
  if (ifName === defaultInterfaceOf(view)) return undefined;
  return view.networks.find((n) => n.interface === ifName && !n.isDefault)?.nad;
}

/** IPs (without prefix length) from a CNI result's `ips[].address`. */
export function resultIps(prevResult: Readonly<Record<string, unknown>>): string[] {
  const ips = prevResult['ips'];
  if (!Array.isArray(ips)) return [];
  const out: string[] = [];
  for (const ip of ips) {
    if (!isRecord(ip)) continue;
    const address = ip['address'];
    if (typeof address !== 'string') continue;
    const slash = address.indexOf('/');
    out.push(slash < 0 ? address : address.slice(0, slash));
  }
  return out;
}

/** The MAC of `ifName` inside the sandbox, from a CNI result's `interfaces[]` (lower case). */
export function resultMac(prevResult: Readonly<Record<string, unknown>>, ifName: string): string | undefined {
  const list = prevResult['interfaces'];
  if (!Array.isArray(list)) return undefined;
  for (const i of list) {
    if (!isRecord(i) || i['name'] !== ifName || typeof i['sandbox'] !== 'string' || i['sandbox'] === '') continue;
    const mac = i['mac'];
    return typeof mac === 'string' && /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac) ? mac.toLowerCase() : undefined;
  }
  return undefined;
}
