import { describe, expect, it } from 'vitest';
import { decodeEndpointConfig, decodePolicyKey, encodeEndpointId, MAPS, policySkipFlags, SKIP_MASK } from './codec.js';
import type { DesiredEndpoint, PolicyEntry } from './desired.js';
import { Datapath } from './driver.js';
import { FakeDatapath } from './fake.js';
import type { BpfMapPort, DatapathAddon } from './port.js';
import { tbfParameters } from './shaping.js';
import type { PodLink } from './links.js';

/** An addon stand-in: maps are hex-keyed Maps shared by every "object"; every call is logged. */
function recordingAddon(features = { schFq: false, schTbf: true, schHtb: false, ifb: true }, capacity: Record<string, number> = {}) {
  const log: string[] = [];
  const maps = new Map<string, Map<string, Buffer>>();
  /** What netlink.links reports for any netns. */
  const podLinks: PodLink[] = [];
  const mapPort = (name: string): BpfMapPort => {
    let m = maps.get(name);
    if (m === undefined) maps.set(name, (m = new Map<string, Buffer>()));
    const store = m;
    return {
      name,
      lookup: (k) => store.get(k.toString('hex')),
      update: (k, v) => {
        log.push(`update ${name}`);
        // A full map refuses a NEW key the way the kernel does (errno on the thrown error).
        if (!store.has(k.toString('hex')) && store.size >= (capacity[name] ?? Infinity)) throw Object.assign(new Error(`${name} full`), { errno: 28 });
        store.set(k.toString('hex'), Buffer.from(v));
      },
      delete: (k) => { log.push(`delete ${name}`); return store.delete(k.toString('hex')); },
      keys: () => [...store.keys()].map((k) => Buffer.from(k, 'hex')),
    };
  };
  const addon: DatapathAddon = {
    openObject: (opts) => {
      log.push(`open endpoint_id=${String(opts.constants?.endpoint_id)}`);
      return {
        program: (name) => ({ name, id: 1, testRun: () => ({ retval: 0, durationNs: 0, data: Buffer.alloc(0) }) }),
        map: mapPort,
        close: () => log.push('close'),
      };
    },
    openPinnedMap: (path) => { throw new Error(`${path}: this stand-in has no pins`); },
    probeFeatures: () => features,
    tc: {
      attach: async (t) => { log.push(`attach ${t.direction} ${t.program.name} replace=${String(t.replace)} classid=${String(t.classid)}`); return { progId: 1 }; },
      query: async () => undefined,
      detach: async (t) => { log.push(`detach ${t.direction}`); return true; },
      list: async () => [],
      deleteFilter: async (t) => { log.push(`deleteFilter ${t.direction} ${t.filter.handle}`); return true; },
      destroyClsact: async (t) => { log.push(`destroyClsact ${t.ifname}`); },
    },
    netlink: {
      linkIndex: async (_ns, ifname) => (podLinks.some((l) => l.name === ifname) ? 9 : undefined),
      createIfb: async (_ns, name) => { log.push(`createIfb ${name}`); return 42; },
      deleteLink: async (_ns, name) => { log.push(`deleteLink ${name}`); return true; },
      setTbf: async (_ns, ifname, o) => { log.push(`tbf ${ifname} ${o.rateBitsPerSecond}`); },
      setFlowClasses: async (_ns, ifname, o) => { log.push(`htb ${ifname} ${o.rateBitsPerSecond}`); },
      clearRootQdisc: async (_ns, ifname) => { log.push(`clear ${ifname}`); },
      links: async () => podLinks,
      watchLinks: async (ns) => { log.push(`watchLinks ${ns}`); return { close: () => log.push(`unwatch ${ns}`) }; },
    },
    ringBuffer: () => ({ start: () => undefined, stop: async () => undefined, delivered: 0 }),
  };
  return { addon, log, maps, podLinks };
}

const entry = (e: Partial<PolicyEntry>): PolicyEntry => ({
  tier: 'network', direction: 'ingress', identity: 400, protocol: 6, port: 80, portPrefixLength: 16, verdict: 'allow', precedence: 0, ruleId: 0, ...e,
});
const desired = (entries: PolicyEntry[]): DesiredEndpoint => ({
  namespace: 'ns', pod: 'p', interface: 'eth0', isolatedIngress: true, isolatedEgress: false, entries,
});

