/**
 * Namespace defaults injected into a pod (weir.dev/default-network, weir.dev/networks, …): merged
 * into `networks` in the form the pod wrote it, never overwriting a value the pod sets; a broken
 * default is blamed on the namespace. Pure.
 */
import {
  K8S_EGRESS_BANDWIDTH,
  K8S_INGRESS_BANDWIDTH,
  MULTUS_DEFAULT_NETWORK,
  MULTUS_NETWORKS,
  NAMESPACE_DEFAULTS,
  SPIDERPOOL_DEFAULT_ROUTE_NIC,
  annotationField,
} from '../../../common/src/annotations.js';
import { parseBandwidth } from '../../../common/src/bandwidth.js';
import {
  interfaceNameProblem,
  parseDefaultNetworkAnnotation,
  parseNetworkList,
  selectionToJson,
  selectionToText,
  type NetworkSelection,
} from '../../../common/src/multus.js';
import { refusal, warning } from './findings.js';
import type { NamespaceInfo, Refusal } from './types.js';

export interface Injection {
  set: Array<[string, string]>;
  warnings: string[];
  refusals: Refusal[];
}

/** Checks a namespace default before it is injected, so a broken default is blamed on the namespace. */
function defaultProblem(podKey: string, value: string, podNamespace: string): string | undefined {
  switch (podKey) {
    case MULTUS_DEFAULT_NETWORK: {
      const r = parseDefaultNetworkAnnotation(value);
      return r.ok ? undefined : r.error;
    }
    case MULTUS_NETWORKS: {
      const r = parseNetworkList(value, podNamespace);
      return r.ok ? undefined : r.error;
    }
    case SPIDERPOOL_DEFAULT_ROUTE_NIC:
      return interfaceNameProblem(value);
    case K8S_INGRESS_BANDWIDTH:
    case K8S_EGRESS_BANDWIDTH: {
      const r = parseBandwidth(value);
      return r.ok ? undefined : r.error;
    }
    default:
      return undefined;
  }
}

/**
 * Appends the namespace's default networks the pod does not already reference, in the pod's form.
 * Returns undefined when nothing changes (or the pod's own value does not parse: validate reports it).
 */
function mergeNetworks(
  podValue: string,
  nsValue: string,
  podNamespace: string,
  defaultNetwork: string | undefined,
): { value: string; asJson: boolean } | undefined {
  const pod = parseNetworkList(podValue, podNamespace);
  const ns = parseNetworkList(nsValue, podNamespace);
  if (!pod.ok || !ns.ok) return undefined;
  const have = new Set(pod.value.selections.map((s) => `${s.namespace}/${s.name}`));
  // A NAD the pod already uses as its default network is not attached a second time.
  if (defaultNetwork !== undefined && defaultNetwork !== '') {
    const d = parseDefaultNetworkAnnotation(defaultNetwork);
    if (d.ok) have.add(`${d.value.namespace}/${d.value.name}`);
  }
  const extra: NetworkSelection[] = [];
  for (const s of ns.value.selections) {
    const key = `${s.namespace}/${s.name}`;
    if (!have.has(key)) {
      have.add(key);
      extra.push(s);
    }
  }
  if (extra.length === 0) return undefined;
  if (pod.value.form === 'text') {
    const texts = extra.map(selectionToText);
    if (texts.every((t): t is string => t !== undefined)) return { value: `${podValue},${texts.join(',')}`, asJson: false };
    const all = [...pod.value.selections, ...extra].map(selectionToJson);
    return { value: JSON.stringify(all), asJson: true };
  }
  return { value: JSON.stringify([...pod.value.selections, ...extra].map(selectionToJson)), asJson: false };
}

export function inject(current: Record<string, string>, ns: NamespaceInfo, podNamespace: string): Injection {
  const out: Injection = { set: [], warnings: [], refusals: [] };
  // Defaults apply in NAMESPACE_DEFAULTS order; later ones see earlier injections (the networks
  // merge must know the default network, injected or not).
  const annotations: Record<string, string> = { ...current };
  for (const { namespaceKey, podKey } of NAMESPACE_DEFAULTS) {
    const nsValue = ns.annotations[namespaceKey];
    if (nsValue === undefined || nsValue === '') continue;
    const podValue = annotations[podKey];
    const podSetsNone = podValue === undefined || podValue === '';
    if (!podSetsNone && podKey !== MULTUS_NETWORKS) continue;
    const problem = defaultProblem(podKey, nsValue, podNamespace);
    if (problem !== undefined) {
      out.refusals.push(refusal('NAMESPACE_DEFAULT_INVALID', annotationField(podKey), { namespace: ns.name, key: namespaceKey, detail: problem }));
      continue;
    }
    if (podSetsNone) {
      out.set.push([podKey, nsValue]);
      annotations[podKey] = nsValue;
      continue;
    }
    const merged = mergeNetworks(podValue, nsValue, podNamespace, annotations[MULTUS_DEFAULT_NETWORK]);
    if (merged !== undefined) {
      out.set.push([podKey, merged.value]);
      annotations[podKey] = merged.value;
      if (merged.asJson) out.warnings.push(warning('W_POD_NETWORKS_AS_JSON', {}));
    }
  }
  return out;
}
