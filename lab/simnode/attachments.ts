import type { V1Pod } from '@kubernetes/client-node';
import { MULTUS_DEFAULT_NETWORK, MULTUS_NETWORKS } from '../../common/src/annotations.js';
import { effectiveInterfaces, parseDefaultNetworkAnnotation, parseNetworksAnnotation, type NetworkSelection } from '../../common/src/multus.js';
import { networkListFromConfig, type NetworkList } from './chain.js';
import type { Attachment, AttachmentResolution } from './kubelet.js';

/**
 * The Multus part of the simulated node: which networks a pod gets, from its annotations, with
 * the same shared parser the webhook uses (so the lab cannot disagree with admission).
 */
export interface NadSource {
  /** spec.config of a NAD, undefined when the NAD does not exist. */
  nadConfig(namespace: string, name: string): Promise<string | undefined>;
}

export interface ClusterNetwork {
  /** Name written into network-status for the cluster default network (Multus uses the conf name). */
  name: string;
  list: NetworkList;
}

export async function resolveAttachments(pod: V1Pod, nads: NadSource, clusterNetwork: ClusterNetwork): Promise<AttachmentResolution> {
  const annotations = pod.metadata?.annotations ?? {};
  const podNamespace = pod.metadata?.namespace ?? 'default';
  let defaultSelection: NetworkSelection | undefined;
  const defaultValue = annotations[MULTUS_DEFAULT_NETWORK];
  if (defaultValue !== undefined && defaultValue !== '') {
    const parsed = parseDefaultNetworkAnnotation(defaultValue);
    if (!parsed.ok) return { ok: false, error: parsed.error };
    defaultSelection = parsed.value;
  }
  let selections: NetworkSelection[] = [];
  const networksValue = annotations[MULTUS_NETWORKS];
  if (networksValue !== undefined && networksValue !== '') {
    const parsed = parseNetworksAnnotation(networksValue, podNamespace);
    if (!parsed.ok) return { ok: false, error: parsed.error };
    selections = parsed.value.selections;
  }
  const attachments: Attachment[] = [];
  for (const iface of effectiveInterfaces(defaultSelection, selections)) {
    const selection = iface.selection;
    if (selection === undefined) {
      attachments.push({ network: clusterNetwork.name, ifName: iface.name, isDefault: true, list: clusterNetwork.list });
      continue;
    }
    const config = await nads.nadConfig(selection.namespace, selection.name);
    const ref = `${selection.namespace}/${selection.name}`;
    if (config === undefined) return { ok: false, error: `cannot find a network-attachment-definition (${selection.name}) in namespace (${selection.namespace})` };
    const list = networkListFromConfig(config, selection.name);
    if (!list.ok) return { ok: false, error: `network-attachment-definition ${ref}: ${list.error}` };
    attachments.push({ network: ref, ifName: iface.name, isDefault: iface.isDefault, list: list.list, runtimeConfig: runtimeConfigOf(selection) });
  }
  return { ok: true, attachments };
}

/** Per-attachment runtimeConfig from a JSON selection element (Multus's mergeCNIRuntimeConfig). */
function runtimeConfigOf(selection: NetworkSelection): Record<string, unknown> | undefined {
  if (typeof selection.raw === 'string') return undefined;
  const config: Record<string, unknown> = {};
  const { ips, mac } = selection.raw;
  if (Array.isArray(ips) && ips.every((ip) => typeof ip === 'string')) config.ips = ips;
  if (typeof mac === 'string') config.mac = mac;
  return Object.keys(config).length > 0 ? config : undefined;
}
