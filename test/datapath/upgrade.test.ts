/**
 * Upgrade across a change of the pinned maps' layout (agent/src/datapath/layout.ts), with real
 * packets: macvlan "pods" in netns, Weir attached to `a` by one agent, then a new agent started on
 * pins of an older layout. The old layout is what every agent before layout versioning left: no
 * weir_meta, and (as a layout change such as the ipcache value's makes it) a weir_ipcache of
 * another value size, which libbpf refuses to reuse. The new agent must replace the pins while
 * the pod stays enforced all along: before its programs are re-attached (old programs, old maps),
 * after (new ones), and on a TCP connection that lives across the switch.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LAYOUT_VERSION, MAPS } from '../../agent/src/datapath/codec.js';
import { Datapath } from '../../agent/src/datapath/driver.js';
import { UNVERSIONED } from '../../agent/src/datapath/layout.js';
import { describePrivileged } from '../support/privileged.js';
import { NetLab, execInNetns, netnsPath, runChecked } from '../../harness/support/netns.js';
import { OBJECT_PATH, endpoint, entry, openHarness, type Harness } from '../../harness/datapath/harness.js';
import { interfaceAddresses, macvlanPods } from '../../harness/datapath/pods.js';

const PROBE = 'test/datapath/probe.mjs';
const IP = { a: '10.95.0.1', b: '10.95.0.2', c: '10.95.0.3' } as const;
const ID = { a: 300, b: 400, c: 500 } as const;
const EP_A = 1;
const PUSH_PORT = 82;
/** How long b's connection lives (a pushes every 100 ms): long enough to outlast the switch. */
const CHAT_MS = 14_000;