describe('Datapath driver ordering and diffs', () => {
  it('writes policy, shaping and config before attaching the node\'s shared programs, tagged with the endpoint id', async () => {
    const { addon, log } = recordingAddon();
    const dp = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/sys/fs/bpf/x' });
    const r = await dp.attachEndpoint({ endpointId: 3, netnsPath: '/run/netns/p', ifname: 'eth0', desired: desired([entry({})]), bandwidth: { ingressBitsPerSecond: 1e7, egressBitsPerSecond: 2e7 } });
    expect(r.shapingMode).toBe('tbf');
    expect(log).toEqual([
      // A fresh pin root: the layout version is recorded right after the load (layout.ts).
      'open endpoint_id=0', `update ${MAPS.meta}`, `update ${MAPS.policy}`, 'tbf eth0 20000000', 'createIfb wifb3', 'tbf wifb3 10000000',
      `update ${MAPS.endpoints}`, 'attach ingress weir_ingress replace=true classid=3', 'attach egress weir_egress replace=true classid=3',
    ]);
    // A second endpoint loads nothing: the verified programs are shared.
    log.length = 0;
    await dp.attachEndpoint({ endpointId: 4, netnsPath: '/run/netns/q', ifname: 'eth0', desired: desired([]) });
    expect(log.filter((l) => l.startsWith('open') || l.startsWith('attach'))).toEqual([
      'attach ingress weir_ingress replace=true classid=4', 'attach egress weir_egress replace=true classid=4',
    ]);
  });

  it('links a later plugin added get the programs of the netns\'s lowest endpoint id, flagged adopted; detach removes them and empty clsacts', async () => {
    const { addon, log, podLinks } = recordingAddon();
    const dp = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/p' });
    const up = { kind: 'veth', loopback: false, up: true };
    podLinks.push({ name: 'eth0', ...up, addresses: ['10.0.0.1'] }, { name: 'net1', ...up, addresses: ['10.1.0.1'] });
    await dp.attachEndpoint({ endpointId: 1, netnsPath: '/run/netns/p', ifname: 'eth0', desired: desired([]), addresses: { ips: ['10.0.0.1'] } });
    await dp.attachEndpoint({ endpointId: 2, netnsPath: '/run/netns/p', ifname: 'net1', desired: desired([]), addresses: { ips: ['10.1.0.1'] } });
    // The node's addresses (here: whatever links() reports) are written on the first attach, for the
    // node rule of every endpoint (bpf/include/nodeaddr.h), then at most every 10 s.
    expect(log.filter((l) => l === `update ${MAPS.nodeAddrs}`)).toHaveLength(2);
    podLinks.push({ name: 'veth0', ...up, addresses: [] });
    log.length = 0;
    expect(await dp.enforceLinks(2)).toEqual({ attached: [], tampered: [], leftAlone: [] });
    expect(log).toEqual([]);
    expect(await dp.enforceLinks(1)).toEqual({ attached: ['veth0'], tampered: [], leftAlone: [] });
    expect(log.filter((l) => l.startsWith('attach'))).toEqual([`attach ingress weir_ingress replace=true classid=${1 | 0x8000}`, `attach egress weir_egress replace=true classid=${1 | 0x8000}`]);
    log.length = 0;
    await dp.detachEndpoint(1);
    expect(log.filter((l) => !l.includes(' weir_'))).toEqual(expect.arrayContaining(['detach ingress', 'detach egress', 'destroyClsact eth0', 'destroyClsact veth0']));
  });

  it('an adopted link that then gets another network\'s address (IPAM sets a link up before addressing it) is released', async () => {
    const { addon, log, podLinks } = recordingAddon();
    const dp = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/p' });
    await dp.attachEndpoint({ endpointId: 1, netnsPath: '/run/netns/p', ifname: 'eth0', desired: desired([]), addresses: { ips: ['10.0.0.1'] } });
    const up = { kind: 'macvlan', loopback: false, up: true };
    const net1: PodLink = { name: 'net1', ...up, addresses: [] };
    podLinks.push({ name: 'eth0', ...up, addresses: ['10.0.0.1'] }, net1);
    expect(await dp.enforceLinks(1)).toEqual({ attached: ['net1'], tampered: [], leftAlone: [] });
    net1.addresses = ['192.168.5.7'];
    log.length = 0;
    const reason = 'carries 192.168.5.7, not the endpoint\'s address (another network\'s interface)';
    expect(await dp.enforceLinks(1)).toEqual({ attached: [], tampered: [], leftAlone: [{ link: 'net1', reason }], released: ['net1'] });
    expect(log).toEqual(expect.arrayContaining(['detach ingress', 'detach egress', 'destroyClsact net1']));
    // Released once: the next pass leaves it alone without touching it, and a detach of the endpoint skips it.
    log.length = 0;
    expect(await dp.enforceLinks(1)).toEqual({ attached: [], tampered: [], leftAlone: [{ link: 'net1', reason }] });
    await dp.detachEndpoint(1);
    expect(log).not.toContain('destroyClsact net1');
  });

  it('update diffs entries and bumps the generation; ipcache identity moves bump every endpoint', async () => {
    const { addon, log, maps } = recordingAddon();
    const dp = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/p' });
    await dp.attachEndpoint({ endpointId: 1, netnsPath: null, ifname: 'eth0', desired: desired([entry({}), entry({ port: 81 })]) });
    log.length = 0;
    const u = await dp.updateEndpoint({ endpointId: 1, desired: desired([entry({}), entry({ port: 82 })]) });
    expect(u).toEqual({ added: 1, removed: 1, generation: 2 });
    expect(log).toEqual([`delete ${MAPS.policy}`, `update ${MAPS.policy}`, `update ${MAPS.endpoints}`]);
    const ports = [...(maps.get(MAPS.policy)?.keys() ?? [])].map((k) => decodePolicyKey(Buffer.from(k, 'hex')).port).sort();
    expect(ports).toEqual([80, 82]);

    await dp.syncIpCache([{ cidr: '10.0.0.1/32', identity: 400 }]);
    const gen = () => decodeEndpointConfig(maps.get(MAPS.endpoints)?.get(encodeEndpointId(1).toString('hex')) ?? Buffer.alloc(16))?.generation;
    expect(gen()).toBe(2); // pure additions do not re-check flows
    expect(await dp.syncIpCache([{ cidr: '10.0.0.1/32', identity: 500 }])).toEqual({ added: 0, removed: 0, changed: 1, failed: 0 });
    expect(gen()).toBe(3);
  });

  it('the config carries the lookup-skip bits of the current entries, written after them', async () => {
    const { addon, log, maps } = recordingAddon();
    const dp = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/p' });
    const skips = () => decodeEndpointConfig(maps.get(MAPS.endpoints)?.get(encodeEndpointId(2).toString('hex')) ?? Buffer.alloc(16))?.skips;
    const first = [entry({})];
    await dp.stageEndpoint({ endpointId: 2, netnsPath: null, ifname: 'eth0', desired: desired(first) });
    expect(skips()).toBe(policySkipFlags(first));
    log.length = 0;
    const second = [entry({}), entry({ tier: 'admin', identity: 0, verdict: 'deny' })];
    await dp.updateEndpoint({ endpointId: 2, desired: desired(second) });
    expect(skips()).toBe(policySkipFlags(second));
    expect(skips()).not.toBe(policySkipFlags(first));
    expect(log).toEqual([`update ${MAPS.policy}`, `update ${MAPS.endpoints}`]);
  });

  it('adoptExisting reads pinned state; a re-attach with the same policy writes nothing and keeps the generation', async () => {
    const { addon, log } = recordingAddon();
    const first = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/p' });
    await first.attachEndpoint({ endpointId: 5, netnsPath: null, ifname: 'eth0', desired: desired([entry({})]) });
    const second = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/p' });
    expect(await second.adoptExisting()).toEqual([{ endpointId: 5, generation: 1, policyEntries: 1, ingressShaped: false }]);
    log.length = 0;
    await second.attachEndpoint({ endpointId: 5, netnsPath: null, ifname: 'eth0', desired: desired([entry({})]) });
    expect(log.filter((l) => l.startsWith('update') || l.startsWith('delete') || l.startsWith('detach'))).toEqual([`update ${MAPS.endpoints}`]);
  });

  it('detach removes programs, shaping and every map entry of the endpoint', async () => {
    const { addon, maps } = recordingAddon();
    const dp = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/p' });
    await dp.attachEndpoint({ endpointId: 2, netnsPath: null, ifname: 'eth0', desired: desired([entry({})]), bandwidth: { ingressBitsPerSecond: 1e6 } });
    await dp.attachEndpoint({ endpointId: 4, netnsPath: null, ifname: 'eth1', desired: desired([entry({})]) });
    await dp.detachEndpoint(2);
    expect([...(maps.get(MAPS.policy)?.keys() ?? [])].map((k) => decodePolicyKey(Buffer.from(k, 'hex')).endpointId)).toEqual([4]);
    const configured = [...(maps.get(MAPS.endpoints)?.values() ?? [])].filter((v) => decodeEndpointConfig(v) !== undefined);
    expect(configured).toHaveLength(1);
  });
});

