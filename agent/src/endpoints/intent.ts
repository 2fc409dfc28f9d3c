/**
 * What the agent must program for one pod, read from `weir.dev/intent` (untrusted: validated with
 * the shared parser) or, when the webhook did not write one, derived from the pod's annotations
 * with the same shared parsers the webhook uses. Pure: no I/O, no clock.
 *
 * The safe rule for a malformed intent: every interface the weir plugin is called for is enforced
 * (isolated by policy as computed), and bandwidth comes from the `kubernetes.io/*-bandwidth`
 * annotations when they parse. Never "allow because we could not read it".
 */
import {
  K8S_EGRESS_BANDWIDTH,
  K8S_INGRESS_BANDWIDTH,
  MULTUS_DEFAULT_NETWORK,
  MULTUS_NETWORKS,
  POD_INTENT,
} from '../../../common/src/annotations.js';
import { parseBandwidth } from '../../../common/src/bandwidth.js';
import { parseIntent, type Intent } from '../../../common/src/intent.js';
import {
  effectiveInterfaces,
  parseDefaultNetworkAnnotation,
  parseNetworksAnnotation,
  type NetworkSelection,
} from '../../../common/src/multus.js';
import type { Pod, PodInterface } from '../policy/model.js';
import type { Bandwidth } from '../datapath/shaping.js';

export interface IntentNetworkView {
  interface: string;
  /** "ns/name" of the NAD; undefined for the cluster default network or when unknown. */
  nad: string | undefined;
  isDefault: boolean;
  enforced: boolean;
}

export type PodIntentView =
  /** A valid `weir.dev/intent`. */
  | { kind: 'intent'; intent: Intent; networks: IntentNetworkView[]; bandwidth: Bandwidth | undefined }
  /** No intent: derived from annotations; `problems` lists annotations that did not parse. */
  | { kind: 'derived'; networks: IntentNetworkView[]; bandwidth: Bandwidth | undefined; problems: string[] }
  /** An intent that failed validation: the safe rule applies (see the module comment). */
  | { kind: 'malformed'; errors: string[]; networks: IntentNetworkView[]; bandwidth: Bandwidth | undefined; problems: string[] };

export function podIntentView(annotations: Readonly<Record<string, string>>, podNamespace: string): PodIntentView {
  const raw = annotations[POD_INTENT];
  if (raw !== undefined) {
    const parsed = parseIntent(raw);
    if (parsed.ok) {
      const intent = parsed.intent;
      const bw = nonEmpty({ ...intent.bandwidth });
      return {
        kind: 'intent',
        intent,
        networks: intent.networks.map((n) => ({ interface: n.interface, nad: n.nad ?? undefined, isDefault: n.default, enforced: n.enforced })),
        bandwidth: bw,
      };
    }
    const derived = deriveFromAnnotations(annotations, podNamespace);
    // Safe rule: whatever the annotations say, every interface is enforced.
    return {
      kind: 'malformed',
      errors: parsed.errors,
      networks: derived.networks.map((n) => ({ ...n, enforced: true })),
      bandwidth: derived.bandwidth,
      problems: derived.problems,
    };
  }
  const derived = deriveFromAnnotations(annotations, podNamespace);
  return { kind: 'derived', ...derived };
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
  // Without an intent the agent cannot know the NAD chains from here; the weir plugin being called
  // for an interface proves its chain runs weir, so every interface is enforced.
  const networks = effectiveInterfaces(defaultSelection, selections).map((i) => ({
    interface: i.name,
    nad: i.selection === undefined ? undefined : `${i.selection.namespace}/${i.selection.name}`,
    isDefault: i.isDefault,
    enforced: true,
  }));
  return { networks, bandwidth: nonEmpty(bandwidth), problems };
}

function nonEmpty(b: Bandwidth): Bandwidth | undefined {
  return b.ingressBitsPerSecond === undefined && b.egressBitsPerSecond === undefined ? undefined : b;
}

/**
 * Whether Weir enforces `ifName`. An interface the intent does not list is enforced: the plugin
 * was called for it, so its chain runs weir (fail closed).
 */
export function interfaceEnforced(view: PodIntentView, ifName: string): boolean {
  const n = view.networks.find((x) => x.interface === ifName);
  return n === undefined ? true : n.enforced;
}

/** The interface bandwidth applies to: the pod's default network's. */
export function defaultInterfaceOf(view: PodIntentView, pod: Pick<Pod, 'defaultInterface'>): string {
  return view.networks.find((n) => n.isDefault)?.interface ?? pod.defaultInterface;
}

/** IPs (without prefix length) from a CNI result's `ips[].address`. */
export function resultIps(prevResult: Readonly<Record<string, unknown>>): string[] {
  const ips = prevResult['ips'];
  if (!Array.isArray(ips)) return [];
  const out: string[] = [];
  for (const ip of ips) {
    if (typeof ip !== 'object' || ip === null || Array.isArray(ip)) continue;
    const address: unknown = (ip as Record<string, unknown>)['address'];
    if (typeof address !== 'string') continue;
    const slash = address.indexOf('/');
    out.push(slash < 0 ? address : address.slice(0, slash));
  }
  return out;
}

/** An interface learned at CNI ADD, before kubelet/Multus report it in the pod's status. */
export interface LocalInterface {
  ifName: string;
  ips: string[];
  /** "ns/nad" for a secondary network, undefined for the default network. */
  network: string | undefined;
  isDefault: boolean;
}

export function localInterfaceOf(view: PodIntentView, pod: Pick<Pod, 'defaultInterface'>, ifName: string, ips: string[]): LocalInterface {
  const n = view.networks.find((x) => x.interface === ifName);
  const isDefault = n !== undefined ? n.isDefault : ifName === defaultInterfaceOf(view, pod);
  return { ifName, ips, network: isDefault ? undefined : n?.nad, isDefault };
}

/**
 * The pod as the compiler should see it: its reported interfaces plus those this node learned
 * at CNI ADD (status.podIPs and network-status are written only after the sandbox is up, but the
 * programs must judge the pod's first packet by its final identity and policy).
 */
export function mergeLocalInterfaces(pod: Pod, local: readonly LocalInterface[]): Pod {
  if (local.length === 0) return pod;
  let defaultInterface = pod.defaultInterface;
  const localDefault = local.find((l) => l.isDefault);
  if (localDefault !== undefined && !pod.interfaces.some((i) => i.network === undefined && i.ips.length > 0)) {
    defaultInterface = localDefault.ifName;
  }
  const interfaces: PodInterface[] = pod.interfaces.map((i) => ({ ...i, name: i.network === undefined ? defaultInterface : i.name }));
  for (const l of local) {
    const existing = interfaces.find((i) => i.name === l.ifName);
    if (existing === undefined) {
      interfaces.push({ name: l.ifName, network: l.isDefault ? undefined : l.network ?? `unknown/${l.ifName}`, ips: [...l.ips] });
    } else {
      existing.ips = [...new Set([...existing.ips, ...l.ips])];
    }
  }
  return { ...pod, defaultInterface, interfaces };
}
