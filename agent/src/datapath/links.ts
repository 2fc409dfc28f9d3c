/**
 * Links in an enforced pod's netns that no CNI ADD told Weir about: a plugin chained after weir
 * (Spiderpool's coordinator adds `veth0` for node and Service traffic) creates them, so weir's
 * ADD never sees them, and without programs they would carry the pod's traffic past policy.
 *
 * Every such link is adopted: the same program pair is attached with the owning endpoint's id
 * and ADOPTED_CLASSID_BIT (filters.ts), so its traffic is judged as that endpoint's, with the
 * same source checks on its IPs (not its MAC, which no CNI result named: bpf/include/antispoof.h).
 * Left alone: loopback; links that are down (nothing passes; the next check adopts them once up);
 * other endpoints' interfaces; IFBs (they carry only traffic redirected to them, such as Weir's
 * ingress shaping, already judged on the way in; programs there would judge it twice, as if the
 * pod had sent it); and a link with a global address that is not
 * the owner's, which belongs to another network of the pod (a Multus attachment Weir does not
 * enforce): adopting it would drop all its traffic as spoofed. A pod cannot add such an address
 * itself without CAP_NET_ADMIN, which the webhook refuses on enforced pods. A plugin's IPAM sets
 * a link up before it adds the address, and the link watch (agent/src/endpoints/link-watches.ts)
 * may adopt the link in between: when the address arrives (the watch hears that too), the link is
 * released again (Datapath.enforceLinks), so where it settles does not depend on timing.
 */
import { formatIp, parseIp } from '../../../common/src/ip.js';

/** A link as native/index.ts NetlinkApi.links reports it. */
export interface PodLink {
  name: string;
  kind: string;
  loopback: boolean;
  up: boolean;
  /** Global-scope addresses only. */
  addresses: string[];
}

/** foreignAddress: left alone for carrying another network's address (an adopted link is then released). */
export type LinkVerdict = { name: string; adopt: true } | { name: string; adopt: false; reason: string; foreignAddress?: true };

const canonical = (ip: string): string => {
  const p = parseIp(ip);
  return p === undefined ? ip : formatIp(p.family, p.addr);
};

/**
 * known: interface names Weir already enforces or owns in this netns (endpoints and their IFBs).
 * ownerAddresses: the owning endpoint's addresses (its CNI result).
 */
export function classifyLinks(links: readonly PodLink[], known: ReadonlySet<string>, ownerAddresses: readonly string[]): LinkVerdict[] {
  const own = new Set(ownerAddresses.map(canonical));
  const out: LinkVerdict[] = [];
  for (const l of links) {
    if (l.loopback || known.has(l.name) || l.kind === 'ifb') continue;
    if (!l.up) {
      out.push({ name: l.name, adopt: false, reason: 'down' });
      continue;
    }
    const foreign = l.addresses.map(canonical).filter((a) => !own.has(a));
    if (foreign.length > 0) {
      out.push({ name: l.name, adopt: false, reason: `carries ${foreign.join(', ')}, not the endpoint's address (another network's interface)`, foreignAddress: true });
    }
    else out.push({ name: l.name, adopt: true });
  }
  return out;
}