describe('flow-fair shaping (htb-fair) in the driver', () => {
  const HTB = { schFq: false, schTbf: true, schHtb: true, ifb: true };
  const flagsOf = (maps: Map<string, Map<string, Buffer>>, id: number) => {
    const raw = maps.get(MAPS.endpoints)?.get(encodeEndpointId(id).toString('hex'));
    const c = raw === undefined ? undefined : decodeEndpointConfig(raw);
    return { ingress: c?.flowClassesIngress === true, egress: c?.flowClassesEgress === true, ifb: c?.ifbIfindex };
  };

  it('builds HTBs where sch_htb exists and tells the programs per direction; tbf when asked or without htb', async () => {
    const { addon, log, maps } = recordingAddon(HTB);
    const dp = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/p' });
    const r = await dp.attachEndpoint({ endpointId: 3, netnsPath: null, ifname: 'eth0', desired: desired([]), bandwidth: { ingressBitsPerSecond: 1e7, egressBitsPerSecond: 2e7 } });
    expect(r.shapingMode).toBe('htb-fair');
    expect(log.filter((l) => /^(htb|tbf|createIfb)/.test(l))).toEqual(['htb eth0 20000000', 'createIfb wifb3', 'htb wifb3 10000000']);
    expect(flagsOf(maps, 3)).toEqual({ ingress: true, egress: true, ifb: 42 });

    // Egress only: the ingress flag goes with the IFB, the egress one stays.
    await dp.setBandwidth(3, { egressBitsPerSecond: 2e7 });
    expect(flagsOf(maps, 3)).toEqual({ ingress: false, egress: true, ifb: 0 });
    // No limits: no flags (a priority naming a class that is gone would be meaningless).
    expect((await dp.setBandwidth(3, undefined)).shapingMode).toBe('none');
    expect(flagsOf(maps, 3)).toEqual({ ingress: false, egress: false, ifb: 0 });

    const tbfOnly = recordingAddon(HTB);
    const forced = new Datapath({ addon: tbfOnly.addon, objectPath: 'x.o', pinRoot: '/p', shaping: 'tbf' });
    expect((await forced.attachEndpoint({ endpointId: 4, netnsPath: null, ifname: 'eth0', desired: desired([]), bandwidth: { egressBitsPerSecond: 1e7 } })).shapingMode).toBe('tbf');
    expect(tbfOnly.log).toContain('tbf eth0 10000000');
    expect(flagsOf(tbfOnly.maps, 4)).toEqual({ ingress: false, egress: false, ifb: 0 });
  });

  it('switching a flow-fair endpoint to tbf clears the flag before the TBF replaces the HTB', async () => {
    const { addon, log, maps } = recordingAddon(HTB);
    const dp = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/p' });
    await dp.attachEndpoint({ endpointId: 6, netnsPath: null, ifname: 'eth0', desired: desired([]), bandwidth: { egressBitsPerSecond: 1e7 } });
    expect(flagsOf(maps, 6).egress).toBe(true);
    // The same pinned maps, read by an agent restarted with shaping: tbf.
    const restarted = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/p', shaping: 'tbf' });
    await restarted.adoptExisting();
    log.length = 0;
    await restarted.attachEndpoint({ endpointId: 6, netnsPath: null, ifname: 'eth0', desired: desired([]), bandwidth: { egressBitsPerSecond: 1e7 } });
    expect(log.filter((l) => l.startsWith('tbf') || l.startsWith('update') || l.startsWith('htb'))).toEqual(['tbf eth0 10000000', `update ${MAPS.endpoints}`]);
    expect(flagsOf(maps, 6).egress).toBe(false);
  });
});

