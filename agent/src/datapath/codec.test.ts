import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  LAYOUT, decodeEndpointConfig, decodeFlowEvent, decodeIpCacheKey, decodePolicyKey, decodePolicyValue,
  encodeEndpointConfig, encodeIpCacheKey, encodePolicyKey, encodePolicyValue, NO_ANY_SHIFT, NO_CLUSTER_SHIFT, NO_EXACT_SHIFT,
  NO_NAMESPACE_SHIFT, policySkipFlags, SKIP_MASK, type SharedStruct,
} from './codec.js';
import { CLUSTER_IDENTITY, NAMESPACE_CLASS_BIT } from './desired.js';

const run = promisify(execFile);
const OBJECT = 'build/bpf/weir.bpf.o';

interface BtfMember { name: string; bits_offset: number }
interface BtfType { kind: string; name: string; size?: number; members?: BtfMember[] }

/** Layout test (Cilium's alignchecker idea): the codec's offsets must equal the object's BTF. */
describe('codec layout matches the BTF of weir.bpf.o', () => {
  let structs: Map<string, BtfType>;

  beforeAll(async () => {
    await run('make', ['-s', 'bpf']);
    const { stdout } = await run('bpftool', ['-j', 'btf', 'dump', 'file', OBJECT], { maxBuffer: 64 << 20 });
    const parsed = JSON.parse(stdout) as { types: BtfType[] };
    structs = new Map(parsed.types.filter((t) => t.kind === 'STRUCT').map((t) => [t.name, t]));
  }, 60_000);

  for (const name of Object.keys(LAYOUT) as SharedStruct[]) {
    it(name, () => {
      const btf = structs.get(name);
      expect(btf, `struct ${name} missing from BTF`).toBeDefined();
      const layout = LAYOUT[name];
      expect(btf?.size).toBe(layout.size);
      const fromBtf = Object.fromEntries((btf?.members ?? []).map((m) => [m.name, m.bits_offset / 8]));
      expect(fromBtf).toEqual(layout.fields);
    });
  }
});

