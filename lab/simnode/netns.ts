import { listNetns, netnsPath, runChecked } from '../../test/support/netns.js';

/**
 * The few netns operations the simulated node needs beyond the shared helpers in
 * test/support/netns.ts (argv arrays, never a shell). The product datapath does not use these:
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
