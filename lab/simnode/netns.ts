import { listNetns, netnsPath, runChecked } from '../../harness/support/netns.js';

/**
 * The few netns operations the simulated node needs beyond the shared helpers in
 * harness/support/netns.ts (argv arrays, never a shell). The product datapath does not use these:
 * it talks netlink through the native addon.
 */
export { listNetns, netnsPath };

export async function ip(args: readonly string[], netns?: string): Promise<string> {
  return runChecked(netns === undefined ? ['ip', ...args] : ['ip', '-n', netns, ...args], 15_000);
}

export async function addNetns(name: string): Promise<void> {
  await ip(['netns', 'add', name]);
}

/** Deletes a netns; a missing one is not an error (teardown must be idempotent). */
export async function deleteNetns(name: string): Promise<void> {
  await ip(['netns', 'del', name]).catch(() => undefined);
}

export async function setLoopbackUp(netns: string): Promise<void> {
  await ip(['link', 'set', 'lo', 'up'], netns);
}

/**
 * ARP for multi-homed pods: with the kernel defaults every interface answers ARP for every
 * address of the netns ("ARP flux"). A pod whose eth0 and net1 share one L2 (the lab cables
 * every network to the same switch) would then take traffic for its eth0 address on net1, and
 * the policy of the wrong interface would judge it. Answer only on the interface that owns the
 * address and announce from it, as multi-NIC underlay hosts are configured.
 */
export async function setStrictArp(netns: string): Promise<void> {
  await runChecked(['ip', 'netns', 'exec', netns, 'sysctl', '-q', '-w',
    'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.default.arp_ignore=1',
    'net.ipv4.conf.all.arp_announce=2', 'net.ipv4.conf.default.arp_announce=2'], 15_000);
}
