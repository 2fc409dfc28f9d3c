/**
 * Weir's programs in the tc hooks of a link (filters.ts says which filter is Weir's), and the
 * node's addresses the programs on adopted links let through (bpf/include/nodeaddr.h).
 */
import { parseIp } from '../../../common/src/ip.js';
import { addrBytes } from './addr.js';
import { PROGRAMS } from './codec.js';
import { describeFilter, hookState, inWeirInstance } from './filters.js';
import type { BpfMapPort, BpfObjectPort, DatapathAddon } from './port.js';

export const DIRECTIONS = ['ingress', 'egress'] as const;

/** How long NodeAddresses trusts the addresses it last wrote. */
const NODE_ADDRS_TTL_MS = 10_000;
/** bpf/include/nodeaddr.h WEIR_MAX_NODE_ADDRS. */
export const MAX_NODE_ADDRS = 256;
/** kube-proxy's IPVS mode binds every ClusterIP to this link on the node: those are Services, not the node. */
const SERVICE_LINKS = new Set(['kube-ipvs0']);

/**
 * Puts the node's shared programs in Weir's slot on both hooks of a link (told apart per
 * endpoint by the filter's classid, bpf/weir.bpf.c) and first removes every filter that would
 * run ahead of them (filters.ts). `force`: attach even where the slot looks right (CNI ADD
 * replaces in place). Returns whether anything was attached and what was found tampered.
 */
export async function enforceHooks(
  addon: DatapathAddon, object: BpfObjectPort, netnsPath: string | null, ifname: string, classid: number, force: boolean,
): Promise<{ attached: boolean; tampered: string[] }> {
  const tampered: string[] = [];
  let attached = false;
  for (const direction of DIRECTIONS) {
    const target = { netnsPath, ifname, direction };
    const program = object.program(PROGRAMS[direction]);
    const hook = hookState(await addon.tc.list(target), { progId: program.id, classid });
    for (const f of hook.ahead) {
      // A filter in Weir's own cls_bpf instance goes by handle, so Weir's keeps running; any
      // other classifier at Weir's priority cannot hold Weir's filter and goes whole.
      await addon.tc.deleteFilter({ ...target, filter: f, whole: !inWeirInstance(f) });
      tampered.push(`${direction}: ${describeFilter(f)} ahead of Weir's, removed`);
    }
    if (hook.slot === 'foreign') tampered.push(`${direction}: Weir's slot held another program or endpoint, replaced`);
    if (force || hook.slot !== 'ok') {
      await addon.tc.attach({ ...target, program, replace: true, classid });
      attached = true;
    }
  }
  return { attached, tampered };
}

/**
 * Detaches Weir's filters from both hooks of a link and removes clsact when no filter is left
 * on it (a detached endpoint leaves nothing behind; someone else's filter keeps it). Failures are
 * collected, not thrown: the netns may be going away.
 */
export async function detachHooks(addon: DatapathAddon, netnsPath: string | null, ifname: string, failures: unknown[]): Promise<void> {
  for (const direction of DIRECTIONS) {
    await addon.tc.detach({ netnsPath, ifname, direction }).catch((e: unknown) => failures.push(e));
  }
  try {
    for (const direction of DIRECTIONS) {
      if ((await addon.tc.list({ netnsPath, ifname, direction })).length > 0) return;
    }
    await addon.tc.destroyClsact({ netnsPath, ifname });
  } catch (e) {
    failures.push(e);
  }
}

/**
 * Writes the node's global addresses (its host netns, minus Service links) for the programs on
 * adopted links (bpf/include/nodeaddr.h): what the pod exchanges with its own node always passes.
 */
export class NodeAddresses {
  private writtenAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly addon: DatapathAddon, private readonly nodeNetnsPath: string | null) {}

  async refresh(map: BpfMapPort): Promise<void> {
    if (Date.now() - this.writtenAt < NODE_ADDRS_TTL_MS) return;
    const wanted = new Map<string, Buffer>();
    for (const l of await this.addon.netlink.links(this.nodeNetnsPath)) {
      if (SERVICE_LINKS.has(l.name)) continue;
      for (const ip of l.addresses) {
        const p = parseIp(ip);
        if (p === undefined || wanted.size >= MAX_NODE_ADDRS) continue;
        const key = addrBytes(p.family, p.addr);
        wanted.set(key.toString('hex'), key);
      }
    }
    for (const k of map.keys()) if (!wanted.has(k.toString('hex'))) map.delete(k);
    for (const key of wanted.values()) map.update(key, Buffer.from([1]));
    this.writtenAt = Date.now();
  }
}
