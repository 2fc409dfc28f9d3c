/**
 * Minimal reader for Multus' `k8s.v1.cni.cncf.io/network-status` pod annotation: which interface
 * belongs to which network and carries which IPs. Kept in this one module until the shared Multus
 * parser in common/src exists; then this becomes a thin call into it.
 */
import { Reader } from './read.js';

export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';

export interface NetworkStatusEntry {
  /** "ns/nad" for attachments; the cluster default network's name otherwise. */
  network: string;
  interface: string | undefined;
  ips: string[];
  isDefault: boolean;
}

export function parseNetworkStatus(text: string, r: Reader, path: string): NetworkStatusEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    r.fail(path, 'must be JSON (a list of network status objects)');
    return [];
  }
  const list = r.array(raw, path) ?? [];
  const out: NetworkStatusEntry[] = [];
  list.forEach((item, i) => {
    const p = `${path}[${i}]`;
    const o = r.record(item, p);
    if (o === undefined) return;
    const ips = (r.array(o['ips'], `${p}.ips`) ?? [])
      .map((ip, j) => r.string(ip, `${p}.ips[${j}]`))
      .filter((ip): ip is string => ip !== undefined);
    out.push({
      network: r.requiredString(o['name'], `${p}.name`),
      interface: r.string(o['interface'], `${p}.interface`),
      ips,
      isDefault: r.boolean(o['default'], `${p}.default`) ?? false,
    });
  });
  return out;
}
