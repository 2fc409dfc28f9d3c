/**
 * A pod's attachments as Multus will see them: the default network, the `networks` list, the
 * effective interface names, and each NAD looked up in the cluster view. Shared by the intent
 * (mutate) and the checks (validate), so both read the annotations identically.
 */
import {
  MULTUS_DEFAULT_NETWORK,
  MULTUS_NAMESPACE,
  MULTUS_NETWORKS,
  WEIR_PLUGIN_TYPE,
  annotationField,
} from '../../../common/src/annotations.js';
import { chainHas, type CniChain } from '../../../common/src/cni-chain.js';
import {
  effectiveInterfaces,
  parseNetworkList,
  type EffectiveInterface,
  type NetworkSelection,
  type ParsedNetworks,
} from '../../../common/src/multus.js';
import type { Finding } from './findings.js';
import { nadChain } from './nad-chain.js';
import type { ClusterView, NadInfo } from './types.js';

export interface Attachment {
  iface: EffectiveInterface;
  /** `ns/name`, or undefined for the cluster default network. */
  ref: string | undefined;
  /** The annotation field that names this attachment (with its position for `networks`). */
  field: string;
  nad: NadInfo | undefined;
  /** Parsed chain when the NAD exists and its config parses. */
  chain: CniChain | undefined;
  /** The NAD's chain runs {"type":"weir"}. */
  enforced: boolean;
}

export interface ResolvedAttachments {
  attachments: Attachment[];
  networks: ParsedNetworks | undefined;
  /** Parse problems; when non-empty `attachments` is empty. */
  problems: Finding[];
}

export function ref(sel: NetworkSelection): string {
  return `${sel.namespace}/${sel.name}`;
}

export function resolveAttachments(annotations: Record<string, string>, podNamespace: string, view: ClusterView): ResolvedAttachments {
  const problems: Finding[] = [];
  const dnField = annotationField(MULTUS_DEFAULT_NETWORK);
  const netField = annotationField(MULTUS_NETWORKS);

  let defaultSel: NetworkSelection | undefined;
  const dnValue = annotations[MULTUS_DEFAULT_NETWORK];
  // Multus treats an empty default-network annotation as absent (the cluster network).
  if (dnValue !== undefined && dnValue !== '') {
    const r = parseNetworkList(dnValue, MULTUS_NAMESPACE);
    if (!r.ok) {
      problems.push({ code: 'POD_DEFAULT_NETWORK_INVALID', field: dnField, params: { detail: r.error } });
    } else if (r.value.selections.length > 1) {
      problems.push({ code: 'POD_SECOND_DEFAULT_NETWORK', field: dnField, params: { count: r.value.selections.length, value: dnValue } });
    } else if (r.value.selections[0] === undefined || r.value.selections[0].name === '') {
      problems.push({ code: 'POD_DEFAULT_NETWORK_INVALID', field: dnField, params: { detail: 'names no network' } });
    } else {
      defaultSel = r.value.selections[0];
    }
  }

  let networks: ParsedNetworks | undefined;
  const netValue = annotations[MULTUS_NETWORKS];
  // Multus: an empty networks annotation means "no networks".
  if (netValue !== undefined && netValue !== '') {
    const r = parseNetworkList(netValue, podNamespace);
    if (!r.ok) {
      problems.push({ code: 'POD_NETWORKS_INVALID', field: netField, params: { detail: r.error } });
    } else {
      networks = r.value;
      r.value.selections.forEach((s, i) => {
        if (s.name === '') {
          problems.push({ code: 'POD_NETWORKS_INVALID', field: `${netField}[${i}]`, params: { detail: `entry ${i} names no network` } });
        }
      });
    }
  }
  if (problems.length > 0) return { attachments: [], networks, problems };

  const ifaces = effectiveInterfaces(defaultSel, networks?.selections ?? []);
  const attachments = ifaces.map((iface): Attachment => {
    const sel = iface.selection;
    if (sel === undefined) {
      return { iface, ref: undefined, field: dnField, nad: undefined, chain: undefined, enforced: false };
    }
    const nad = view.nad(sel.namespace, sel.name);
    const parsed = nad === undefined ? undefined : nadChain(nad);
    const chain = parsed?.kind === 'chain' ? parsed.chain : undefined;
    return {
      iface,
      ref: ref(sel),
      field: iface.isDefault ? dnField : `${netField}[${iface.position - 1}]`,
      nad,
      chain,
      enforced: chain !== undefined && chainHas(chain, WEIR_PLUGIN_TYPE),
    };
  });
  return { attachments, networks, problems };
}

/** Human name of an attachment for messages. */
export function describeAttachment(a: Attachment): string {
  if (a.iface.isDefault) return a.ref === undefined ? 'the cluster default network' : `the default network ${a.ref}`;
  return `networks[${a.iface.position - 1}] ${a.ref ?? ''}`.trimEnd();
}
