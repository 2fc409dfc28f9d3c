/**
 * Bandwidth through the real datapath: iperf3 between two macvlan pods, Weir's programs
 * attached on pod a with a rate in one direction at a time. Egress = TBF root on a's eth0;
 * ingress = a's ingress program redirects to a per-pod IFB with TBF. Asserted within ±15%.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePrivileged } from '../support/privileged.js';
import { NetLab, execInNetns, netnsPath, runChecked } from '../support/netns.js';
import { endpoint, openHarness, type Harness } from './harness.js';
import { interfaceAddresses } from './pods.js';

const IP = { a: '10.98.0.1', b: '10.98.0.2' } as const;
const EP = 1;
const SECONDS = 4;

interface Measurement { averageBps: number; firstSecondBps: number }

describePrivileged('bandwidth shaping through the datapath (iperf3)', () => {
  const lab = new NetLab('wdps');
  let h: Harness;
  const ns = { node: '', a: '', b: '' };
  const results: string[] = [];

  /** iperf3 from a to b; reverse = b sends to a (a's ingress). Receiver-side figures. */
  async function iperf(reverse: boolean): Promise<Measurement> {
    const args = ['iperf3', '-c', IP.b, '-t', String(SECONDS), '-J', ...(reverse ? ['-R'] : [])];
    // One retry for an iperf3 that errors or hangs (seen once under heavy load on the shared
    // 2-core machine); the measurement itself is never retried.
    let r = await execInNetns(ns.a, args, 20_000).catch((e: unknown) => ({ code: -1, stdout: '', stderr: String(e) }));
    if (r.code !== 0) r = await execInNetns(ns.a, args, 20_000);
    if (r.code !== 0) throw new Error(`iperf3 exited ${r.code}: ${r.stderr} ${r.stdout.slice(0, 800)}`);
    const j = JSON.parse(r.stdout) as {
      error?: string;
      end?: { sum_received?: { bits_per_second: number } };
      intervals?: Array<{ sum: { bits_per_second: number } }>;
    };
    const average = j.end?.sum_received?.bits_per_second;
    if (average === undefined) throw new Error(`iperf3 reported no result: ${j.error ?? r.stdout.slice(0, 400)}`);
    return { averageBps: average, firstSecondBps: j.intervals?.[0]?.sum.bits_per_second ?? 0 };
  }

  beforeAll(async () => {
    await lab.sweep();
    h = openHarness('shaping');
    ns.node = await lab.netns('node');
    await lab.veth('up0', 'up1', { ns: ns.node });
    for (const pod of ['a', 'b'] as const) {
      ns[pod] = await lab.netns(pod);
      await runChecked(['ip', '-n', ns.node, 'link', 'add', `mv${pod}`, 'link', 'up0', 'type', 'macvlan', 'mode', 'bridge']);
      await runChecked(['ip', '-n', ns.node, 'link', 'set', `mv${pod}`, 'netns', ns[pod]]);
      await runChecked(['ip', '-n', ns[pod], 'link', 'set', `mv${pod}`, 'name', 'eth0']);
      await runChecked(['ip', '-n', ns[pod], 'addr', 'add', `${IP[pod]}/24`, 'dev', 'eth0']);
      await runChecked(['ip', '-n', ns[pod], 'link', 'set', 'eth0', 'up']);
    }
    lab.spawnInNetns(ns.b, ['iperf3', '-s']);
    for (let i = 0; i < 50; i++) {
      const probe = await execInNetns(ns.a, ['iperf3', '-c', IP.b, '-n', '1K']);
      if (probe.code === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await h.dp.attachEndpoint({ endpointId: EP, netnsPath: netnsPath(ns.a), ifname: 'eth0', desired: endpoint([]), addresses: await interfaceAddresses(ns.a) });
  }, 60_000);

  afterAll(async () => {
    process.stderr.write(`\nshaping results (rate, direction: average / first second):\n${results.join('\n')}\n`);
    await (h as typeof h | undefined)?.close(); // unset when beforeAll failed first
    await lab.cleanup();
  });

  const rates: Array<[string, number]> = [['10 Mbit/s', 10e6], ['100 Mbit/s', 100e6], ['1 Gbit/s', 1e9]];
  for (const [label, rate] of rates) {
    it(`egress ${label} within ±15%`, async () => {
      const r = await h.dp.setBandwidth(EP, { egressBitsPerSecond: rate });
      expect(r.shapingMode).toBe('tbf');
      expect((await h.addon.netlink.rootQdisc(netnsPath(ns.a), 'eth0'))?.kind).toBe('tbf');
      const m = await iperf(false);
      results.push(`  ${label} egress: ${(m.averageBps / 1e6).toFixed(1)} / ${(m.firstSecondBps / 1e6).toFixed(1)} Mbit/s`);
      expect(m.averageBps / rate).toBeGreaterThan(0.85);
      expect(m.averageBps / rate).toBeLessThan(1.15);
      expect(m.firstSecondBps / rate).toBeLessThan(1.5);
    });

    it(`ingress ${label} within ±15%`, async () => {
      const r = await h.dp.setBandwidth(EP, { ingressBitsPerSecond: rate });
      expect(r.shapingMode).toBe('tbf');
      expect((await h.addon.netlink.rootQdisc(netnsPath(ns.a), 'eth0'))?.kind).not.toBe('tbf');
      const m = await iperf(true);
      results.push(`  ${label} ingress: ${(m.averageBps / 1e6).toFixed(1)} / ${(m.firstSecondBps / 1e6).toFixed(1)} Mbit/s`);
      expect(m.averageBps / rate).toBeGreaterThan(0.85);
      expect(m.averageBps / rate).toBeLessThan(1.15);
      expect(m.firstSecondBps / rate).toBeLessThan(1.5);
    });
  }

  it('removing the limits removes the qdisc and the IFB', async () => {
    await h.dp.setBandwidth(EP, undefined);
    expect(await h.addon.netlink.linkIndex(netnsPath(ns.a), 'wifb1')).toBeUndefined();
    await h.dp.detachEndpoint(EP);
  });
});
