/**
 * What the pod webhook relies on when it drops NET_RAW on enforced interfaces
 * (webhook/src/decide/pod-security.ts), checked on this kernel with the real iputils ping:
 * a process without NET_RAW in its bounding set (as in a container whose NET_RAW was dropped)
 * cannot open a raw socket, so ping fails in a network namespace with the kernel's default
 * net.ipv4.ping_group_range ("1 0"), and works once the pod's netns carries the value the webhook
 * sets, through ICMP datagram sockets. Each case runs in its own `unshare --net` namespace.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PING_GROUP_RANGE } from '../../webhook/src/decide/pod-security.js';
import { describePrivileged } from '../support/privileged.js';

const run = promisify(execFile);

/**
 * In a fresh netns: loopback up, ping_group_range set to `range` (or left at the kernel default),
 * then one ping to 127.0.0.1 with NET_RAW removed from the bounding and inheritable sets. The
 * script is fixed; the values arrive as positional parameters.
 */
const SCRIPT = [
  'set -e',
  'ip link set lo up',
  'if [ -n "$1" ]; then sysctl -q -w "net.ipv4.ping_group_range=$1"; fi',
  'set +e',
  'setpriv --bounding-set=-net_raw --inh-caps=-net_raw "$2" -c 1 -W 2 127.0.0.1',
].join('\n');

async function pingWithoutNetRaw(ping: string, range: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run('unshare', ['--net', '--', 'sh', '-c', SCRIPT, 'sh', range, ping], { timeout: 15_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err: unknown) {
    const e = err as { code?: unknown; stdout?: unknown; stderr?: unknown };
    const text = (v: unknown): string => (typeof v === 'string' ? v : '');
    return { code: typeof e.code === 'number' ? e.code : -1, out: text(e.stdout) + text(e.stderr) };
  }
}

describePrivileged('ping without NET_RAW (the sysctl the pod webhook sets)', () => {
  let dir = '';
  let ping = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weir-ping-'));
    // A copy carries no file capabilities (Debian's ping has cap_net_raw=ep), like the ping of a
    // container image whose process runs without NET_RAW.
    ping = join(dir, 'ping');
    await copyFile('/usr/bin/ping', ping);
  });

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('fails with the kernel default ping_group_range: the raw socket is refused without NET_RAW', async () => {
    const r = await pingWithoutNetRaw(ping, '');
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toMatch(/SOCK_RAW/);
    expect(r.out).toMatch(/Operation not permitted/);
  });

  it(`works with net.ipv4.ping_group_range="${PING_GROUP_RANGE.value}"`, async () => {
    const r = await pingWithoutNetRaw(ping, PING_GROUP_RANGE.value);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/1 packets transmitted, 1 received/);
  });
});