describe('tbfParameters', () => {
  it.each([[10e6, 5000], [100e6, 50000], [1e9, 500000], [1e6, 3028]])('%d bit/s → burst %d bytes', (rate, burst) => {
    const p = tbfParameters(rate);
    expect(p.burstBytes).toBe(burst);
    expect(p.limitBytes).toBeGreaterThan(p.burstBytes);
  });
  it('refuses rates below 1 kbit/s', () => expect(() => tbfParameters(10)).toThrow());
});

describe('FakeDatapath', () => {
  it('records endpoints, bumps generations, delivers injected events', async () => {
    const f = new FakeDatapath();
    expect((await f.attachEndpoint({ endpointId: 1, netnsPath: null, ifname: 'eth0', desired: desired([]), bandwidth: { egressBitsPerSecond: 1e6 } })).shapingMode).toBe('tbf');
    expect((await f.updateEndpoint({ endpointId: 1, desired: desired([entry({})]) })).added).toBe(1);
    await expect(f.updateEndpoint({ endpointId: 2, desired: desired([]) })).rejects.toThrow(/not attached/);
    const seen: number[] = [];
    const sub = f.events((e) => seen.push(e.endpointId));
    f.emit({ timestampNs: 0n, endpointId: 1, ruleId: 0, remoteIdentity: 1, packetLength: 60, family: 4, source: '1.1.1.1', destination: '2.2.2.2', sourcePort: 1, destinationPort: 2, protocol: 6, direction: 'ingress', verdict: 'deny', reason: 'policy-deny', tier: 'admin' });
    await sub.stop();
    expect(seen).toEqual([1]);
  });

  it('deletions are written before additions, so a full map can swap its whole content', async () => {
    const { addon, maps } = recordingAddon(undefined, { [MAPS.policy]: 2 });
    const dp = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/p', conntrackSweepSeconds: 0 });
    await dp.attachEndpoint({ endpointId: 1, netnsPath: null, ifname: 'eth0', desired: desired([entry({ port: 80 }), entry({ port: 81 })]) });
    await dp.updateEndpoint({ endpointId: 1, desired: desired([entry({ port: 82 }), entry({ port: 83 })]) });
    expect([...(maps.get(MAPS.policy)?.keys() ?? [])].map((k) => decodePolicyKey(Buffer.from(k, 'hex')).port).sort()).toEqual([82, 83]);
  });

  it('a full policy map isolates the endpoint that does not fit, not the node', async () => {
    const { addon, maps } = recordingAddon(undefined, { [MAPS.policy]: 3 });
    const dp = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/p', conntrackSweepSeconds: 0 });
    await dp.attachEndpoint({ endpointId: 1, netnsPath: null, ifname: 'eth0', desired: desired([entry({ port: 80 })]) });
    const big = desired([entry({ port: 90 }), entry({ port: 91 }), entry({ port: 92 })]);
    await expect(dp.attachEndpoint({ endpointId: 2, netnsPath: null, ifname: 'eth1', desired: { ...big, isolatedIngress: false } }))
      .rejects.toThrow(/endpoint 2 \(eth1\): the policy map is full .* isolated/);
    const config = (id: number) => decodeEndpointConfig(maps.get(MAPS.endpoints)?.get(encodeEndpointId(id).toString('hex')) ?? Buffer.alloc(88));
    // Endpoint 2: both directions isolated, every policy slice skipped (the half-written entries are never read).
    expect(config(2)).toMatchObject({ isolatedIngress: true, isolatedEgress: true, skips: SKIP_MASK });
    // Endpoint 1 is untouched and still updatable; when endpoint 2's policy shrinks it is restored.
    expect(config(1)).toMatchObject({ isolatedIngress: true, isolatedEgress: false, generation: 1 });
    await dp.updateEndpoint({ endpointId: 1, desired: desired([entry({ port: 81 })]) });
    const fits = await dp.updateEndpoint({ endpointId: 2, desired: desired([entry({ port: 90 })]) });
    expect(fits.generation).toBeGreaterThan(1);
    expect(config(2)).toMatchObject({ isolatedIngress: true, isolatedEgress: false, skips: policySkipFlags([entry({})]) });
  });

  it('a full ipcache keeps the most specific prefixes and reports the rest instead of throwing', async () => {
    const { addon, maps } = recordingAddon(undefined, { [MAPS.ipcache]: 2 });
    const dp = new Datapath({ addon, objectPath: 'x.o', pinRoot: '/p', conntrackSweepSeconds: 0 });
    const r = await dp.syncIpCache([{ cidr: '10.0.0.0/8', identity: 300 }, { cidr: '10.1.0.5/32', identity: 400 }, { cidr: '10.2.0.6/32', identity: 401 }]);
    expect(r).toEqual({ added: 2, removed: 0, changed: 0, failed: 1 });
    expect(maps.get(MAPS.ipcache)?.size).toBe(2);
    // Next sync with room (the /8 gone): nothing is re-counted as failed, the diff is against what was written.
    expect(await dp.syncIpCache([{ cidr: '10.1.0.5/32', identity: 400 }, { cidr: '10.2.0.6/32', identity: 401 }])).toEqual({ added: 0, removed: 0, changed: 0, failed: 0 });
  });
});
