import { addNetns, deleteNetns, ip, setLoopbackUp } from './netns.js';

/**
 * The lab's underlay: one network namespace holding a bridge that stands in for the switch, and
 * per simulated node a network namespace with an uplink veth plugged into that bridge. NADs name
 * the uplink (`master`), the same name on every node, as real clusters do.
 */
export const UPLINK = 'uplink0';

export interface UnderlayNames {
  /** netns of the switch */
  switchNetns: string;
  nodeNetns(node: string): string;
}

export function underlayNames(prefix: string): UnderlayNames {
  return {
    switchNetns: `${prefix}-switch`,
    nodeNetns: (node) => `${prefix}-node-${node}`,
  };
}

export async function createSwitch(names: UnderlayNames): Promise<void> {
  await addNetns(names.switchNetns);
  await setLoopbackUp(names.switchNetns);
  await ip(['link', 'add', 'br0', 'type', 'bridge'], names.switchNetns);
  await ip(['link', 'set', 'br0', 'up'], names.switchNetns);
}

/** A node netns whose `uplink0` is cabled to the switch; `index` keeps port names unique. */
export async function addNodeToSwitch(names: UnderlayNames, node: string, index: number): Promise<string> {
  const nodeNetns = names.nodeNetns(node);
  const port = `port${index}`;
  await addNetns(nodeNetns);
  await setLoopbackUp(nodeNetns);
  await ip(['link', 'add', port, 'netns', names.switchNetns, 'type', 'veth', 'peer', 'name', UPLINK, 'netns', nodeNetns]);
  await ip(['link', 'set', port, 'master', 'br0'], names.switchNetns);
  await ip(['link', 'set', port, 'up'], names.switchNetns);
  await ip(['link', 'set', UPLINK, 'up'], nodeNetns);
  return nodeNetns;
}

export async function destroyUnderlay(names: UnderlayNames, nodes: string[]): Promise<void> {
  for (const node of nodes) await deleteNetns(names.nodeNetns(node));
  await deleteNetns(names.switchNetns);
}
