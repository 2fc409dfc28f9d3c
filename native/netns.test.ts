// The addon's netns-facing half with real packets: tc attach/query/replace/detach on a veth inside
// network namespaces (ping proves the drop program works and detach restores traffic), rtnetlink
// IFB and TBF (iperf3 proves the TBF rate), and the error shape for a missing interface or netns.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePrivileged } from '../test/support/privileged.js';
import { loadNative, NativeError, type BpfObject, type NativeAddon } from './index.js';

const run = promisify(execFile);
const OBJ = 'build/bpf/smoke.bpf.o';
// Unique per run so parallel helpers and stale runs never collide.
const tag = `h3a${process.pid % 100000}`;
const nsA = `${tag}a`;
const nsB = `${tag}b`;
const pathA = `/var/run/netns/${nsA}`;
const pathB = `/var/run/netns/${nsB}`;
const ifA = 'h3aveth0';
const ifB = 'h3aveth1';
const ipA = '10.213.7.1';
const ipB = '10.213.7.2';

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: 'pipe' });
};

async function pings(ns: string, dst: string): Promise<boolean> {
  try {
    await run('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', dst]);
    return true;
  } catch {
    return false;
  }
}

/** Runs iperf3 from nsB to a one-shot server in nsA; returns received bits/s. */
async function iperf(seconds: number): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', nsA, 'iperf3', '-s', '-1', '-B', ipA, '-p', '5213'], { stdio: 'ignore' });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const { stdout } = await run('ip', ['netns', 'exec', nsB, 'iperf3', '-c', ipA, '-p', '5213', '-t', String(seconds), '-J'], {
          maxBuffer: 16 << 20,
        });
        const report: unknown = JSON.parse(stdout);
        const bps = (report as { end?: { sum_received?: { bits_per_second?: unknown } } }).end?.sum_received?.bits_per_second;
        if (typeof bps !== 'number') throw new Error('iperf3 report without end.sum_received');
        return bps;
      } catch (e) {
        if (attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 100)); // server not listening yet
      }
    }
  } finally {
    server.kill();
  }
}

