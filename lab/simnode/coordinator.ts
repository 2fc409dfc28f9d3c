/**
 * A STAND-IN FOR SPIDERPOOL'S COORDINATOR, which cannot be built here (its Go module is not
 * reachable from this machine). Chained after `weir` in a NAD (`{"type": "weir-lab-coordinator"}`),
 * the simulated kubelet runs it in-process (chain.ts) instead of a plugin binary. It imitates
 * what the coordinator does in underlay mode for node and Service traffic, and nothing else:
 *
 * - ADD: a veth pair whose pod end is `veth0` (up, no address of its own) and whose node end
 *   (`wc` + the sandbox id) is in the node's netns; in the pod a route to the node's IP over veth0
 *   with the pod IP as source, and one to the Service CIDR (config `serviceCidr`, if given) via
 *   the node's IP over veth0, same source; on the node a host route to the pod IP over its end.
 *   Both sides get a permanent neighbour entry for the other (the coordinator sets them too;
 *   the lab's pods answer ARP only for addresses on the asking interface, setStrictArp, and
 *   veth0 has none). The node's IP is config `nodeIp`, else the first global IPv4 address of
 *   the node's netns. prevResult is passed on unchanged, as the coordinator does.
 * - DEL: removes the node end (which takes veth0, the routes and the neighbour entries with it);
 *   a pair already gone is not an error.
 *
 * Not imitated: overlay mode, MAC prefixes, IP conflict and gateway checks, policy routing tables,
 * the tuning of the node's sysctls, IPv6. weir's CNI ADD never sees veth0: the agent must find it.
 */
import { isIP } from 'node:net';
import { parseCidr } from '../../common/src/ip.js';
import { isRecord } from '../../common/src/records.js';
import { errorMessage } from '../../common/src/errors.js';
import { ip } from './netns.js';

export const COORDINATOR_STANDIN_TYPE = 'weir-lab-coordinator';
export const POD_END = 'veth0';

export type StandInOutcome = { ok: true; result: Record<string, unknown> | undefined } | { ok: false; message: string };

export interface StandInContext {
  containerId: string;
  /** Name of the pod's netns. */
  podNetns: string;
  /** Name of the node's netns (where the node end and its route go). */
  nodeNetns: string;
}

/** The node end's name: stable per sandbox, under IFNAMSIZ. */
export function nodeEndName(containerId: string): string {
  return `wc${containerId.replace(/[^0-9a-f]/gi, '').slice(0, 12)}`;
}

export async function coordinatorStandIn(command: string, config: Record<string, unknown>, ctx: StandInContext): Promise<StandInOutcome> {
  try {
    if (command === 'DEL') {
      await removePair(ctx);
      return { ok: true, result: undefined };
    }
    if (command !== 'ADD') return { ok: true, result: isRecord(config.prevResult) ? config.prevResult : undefined };
    return await add(config, ctx);
  } catch (error) {
    return { ok: false, message: `${COORDINATOR_STANDIN_TYPE} ${command}: ${errorMessage(error)}` };
  }
}

async function add(config: Record<string, unknown>, ctx: StandInContext): Promise<StandInOutcome> {
  const prev = config.prevResult;
  const podIp = isRecord(prev) ? firstIpv4(prev.ips) : undefined;
  if (podIp === undefined) return { ok: false, message: `${COORDINATOR_STANDIN_TYPE}: prevResult has no IPv4 address; chain it after the interface plugin and weir` };
  const nodeIp = typeof config.nodeIp === 'string' ? config.nodeIp : await firstGlobalIpv4(ctx.nodeNetns);
  if (nodeIp === undefined || isIP(nodeIp) !== 4) {
    return { ok: false, message: `${COORDINATOR_STANDIN_TYPE}: no node IP (config nodeIp ${JSON.stringify(config.nodeIp)}; netns ${ctx.nodeNetns} has no global IPv4 address): give the node an address` };
  }
  let serviceCidr: string | undefined;
  if (config.serviceCidr !== undefined) {
    if (typeof config.serviceCidr !== 'string' || parseCidr(config.serviceCidr) === undefined) {
      return { ok: false, message: `${COORDINATOR_STANDIN_TYPE}: serviceCidr ${JSON.stringify(config.serviceCidr)} is not a CIDR` };
    }
    serviceCidr = config.serviceCidr;
  }
  const hostEnd = nodeEndName(ctx.containerId);
  await ip(['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', POD_END, 'netns', ctx.podNetns], ctx.nodeNetns);
  try {
    await ip(['link', 'set', hostEnd, 'up'], ctx.nodeNetns);
    await ip(['link', 'set', POD_END, 'up'], ctx.podNetns);
    const hostMac = await macOf(ctx.nodeNetns, hostEnd);
    const podMac = await macOf(ctx.podNetns, POD_END);
    await ip(['neigh', 'replace', nodeIp, 'lladdr', hostMac, 'dev', POD_END, 'nud', 'permanent'], ctx.podNetns);
    await ip(['route', 'add', `${nodeIp}/32`, 'dev', POD_END, 'src', podIp], ctx.podNetns);
    if (serviceCidr !== undefined) await ip(['route', 'add', serviceCidr, 'via', nodeIp, 'dev', POD_END, 'onlink', 'src', podIp], ctx.podNetns);
    await ip(['neigh', 'replace', podIp, 'lladdr', podMac, 'dev', hostEnd, 'nud', 'permanent'], ctx.nodeNetns);
    await ip(['route', 'add', `${podIp}/32`, 'dev', hostEnd, 'src', nodeIp], ctx.nodeNetns);
  } catch (error) {
    await removePair(ctx).catch(() => undefined);
    throw error;
  }
  return { ok: true, result: isRecord(prev) ? prev : undefined };
}

async function removePair(ctx: StandInContext): Promise<void> {
  const hostEnd = nodeEndName(ctx.containerId);
  const exists = await ip(['link', 'show', 'dev', hostEnd], ctx.nodeNetns).then(() => true, () => false);
  if (exists) await ip(['link', 'del', hostEnd], ctx.nodeNetns);
}

function firstIpv4(ips: unknown): string | undefined {
  if (!Array.isArray(ips)) return undefined;
  for (const entry of ips) {
    if (!isRecord(entry) || typeof entry.address !== 'string') continue;
    const address = entry.address.split('/')[0] ?? '';
    if (isIP(address) === 4) return address;
  }
  return undefined;
}

async function firstGlobalIpv4(netns: string): Promise<string | undefined> {
  const parsed: unknown = JSON.parse(await ip(['-j', '-4', 'addr', 'show', 'scope', 'global'], netns));
  if (!Array.isArray(parsed)) return undefined;
  for (const link of parsed) {
    if (!isRecord(link) || !Array.isArray(link.addr_info)) continue;
    for (const a of link.addr_info) if (isRecord(a) && typeof a.local === 'string') return a.local;
  }
  return undefined;
}

async function macOf(netns: string, ifname: string): Promise<string> {
  const parsed: unknown = JSON.parse(await ip(['-j', 'link', 'show', 'dev', ifname], netns));
  const first: unknown = Array.isArray(parsed) ? parsed[0] : undefined;
  if (!isRecord(first) || typeof first.address !== 'string') throw new Error(`no MAC address for ${ifname} in netns ${netns}`);
  return first.address;
}
