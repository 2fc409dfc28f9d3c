/**
 * "Pods" for datapath suites and benchmarks: network namespaces on macvlan (bridge mode) over a
 * veth uplink that lives in a "node" namespace, each with eth0 addressed and up. Everything is
 * created through a NetLab, so it is removed with the lab.
 */
import type { EndpointAddresses } from '../../agent/src/datapath/codec.js';
import { runChecked, type NetLab } from '../support/netns.js';

export interface MacvlanPods<P extends string> {
  node: string;
  /** Full netns name per pod. */
  ns: Record<P, string>;
}

export async function macvlanPods<P extends string>(
  lab: NetLab,
  pods: Readonly<Record<P, { ipv4: string; ipv6?: string }>>,
): Promise<MacvlanPods<P>> {
  const node = await lab.netns('node');
  await lab.veth('up0', 'up1', { ns: node });
  const ns = {} as Record<P, string>;
  for (const pod of Object.keys(pods) as P[]) {
    const addr = pods[pod];
    const name = await lab.netns(pod);
    ns[pod] = name;
    await runChecked(['ip', '-n', node, 'link', 'add', `mv${pod}`, 'link', 'up0', 'type', 'macvlan', 'mode', 'bridge']);
    await runChecked(['ip', '-n', node, 'link', 'set', `mv${pod}`, 'netns', name]);
    await runChecked(['ip', '-n', name, 'link', 'set', `mv${pod}`, 'name', 'eth0']);
    await runChecked(['ip', '-n', name, 'addr', 'add', `${addr.ipv4}/24`, 'dev', 'eth0']);
    if (addr.ipv6 !== undefined) await runChecked(['ip', '-n', name, 'addr', 'add', `${addr.ipv6}/64`, 'dev', 'eth0', 'nodad']);
    await runChecked(['ip', '-n', name, 'link', 'set', 'eth0', 'up']);
  }
  return { node, ns };
}

/**
 * What the CNI result would report for `ifname` in netns `ns`: its MAC and its global addresses
 * (read back from the netns, which the test itself configured). Datapath suites attach with
 * these, as the agent does with the CNI result, so egress passes the anti-spoofing check.
 */
export async function interfaceAddresses(ns: string, ifname = 'eth0'): Promise<EndpointAddresses> {
  const out = JSON.parse(await runChecked(['ip', '-n', ns, '-j', 'addr', 'show', 'dev', ifname])) as Array<{
    address?: string;
    addr_info?: Array<{ local?: string; scope?: string }>;
  }>;
  const link = out[0];
  if (link?.address === undefined) throw new Error(`no MAC for ${ifname} in ${ns}`);
  const ips = (link.addr_info ?? []).filter((a) => a.scope === 'global' && a.local !== undefined).map((a) => a.local ?? '');
  return { mac: link.address, ips };
}
