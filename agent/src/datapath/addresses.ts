/**
 * The endpoint's own MAC and IPs, read from the CNI result the interface plugin and IPAM produced
 * (the `prevResult` weir's plugin receives at ADD). They are the only sources the endpoint's
 * egress may use (bpf/include/antispoof.h). Taken from the result, never from the pod's netns: a
 * pod with NET_ADMIN could add addresses there, it cannot change what its CNI chain reported.
 */
import { isRecord } from '../../../common/src/records.js';
import { formatIp, parseIp } from '../../../common/src/ip.js';
import { MAX_ENDPOINT_ADDRS, type EndpointAddresses } from './codec.js';

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/**
 * `ifName`'s addresses in a CNI result: the MAC of the sandbox-side interface of that name, and
 * every `ips[]` entry pointing at it (or carrying no interface index). Canonical, de-duplicated,
 * at most MAX_ENDPOINT_ADDRS (the datapath's slots; later ones are reported in `dropped`).
 */
export function resultAddresses(prevResult: unknown, ifName: string): EndpointAddresses & { dropped: string[] } {
  const result = isRecord(prevResult) ? prevResult : {};
  const interfaces = Array.isArray(result.interfaces) ? result.interfaces : [];
  const index = interfaces.findIndex((i) => isRecord(i) && i.name === ifName && typeof i.sandbox === 'string' && i.sandbox !== '');
  const iface: unknown = index >= 0 ? interfaces[index] : undefined;
  const mac = isRecord(iface) && typeof iface.mac === 'string' && MAC.test(iface.mac) ? iface.mac.toLowerCase() : undefined;
  const ips: string[] = [];
  for (const ip of Array.isArray(result.ips) ? result.ips : []) {
    if (!isRecord(ip) || typeof ip.address !== 'string') continue;
    if (typeof ip.interface === 'number' && index >= 0 && ip.interface !== index) continue;
    const parsed = parseIp(ip.address.split('/')[0] ?? '');
    if (parsed === undefined) continue;
    const text = formatIp(parsed.family, parsed.addr);
    if (!ips.includes(text)) ips.push(text);
  }
  const kept = ips.slice(0, MAX_ENDPOINT_ADDRS);
  return { ...(mac !== undefined ? { mac } : {}), ips: kept, dropped: ips.slice(MAX_ENDPOINT_ADDRS) };
}