describePrivileged('native addon in network namespaces (tc, rtnetlink)', () => {
  let addon: NativeAddon;
  let obj: BpfObject;

  beforeAll(() => {
    execFileSync('make', ['-s', 'native', OBJ], { stdio: 'inherit' });
    addon = loadNative();
    obj = addon.openObject({ path: OBJ });
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip('link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB);
    ip('-n', nsA, 'addr', 'add', `${ipA}/24`, 'dev', ifA);
    ip('-n', nsB, 'addr', 'add', `${ipB}/24`, 'dev', ifB);
    ip('-n', nsA, 'link', 'set', ifA, 'up');
    ip('-n', nsB, 'link', 'set', ifB, 'up');
    ip('-n', nsA, 'link', 'set', 'lo', 'up');
    ip('-n', nsB, 'link', 'set', 'lo', 'up');
  });

  afterAll(() => {
    // Unset when beforeAll failed first.
    (obj as typeof obj | undefined)?.close();
    for (const ns of [nsA, nsB]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  });

  it('attaches, queries, replaces and detaches a tc program inside a netns', async () => {
    const drop = obj.program('smoke_drop');
    const pass = obj.program('smoke_pass');
    const target = { netnsPath: pathA, ifname: ifA, direction: 'ingress' as const };
    expect(await pings(nsB, ipA)).toBe(true);
    expect(await addon.tc.query(target)).toBeUndefined(); // no clsact yet

    expect(await addon.tc.attach({ ...target, program: drop })).toEqual({ progId: drop.id });
    expect(await addon.tc.query(target)).toEqual({ progId: drop.id });
    expect(await addon.tc.query({ ...target, direction: 'egress' })).toBeUndefined();
    expect(await pings(nsB, ipA)).toBe(false);

    // Same handle/priority again without replace: EEXIST, with the step and the target named.
    const dup = await addon.tc.attach({ ...target, program: pass }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(NativeError);
    expect(dup).toMatchObject({ step: 'bpf_tc_attach', errno: 17 });
    expect((dup as Error).message).toBe(`bpf_tc_attach on ${ifA} in ${pathA}: File exists (errno 17)`);

    expect(await addon.tc.attach({ ...target, program: pass, replace: true })).toEqual({ progId: pass.id });
    expect(await addon.tc.query(target)).toEqual({ progId: pass.id });
    expect(await pings(nsB, ipA)).toBe(true);

    // A second filter at another priority, and egress; then remove everything.
    await addon.tc.attach({ ...target, program: drop, priority: 2 });
    expect(await addon.tc.query({ ...target, priority: 2 })).toEqual({ progId: drop.id });
    expect(await pings(nsB, ipA)).toBe(true); // pass (prio 1) runs first and decides
    expect(await addon.tc.detach(target)).toBe(true);
    expect(await addon.tc.detach(target)).toBe(false);
    expect(await pings(nsB, ipA)).toBe(false); // now prio 2 (drop) is the only one
    expect(await addon.tc.detach({ ...target, priority: 2 })).toBe(true);
    expect(await pings(nsB, ipA)).toBe(true);

    await addon.tc.attach({ ...target, direction: 'egress', program: drop });
    expect(await pings(nsB, ipA)).toBe(false);
    await addon.tc.destroyClsact({ netnsPath: pathA, ifname: ifA });
    await addon.tc.destroyClsact({ netnsPath: pathA, ifname: ifA }); // idempotent
    expect(await addon.tc.query({ ...target, direction: 'egress' })).toBeUndefined();
    expect(await pings(nsB, ipA)).toBe(true);
  });

  it('keeps the Node thread in its own netns and reports missing interfaces and netns', async () => {
    const before = execFileSync('readlink', [`/proc/${process.pid}/task/${process.pid}/ns/net`]).toString();
    expect(await addon.netlink.linkIndex(pathA, ifA)).toBeGreaterThan(0);
    expect(await addon.netlink.linkIndex(null, ifA)).toBeUndefined(); // not in the host netns
    expect(await addon.netlink.linkIndex(pathA, 'h3anope')).toBeUndefined();
    expect(execFileSync('readlink', [`/proc/${process.pid}/task/${process.pid}/ns/net`]).toString()).toBe(before);

    const prog = obj.program('smoke_drop');
    const missingIf = await addon.tc.attach({ netnsPath: pathA, ifname: 'h3anope', direction: 'ingress', program: prog }).catch((e: unknown) => e);
    expect(missingIf).toBeInstanceOf(NativeError);
    expect(missingIf).toMatchObject({ step: 'if_nametoindex', errno: 19 });
    expect((missingIf as Error).message).toContain(`on h3anope in ${pathA}`);
    const missingNs = await addon.tc.query({ netnsPath: '/var/run/netns/h3a-none', ifname: 'lo', direction: 'ingress' }).catch((e: unknown) => e);
    expect(missingNs).toMatchObject({ step: 'open netns', errno: 2 });
  });

  it('creates and deletes an IFB idempotently and manages a TBF root qdisc', async () => {
    const idx = await addon.netlink.createIfb(pathA, 'h3aifb0');
    expect(idx).toBeGreaterThan(0);
    expect(await addon.netlink.createIfb(pathA, 'h3aifb0')).toBe(idx);
    expect(await addon.netlink.linkIndex(pathA, 'h3aifb0')).toBe(idx);
    const link = execFileSync('ip', ['-n', nsA, '-o', 'link', 'show', 'h3aifb0']).toString();
    expect(link).toMatch(/[<,]UP[,>]/);

    await addon.netlink.setTbf(pathA, 'h3aifb0', { rateBitsPerSecond: 50_000_000, burstBytes: 32_000, limitBytes: 100_000 });
    expect(await addon.netlink.rootQdisc(pathA, 'h3aifb0')).toEqual({ kind: 'tbf', rateBitsPerSecond: 50_000_000 });
    // Replace in place with a new rate, then a rate above 2^32 bytes/s (TCA_TBF_RATE64).
    await addon.netlink.setTbf(pathA, 'h3aifb0', { rateBitsPerSecond: 20_000_000, burstBytes: 16_000, limitBytes: 50_000 });
    expect(await addon.netlink.rootQdisc(pathA, 'h3aifb0')).toEqual({ kind: 'tbf', rateBitsPerSecond: 20_000_000 });
    await addon.netlink.setTbf(pathA, 'h3aifb0', { rateBitsPerSecond: 40_000_000_000, burstBytes: 1_000_000, limitBytes: 2_000_000 });
    expect(await addon.netlink.rootQdisc(pathA, 'h3aifb0')).toEqual({ kind: 'tbf', rateBitsPerSecond: 40_000_000_000 });
    await addon.netlink.clearRootQdisc(pathA, 'h3aifb0');
    await addon.netlink.clearRootQdisc(pathA, 'h3aifb0');
    expect((await addon.netlink.rootQdisc(pathA, 'h3aifb0'))?.kind).not.toBe('tbf');

    expect(await addon.netlink.deleteLink(pathA, 'h3aifb0')).toBe(true);
    expect(await addon.netlink.deleteLink(pathA, 'h3aifb0')).toBe(false);
    await expect(addon.netlink.setTbf(pathA, 'h3anope', { rateBitsPerSecond: 1e6, burstBytes: 2000, limitBytes: 4000 })).rejects.toMatchObject({
      step: 'if_nametoindex',
      errno: 19,
    });
  });

  it.each([10_000_000, 100_000_000])('shapes to %d bit/s with TBF (iperf3, ±15%%)', async (rate) => {
    // Weir-style bounded burst: ~5 ms at the rate, never below two full frames.
    const burstBytes = Math.max(2 * 1514, Math.round((rate / 8) * 0.005));
    const limitBytes = burstBytes + Math.round((rate / 8) * 0.05); // 50 ms of queue
    await addon.netlink.setTbf(pathB, ifB, { rateBitsPerSecond: rate, burstBytes, limitBytes });
    try {
      const bps = await iperf(3);
      process.stdout.write(`TBF ${rate / 1e6} Mbit/s: measured ${(bps / 1e6).toFixed(2)} Mbit/s (${((bps / rate) * 100).toFixed(1)}%)\n`);
      expect(bps).toBeGreaterThan(rate * 0.85);
      expect(bps).toBeLessThan(rate * 1.15);
    } finally {
      await addon.netlink.clearRootQdisc(pathB, ifB);
    }
  });
});
