/**
 * The only reader of Multus's `k8s.v1.cni.cncf.io/network-status` in the agent, and what it may
 * contribute: secondary addresses of interfaces no trusted source binds. Anyone with `patch pods`
 * can write that annotation, so it never decides an identity on its own and never an enforcement:
 *
 * - the default network's entry is ignored (the default interface and its IPs come from the
 *   intent the webhook wrote, WeirEndpoints and kubelet's status.podIPs);
 * - an entry whose interface a WeirEndpoint binds, which names no NAD this agent knows, or a NAD
 *   whose chain runs weir (its attachments have WeirEndpoints), is ignored (in doubt, "world");
 * - an address outside the NAD's declared range, where the range is known, is ignored;
 * - at most MAX_SECONDARY_IPS_PER_POD addresses per pod, from an annotation of at most
 *   MAX_NETWORK_STATUS_BYTES (the API server allows 256 KiB of annotations: ~15,000 addresses).
 *
 * That these addresses never override a trusted binding is agent/src/identity/bindings.ts's rule.
 */
import { MULTUS_NETWORK_STATUS } from '../../../common/src/annotations.js';
import { isRecord } from '../../../common/src/records.js';
import { hostCidr, ipInCidr } from '../../../common/src/ip.js';
import type { NadRange } from './nad-ranges.js';

export const MAX_NETWORK_STATUS_BYTES = 16 * 1024;
export const MAX_SECONDARY_IPS_PER_POD = 8;

export interface SecondaryAddress {
  ip: string;
  iface: string;
  /** "namespace/name" of the NAD the entry names (known to exist). */
  network: string;
}

export interface SecondaryResult {
  addresses: SecondaryAddress[];
  /** Why entries or addresses were left out (debug logs and tests). */
  ignored: string[];
}

export interface SecondaryContext {
  /** Interfaces a trusted source binds (and the default interface): never taken from here. */
  boundInterfaces: ReadonlySet<string>;
  /** The declared range of a NAD, undefined when this agent does not know the NAD. */
  rangeOf(nad: string): NadRange | undefined;
}

export function secondaryAddresses(annotations: Readonly<Record<string, string>>, ctx: SecondaryContext): SecondaryResult {
  const text = annotations[MULTUS_NETWORK_STATUS];
  const ignored: string[] = [];
  if (text === undefined) return { addresses: [], ignored };
  if (text.length > MAX_NETWORK_STATUS_BYTES) {
    return { addresses: [], ignored: [`${MULTUS_NETWORK_STATUS}: ${text.length} bytes, more than ${MAX_NETWORK_STATUS_BYTES}; not read`] };
  }
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    return { addresses: [], ignored: [`${MULTUS_NETWORK_STATUS}: not JSON`] };
  }
  if (!Array.isArray(list)) return { addresses: [], ignored: [`${MULTUS_NETWORK_STATUS}: not a list`] };
  const addresses: SecondaryAddress[] = [];
  const seen = new Set<string>();
  for (const entry of list) {
    if (!isRecord(entry)) continue;
    const { name: network, interface: iface, ips, default: isDefault } = entry;
    if (typeof network !== 'string' || typeof iface !== 'string' || iface === '' || !Array.isArray(ips)) continue;
    if (isDefault === true) continue;
    if (ctx.boundInterfaces.has(iface)) {
      ignored.push(`${iface}: bound by a trusted source`);
      continue;
    }
    const range = network.includes('/') ? ctx.rangeOf(network) : undefined;
    if (range === undefined) {
      ignored.push(`${iface}: network "${network}" is not a known NAD`);
      continue;
    }
    if (range === 'weir') {
      ignored.push(`${iface}: network "${network}" runs weir; only a WeirEndpoint binds its addresses`);
      continue;
    }
    for (const ip of ips) {
      if (typeof ip !== 'string') continue;
      const host = hostCidr(ip);
      if (host === undefined || seen.has(host.canonical)) continue;
      if (range !== 'unknown' && !range.some((c) => ipInCidr(c, host.family, host.addr))) {
        ignored.push(`${iface}: ${ip} is outside ${network}'s range`);
        continue;
      }
      if (addresses.length >= MAX_SECONDARY_IPS_PER_POD) {
        ignored.push(`more than ${MAX_SECONDARY_IPS_PER_POD} secondary addresses; the rest are not bound`);
        return { addresses, ignored };
      }
      seen.add(host.canonical);
      addresses.push({ ip, iface, network });
    }
  }
  return { addresses, ignored };
}
