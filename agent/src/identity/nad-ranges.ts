/**
 * The address ranges a NetworkAttachmentDefinition declares, read from its IPAM config: what an IP
 * reported on that network (by Multus's network-status, which a tenant can write) must lie inside
 * before it may name a pod. Only IPAMs whose config states the range are read; for the others
 * (spiderpool's IPPools, dhcp, a static IPAM that takes addresses from the pod) the range is
 * 'unknown'. A NAD whose chain runs weir is 'weir': its attachments are bound by the WeirEndpoint
 * of the agent that ran the ADD, so network-status has nothing to add for it.
 */
import { WEIR_PLUGIN_TYPE } from '../../../common/src/annotations.js';
import { chainHas, parseChain } from '../../../common/src/cni-chain.js';
import { isRecord } from '../../../common/src/records.js';
import { hostCidr, parseCidr, type Cidr } from '../../../common/src/ip.js';

export type NadRange = Cidr[] | 'unknown' | 'weir';

/** "namespace/name" and declared range of a NAD object; undefined when it has no name. */
export function nadRange(object: unknown): { key: string; range: NadRange } | undefined {
  const meta = isRecord(object) && isRecord(object['metadata']) ? object['metadata'] : {};
  const ns = meta['namespace'];
  const name = meta['name'];
  if (typeof ns !== 'string' || typeof name !== 'string' || ns === '' || name === '') return undefined;
  const spec = isRecord(object) && isRecord(object['spec']) ? object['spec'] : {};
  const config = spec['config'];
  return { key: `${ns}/${name}`, range: typeof config === 'string' ? rangeOfConfig(config) : 'unknown' };
}

export function rangeOfConfig(config: string): NadRange {
  const parsed = parseChain(config);
  if (parsed.kind !== 'chain') return 'unknown';
  if (chainHas(parsed.chain, WEIR_PLUGIN_TYPE)) return 'weir';
  const plugin = parsed.chain.plugins.find((p) => isRecord(p.raw['ipam']));
  const ipam = plugin === undefined ? undefined : plugin.raw['ipam'];
  if (plugin === undefined || !isRecord(ipam)) return 'unknown';
  // With the "ips" capability the pod's own annotation picks the address: not a declared range.
  const caps = plugin.raw['capabilities'];
  if (isRecord(caps) && caps['ips'] === true && ipam['type'] !== 'host-local') return 'unknown';
  const out: Cidr[] = [];
  switch (ipam['type']) {
    case 'host-local': {
      const ranges = ipam['ranges'];
      if (Array.isArray(ranges)) {
        for (const set of ranges) if (Array.isArray(set)) for (const r of set) if (isRecord(r)) push(out, r['subnet']);
      }
      push(out, ipam['subnet']);
      break;
    }
    case 'whereabouts': {
      push(out, whereaboutsCidr(ipam['range']));
      const ipRanges = ipam['ipRanges'];
      if (Array.isArray(ipRanges)) for (const r of ipRanges) if (isRecord(r)) push(out, whereaboutsCidr(r['range']));
      break;
    }
    case 'static': {
      const addresses = ipam['addresses'];
      if (Array.isArray(addresses)) {
        for (const a of addresses) {
          const text = isRecord(a) && typeof a['address'] === 'string' ? a['address'] : undefined;
          const host = text === undefined ? undefined : hostCidr(text.split('/')[0] ?? '');
          if (host !== undefined) out.push(host);
        }
      }
      break;
    }
    default:
      return 'unknown';
  }
  return out.length > 0 ? out : 'unknown';
}

/** whereabouts writes "10.0.0.0/24" or "10.0.0.10-10.0.0.50/24"; the CIDR part bounds both. */
function whereaboutsCidr(v: unknown): unknown {
  if (typeof v !== 'string') return undefined;
  const dash = v.indexOf('-');
  if (dash < 0) return v;
  const slash = v.lastIndexOf('/');
  return slash < 0 ? undefined : `${v.slice(0, dash)}${v.slice(slash)}`;
}

function push(out: Cidr[], v: unknown): void {
  if (typeof v !== 'string') return;
  const c = parseCidr(v);
  if (c !== undefined) out.push(c);
}