describe('codec round trips', () => {
  it.each([
    ['10.0.0.5/32', 128], ['10.0.0.0/8', 104], ['0.0.0.0/0', 96], ['fd00::/64', 64], ['fd00::1/128', 128], ['::/0', 0],
  ])('ipcache key %s (prefixlen %i)', (cidr, prefixlen) => {
    const b = encodeIpCacheKey(cidr);
    expect(b.length).toBe(LAYOUT.weir_ipcache_key.size);
    expect(b.readUInt32LE(0)).toBe(prefixlen);
    expect(decodeIpCacheKey(b)).toBe(cidr);
  });

  it('IPv4 keys are IPv4-mapped', () => {
    expect(encodeIpCacheKey('10.1.2.3/32').subarray(4).toString('hex')).toBe('00000000000000000000ffff0a010203');
  });

  it('policy key: port prefix, masked host bits, protocol wildcard', () => {
    const k = encodePolicyKey(7, { tier: 'network', direction: 'egress', identity: 300, protocol: 6, port: 0x1fff, portPrefixLength: 12 });
    expect(k.readUInt32LE(0)).toBe(88 + 8 + 12);
    expect(k.readUInt16BE(16)).toBe(0x1ff0);
    expect(decodePolicyKey(k)).toEqual({ endpointId: 7, tier: 'network', direction: 'egress', identity: 300, protocol: 6, port: 0x1ff0, portPrefixLength: 12 });
    const any = encodePolicyKey(7, { tier: 'admin', direction: 'ingress', identity: 0, protocol: 0, port: 0, portPrefixLength: 0 });
    expect(any.readUInt32LE(0)).toBe(88);
    expect(() => encodePolicyKey(7, { tier: 'admin', direction: 'ingress', identity: 0, protocol: 0, port: 80, portPrefixLength: 16 })).toThrow(/protocol/);
  });

  it('policy value', () => {
    const v = { verdict: 'deny', precedence: 1000, ruleId: 4 } as const;
    expect(decodePolicyValue(encodePolicyValue(v))).toEqual(v);
  });

  it('endpoint config', () => {
    const c = {
      generation: 3, ifbIfindex: 9, isolatedIngress: true, isolatedEgress: false, eventsIngress: false, eventsEgress: true, skips: 0x1ffe0,
      addresses: { mac: '02:42:0a:00:00:05', ips: ['10.0.0.5', 'fd00::5'] }, conntrackQuota: 500,
    };
    expect(decodeEndpointConfig(encodeEndpointConfig(c))).toEqual(c);
    // Skip bits never leak into the other flags, and absent skips encode as 0 (look everything up).
    const plain = encodeEndpointConfig({ ...c, skips: 0xffffffff });
    expect(plain.readUInt32LE(LAYOUT.weir_endpoint_config.fields.flags)).toBe((SKIP_MASK | 1 | 8 | 16 | (1 << 17)) >>> 0);
    const { skips: _, ...noSkips } = c;
    expect(decodeEndpointConfig(encodeEndpointConfig(noSkips))?.skips).toBe(0);
    // Addresses: IPv4-mapped like every other address; the MAC flag only with a MAC.
    const f = LAYOUT.weir_endpoint_config.fields;
    expect(plain.subarray(f.addrs, f.addrs + 16).toString('hex')).toBe('00000000000000000000ffff0a000005');
    expect(plain.readUInt8(f.addr_count)).toBe(2);
    const noMac = encodeEndpointConfig({ ...c, addresses: { ips: [] } });
    expect(noMac.readUInt32LE(f.flags) & (1 << 17)).toBe(0);
    expect(decodeEndpointConfig(noMac)?.addresses).toEqual({ ips: [] });
    expect(() => encodeEndpointConfig({ ...c, addresses: { ips: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'] } })).toThrow(/at most 4/);
    expect(() => encodeEndpointConfig({ ...c, addresses: { mac: '02:42', ips: [] } })).toThrow(/MAC/);
  });

  it.each([
    { name: 'no entries: every slice skipped', entries: [], present: [] },
    { name: 'network ingress exact identity', entries: [{ tier: 'network', direction: 'ingress', identity: 400 }], present: [NO_EXACT_SHIFT + 2] },
    { name: 'network egress any', entries: [{ tier: 'network', direction: 'egress', identity: 0 }], present: [NO_ANY_SHIFT + 3] },
    { name: 'admin ingress both kinds', entries: [{ tier: 'admin', direction: 'ingress', identity: 0 }, { tier: 'admin', direction: 'ingress', identity: 7 }], present: [NO_EXACT_SHIFT, NO_ANY_SHIFT] },
    { name: 'baseline egress exact', entries: [{ tier: 'baseline', direction: 'egress', identity: 1 }], present: [NO_EXACT_SHIFT + 5] },
    { name: 'network ingress namespace class', entries: [{ tier: 'network', direction: 'ingress', identity: NAMESPACE_CLASS_BIT + 77 }], present: [NO_NAMESPACE_SHIFT + 2] },
    { name: 'admin egress cluster class', entries: [{ tier: 'admin', direction: 'egress', identity: CLUSTER_IDENTITY }], present: [NO_CLUSTER_SHIFT + 1] },
    // The highest allocatable identity is still an exact identity, not a class.
    { name: 'last identity is exact', entries: [{ tier: 'admin', direction: 'ingress', identity: NAMESPACE_CLASS_BIT - 1 }], present: [NO_EXACT_SHIFT] },
  ] as const)('policySkipFlags: $name', ({ entries, present }) => {
    const expected = present.reduce((acc, bit) => acc & ~(1 << bit), SKIP_MASK) >>> 0;
    expect(policySkipFlags(entries)).toBe(expected);
  });

  it('flow event decode', () => {
    const f = LAYOUT.weir_flow_event.fields;
    const b = Buffer.alloc(LAYOUT.weir_flow_event.size);
    b.writeUInt32LE(5, f.endpoint_id);
    b.writeUInt32LE(0xffffffff, f.rule_id);
    Buffer.from('00000000000000000000ffff0a000001', 'hex').copy(b, f.saddr);
    Buffer.from('fd000000000000000000000000000002', 'hex').copy(b, f.daddr);
    b.writeUInt16LE(80, f.dport);
    b.writeUInt8(3, f.verdict);
    b.writeUInt8(6, f.reason);
    b.writeUInt8(0xff, f.tier);
    b.writeUInt8(4, f.family);
    const e = decodeFlowEvent(b);
    expect(e).toMatchObject({ endpointId: 5, ruleId: undefined, source: '10.0.0.1', destination: 'fd00::2', destinationPort: 80, verdict: 'deny', reason: 'default-deny', tier: undefined, direction: 'ingress' });
  });
});
