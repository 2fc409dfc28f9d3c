import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * Named network namespaces and links for the lab and the tests, through `ip` with argument
 * arrays (never a shell). The product datapath does not use this: it talks netlink through the
 * native addon.
 */
const run = promisify(execFile);

export const NETNS_DIR = '/var/run/netns';

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

export async function ip(args: string[], netns?: string): Promise<string> {
  const argv = netns === undefined ? args : ['-n', netns, ...args];
  const { stdout } = await run('ip', argv, { timeout: 15_000 });
  return stdout;
}

export async function addNetns(name: string): Promise<void> {
  await ip(['netns', 'add', name]);
}

/** Deletes a netns; a missing one is not an error (teardown must be idempotent). */
export async function deleteNetns(name: string): Promise<void> {
  await ip(['netns', 'del', name]).catch(() => undefined);
}

export async function listNetns(): Promise<string[]> {
  const out = await ip(['netns', 'list']).catch(() => '');
  return out.split('\n').map((line) => line.split(' ')[0] ?? '').filter((n) => n !== '');
}

export async function setLoopbackUp(netns: string): Promise<void> {
  await ip(['link', 'set', 'lo', 'up'], netns);
}

/** Runs argv inside a named netns (`ip netns exec`), returning its output. */
export async function execInNetns(netns: string, argv: string[], timeoutMs = 30_000): Promise<{ stdout: string; stderr: string }> {
  const [command, ...rest] = argv;
  if (command === undefined) throw new Error('execInNetns: empty command');
  const { stdout, stderr } = await run('ip', ['netns', 'exec', netns, command, ...rest], { timeout: timeoutMs, maxBuffer: 16 << 20 });
  return { stdout, stderr };
}
