/**
 * An endpoint's shapers in its netns (docs/design.md "Shaping"; parameters in shaping.ts).
 * Egress: the shaper (TBF, or HTB with flow classes) as the pod interface's root qdisc.
 * Ingress: the shaper on a per-endpoint IFB and the IFB's ifindex in the endpoint config (the
 * ingress program redirects to it). With flow classes the config also tells the programs to
 * set skb->priority; the flag is set only once the HTB exists and cleared before it goes, so a
 * priority never names a class that is not there (HTB would then use its default leaf anyway).
 * When removing ingress shaping the config stops redirecting before the IFB goes away.
 */
import type { EndpointConfig } from './codec.js';
import type { DatapathAddon } from './port.js';
import {
  chooseShapingMode, flowClassParameters, ifbName, tbfParameters, type Bandwidth, type ShapingMode, type ShapingPreference,
} from './shaping.js';

/** The part of the driver's endpoint state shaping reads and changes. */
export interface ShapedEndpoint {
  endpointId: number;
  netnsPath: string | null;
  ifname: string;
  config: EndpointConfig;
  shaping: ShapingMode;
  bandwidth: Bandwidth | undefined;
}

/**
 * Brings the endpoint's shapers to `bandwidth`. Every config change goes through `writeConfig`
 * (the driver writes it to the endpoints map, or only keeps it while staging).
 */
export async function applyBandwidth(
  addon: DatapathAddon, preference: ShapingPreference, state: ShapedEndpoint, bandwidth: Bandwidth | undefined, writeConfig: (c: EndpointConfig) => void,
): Promise<void> {
  const mode = chooseShapingMode(addon.probeFeatures(), bandwidth, preference);
  const fair = mode === 'htb-fair';
  const ns = state.netnsPath;
  const egress = bandwidth?.egressBitsPerSecond;
  const ingress = bandwidth?.ingressBitsPerSecond;
  const hadEgress = state.bandwidth?.egressBitsPerSecond !== undefined;
  const hadIngress = state.config.ifbIfindex !== 0;
  const writeState = (c: Partial<EndpointConfig>): void => {
    state.config = { ...state.config, ...c };
    writeConfig(state.config);
  };
  const shape = (ifname: string, rate: number): Promise<void> =>
    fair ? addon.netlink.setFlowClasses(ns, ifname, flowClassParameters(rate)) : addon.netlink.setTbf(ns, ifname, tbfParameters(rate));

  const flags = { flowClassesEgress: fair && egress !== undefined, flowClassesIngress: fair && ingress !== undefined };
  const was = { flowClassesEgress: state.config.flowClassesEgress === true, flowClassesIngress: state.config.flowClassesIngress === true };
  // Flags off first for a direction that stops being an HTB.
  const staying = { flowClassesEgress: was.flowClassesEgress && flags.flowClassesEgress, flowClassesIngress: was.flowClassesIngress && flags.flowClassesIngress };
  if (staying.flowClassesEgress !== was.flowClassesEgress || staying.flowClassesIngress !== was.flowClassesIngress) writeState(staying);

  if (egress !== undefined) await shape(state.ifname, egress);
  else if (hadEgress) await addon.netlink.clearRootQdisc(ns, state.ifname);

  if (ingress !== undefined) {
    const ifindex = await addon.netlink.createIfb(ns, ifbName(state.endpointId));
    await shape(ifbName(state.endpointId), ingress);
    writeState({ ifbIfindex: ifindex, ...flags });
  } else {
    if (hadIngress || flags.flowClassesEgress !== staying.flowClassesEgress) writeState({ ifbIfindex: 0, ...flags });
    if (hadIngress) await addon.netlink.deleteLink(ns, ifbName(state.endpointId));
  }
  state.bandwidth = bandwidth;
  state.shaping = mode;
}

/** Removes the endpoint's shapers (detach); failures are collected, not thrown. */
export async function removeShapers(addon: DatapathAddon, state: ShapedEndpoint, failures: unknown[]): Promise<void> {
  if (state.bandwidth?.egressBitsPerSecond !== undefined) {
    await addon.netlink.clearRootQdisc(state.netnsPath, state.ifname).catch((e: unknown) => failures.push(e));
  }
  if (state.config.ifbIfindex !== 0) {
    await addon.netlink.deleteLink(state.netnsPath, ifbName(state.endpointId)).catch((e: unknown) => failures.push(e));
  }
}