describePrivileged('upgrade: pinned maps of an older layout, replaced without an enforcement gap', () => {
  const lab = new NetLab('wdpu');
  let h: Harness;
  let ns: Record<'a' | 'b' | 'c', string>;
  const next: Datapath[] = [];

  const tcp = async (from: 'a' | 'b' | 'c', to: string, port: number): Promise<string> =>
    (await execInNetns(ns[from], ['node', PROBE, 'tcp', to, String(port)])).stdout.trim();
  const ipcache = (['a', 'b', 'c'] as const).map((p) => ({ cidr: `${IP[p]}/32`, identity: ID[p] }));
  // a: ingress only from b (TCP 80 and the push port), egress only to b on TCP 80. Its pushes to b
  // are mid-stream packets of b's connection: they pass only while conntrack knows the flow.
  const desired = endpoint([
    entry({ identity: ID.b, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 1 }),
    entry({ identity: ID.b, protocol: 6, port: PUSH_PORT, portPrefixLength: 16, ruleId: 2 }),
    entry({ direction: 'egress', identity: ID.b, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 3 }),
  ], { ingress: true, egress: true });

  async function enforced(): Promise<void> {
    expect(await tcp('b', IP.a, 80), 'b -> a:80 allowed').toBe('ok');
    expect(await tcp('c', IP.a, 80), 'c -> a:80 denied').toMatch(/^fail/);
    expect(await tcp('a', IP.b, 80), 'a -> b:80 allowed (a sends from its own addresses)').toBe('ok');
    expect(await tcp('a', IP.c, 80), 'a -> c:80 denied').toMatch(/^fail/);
  }

  beforeAll(async () => {
    await lab.sweep();
    h = openHarness('upgrade');
    ({ ns } = await macvlanPods(lab, { a: { ipv4: IP.a }, b: { ipv4: IP.b }, c: { ipv4: IP.c } }));
    for (const pod of ['a', 'b', 'c'] as const) {
      const server = lab.spawnInNetns(ns[pod], ['node', PROBE, 'serve', '80', '']);
      await new Promise<void>((resolve) => server.stdout?.once('data', () => resolve()));
    }
    const push = lab.spawnInNetns(ns.a, ['node', PROBE, 'push', String(PUSH_PORT)]);
    await new Promise<void>((resolve) => push.stdout?.once('data', () => resolve()));
  }, 60_000);

  afterAll(async () => {
    for (const dp of next) await dp.close();
    await (h as typeof h | undefined)?.close(); // unset when beforeAll failed first
    await lab.cleanup();
  });

  it('an agent of the new layout replaces old pins; the pod is enforced before, during and after, and a live connection survives', async () => {
    // The old agent: programs attached, maps pinned.
    await h.dp.syncIpCache(ipcache);
    await h.dp.attachEndpoint({ endpointId: EP_A, netnsPath: netnsPath(ns.a), ifname: 'eth0', desired, addresses: await interfaceAddresses(ns.a) });
    await enforced();
    const oldProgs = h.dp.programIds();

    // A connection from b to a's push port, opened under the old agent and kept through the switch.
    const chat = lab.spawnInNetns(ns.b, ['node', PROBE, 'chat', IP.a, String(PUSH_PORT), String(CHAT_MS)]);
    const lines: string[] = [];
    chat.stdout?.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    const exited = new Promise<void>((resolve) => chat.once('exit', () => resolve()));
    const pushes = (): number[] => lines.filter((l) => l.startsWith('T ')).map((l) => Number(l.split(' ')[1]));
    for (const deadline = Date.now() + 5000; pushes().length < 5 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
    expect(pushes().length, 'the connection is under way before the upgrade').toBeGreaterThanOrEqual(5);

    // The old agent stops (programs stay attached). Its pins become an older layout: no weir_meta,
    // and a weir_ipcache of another value size in place of the real one.
    await h.dp.close();
    await runChecked(['rm', join(h.pinRoot, MAPS.meta), join(h.pinRoot, MAPS.ipcache)]);
    const smoke = h.addon.openObject({ path: 'build/bpf/smoke.bpf.o' });
    const oldIpcache = smoke.map('smoke_lpm'); // u32 values: the real ipcache's are 8 bytes
    oldIpcache.pin(join(h.pinRoot, MAPS.ipcache));
    smoke.close();
    // What an agent without layout versions would meet: libbpf refuses the pinned map.
    expect(() => h.addon.openObject({ path: OBJECT_PATH, pinRoot: h.pinRoot, constants: { endpoint_id: 0 } }).close()).toThrow(/weir_ipcache|bpf_object__load/);
    await enforced(); // the old programs with their (now unpinned) maps, unchanged

    // The new agent, the way agent.start does it: adopt, first reconcile (ipcache, then every
    // registered endpoint re-attached with tc replace; no addresses, as on a restart).
    const dp = new Datapath({ addon: h.addon, objectPath: OBJECT_PATH, pinRoot: h.pinRoot, conntrackSweepSeconds: 0 });
    next.push(dp);
    const adopted = await dp.adoptExisting();
    expect(dp.layoutSwitch).toMatchObject({ from: UNVERSIONED, to: LAYOUT_VERSION, endpointsCarried: 1 });
    expect(dp.layoutSwitch?.conntrackCarried).toBeGreaterThanOrEqual(1);
    expect(dp.layoutSwitch?.rebuilt).toEqual(expect.arrayContaining([MAPS.ipcache, MAPS.policy]));
    // The endpoint config (its own addresses) came across; its policy is rebuilt by the re-attach.
    expect(adopted).toEqual([expect.objectContaining({ endpointId: EP_A, policyEntries: 0 })]);
    const before = await h.addon.tc.query({ netnsPath: netnsPath(ns.a), ifname: 'eth0', direction: 'ingress' });
    expect(before?.progId, 'the old programs still run until the re-attach').toBe(oldProgs.ingress);
    await enforced();

    await dp.syncIpCache(ipcache);
    await dp.attachEndpoint({ endpointId: EP_A, netnsPath: netnsPath(ns.a), ifname: 'eth0', desired });
    const reattachedMs = Math.max(0, ...pushes());
    const after = await h.addon.tc.query({ netnsPath: netnsPath(ns.a), ifname: 'eth0', direction: 'ingress' });
    expect(after?.progId, 'the new programs replaced the old in place').toBe(dp.programIds().ingress);
    expect(after?.progId).not.toBe(oldProgs.ingress);
    await enforced();

    await exited;
    // a's pushes are egress packets of an established flow; under an egress-isolated policy only
    // the carried-over conntrack entry lets them through the new programs.
    // Without the carried entry the new programs drop every push (default deny) and the
    // connection stalls from the re-attach on; with it, pushes go on to the end.
    expect(CHAT_MS - reattachedMs, 'the connection outlived the re-attach by 3 s (else this test proves nothing)').toBeGreaterThan(3000);
    const late = pushes().filter((ms) => ms > reattachedMs + 500);
    const expected = Math.floor((CHAT_MS - reattachedMs - 1000) / 100 / 2); // half the pushes, for a loaded machine
    expect(late.length, `pushes after the re-attach at ${reattachedMs} ms: ${pushes().join(' ')}`).toBeGreaterThanOrEqual(expected);
    expect(Math.max(...pushes()), 'pushes went on to the end').toBeGreaterThan(CHAT_MS - 1500);

    // The old pins are gone: the pin root holds the new object's maps, of this layout.
    const pins = readdirSync(h.pinRoot).sort();
    expect(pins).toContain(MAPS.meta);
    expect(pins.every((p) => p.startsWith('weir_'))).toBe(true);
    const ipcachePin = h.addon.openPinnedMap(join(h.pinRoot, MAPS.ipcache));
    expect(ipcachePin.valueSize).toBe(8);
    ipcachePin.close();
    const meta = h.addon.openPinnedMap(join(h.pinRoot, MAPS.meta));
    expect(meta.lookup(Buffer.alloc(4))?.readUInt32LE(0)).toBe(LAYOUT_VERSION);
    meta.close();
  }, 120_000);

  it('the next restart finds pins of its own layout and adopts them as before (no second switch)', async () => {
    const first = next.shift();
    await first?.close();
    const dp = new Datapath({ addon: h.addon, objectPath: OBJECT_PATH, pinRoot: h.pinRoot, conntrackSweepSeconds: 0 });
    next.push(dp);
    const progBefore = (await h.addon.tc.query({ netnsPath: netnsPath(ns.a), ifname: 'eth0', direction: 'ingress' }))?.progId;
    const adopted = await dp.adoptExisting();
    expect(dp.layoutSwitch).toBeUndefined();
    expect(adopted).toEqual([expect.objectContaining({ endpointId: EP_A, policyEntries: 3 })]);
    expect((await h.addon.tc.query({ netnsPath: netnsPath(ns.a), ifname: 'eth0', direction: 'ingress' }))?.progId).toBe(progBefore);
    await enforced();
    await dp.detachEndpoint(EP_A);
  }, 60_000);
});
