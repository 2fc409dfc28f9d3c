import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nadRange, rangeOfConfig, type NadRange } from './nad-ranges.js';
import { MAX_NETWORK_STATUS_BYTES, MAX_SECONDARY_IPS_PER_POD, secondaryAddresses } from './secondary.js';
import { parseCidr } from '../../../common/src/ip.js';

const NS = 'k8s.v1.cni.cncf.io/network-status';
const ranges = new Map<string, NadRange>([
  ['t/hostlocal', [parseCidr('10.50.0.0/16') ?? fail()]],
  ['t/spider', 'unknown'],
  ['t/weirnet', 'weir'],
]);
const ctx = (bound: string[] = ['eth0']) => ({ boundInterfaces: new Set(bound), rangeOf: (n: string) => ranges.get(n) });
const annotate = (entries: unknown[]): Record<string, string> => ({ [NS]: JSON.stringify(entries) });

function fail(): never {
  throw new Error('bad fixture');
}

describe('secondary addresses from network-status (the only reader in agent/)', () => {
  it('a forged default entry and an entry for a bound interface give nothing', () => {
    const r = secondaryAddresses(annotate([
      { name: 't/hostlocal', interface: 'bogus0', ips: ['10.50.0.9'], default: true },
      { name: 't/hostlocal', interface: 'net1', ips: ['10.50.0.10'] },
    ]), ctx(['eth0', 'net1']));
    expect(r.addresses).toEqual([]);
    expect(r.ignored).toEqual(['net1: bound by a trusted source']);
  });

  it('an address outside the NAD\'s declared range, or on a network no NAD declares, is world', () => {
    const r = secondaryAddresses(annotate([
      { name: 't/hostlocal', interface: 'net2', ips: ['8.8.8.8', '10.50.1.2'] },
      { name: 't/made-up', interface: 'net3', ips: ['10.50.1.3'] },
      { name: 'cluster-default', interface: 'net4', ips: ['10.50.1.4'] },
      { name: 't/weirnet', interface: 'net5', ips: ['10.50.1.5'] },
    ]), ctx());
    expect(r.addresses).toEqual([{ ip: '10.50.1.2', iface: 'net2', network: 't/hostlocal' }]);
    expect(r.ignored).toEqual([
      "net2: 8.8.8.8 is outside t/hostlocal's range",
      'net3: network "t/made-up" is not a known NAD',
      'net4: network "cluster-default" is not a known NAD',
      'net5: network "t/weirnet" runs weir; only a WeirEndpoint binds its addresses',
    ]);
  });

  it('where the range is unknown (spiderpool) addresses are taken, capped per pod', () => {
    const ips = Array.from({ length: 40 }, (_, i) => `10.60.0.${i + 1}`);
    const r = secondaryAddresses(annotate([{ name: 't/spider', interface: 'net1', ips }]), ctx());
    expect(r.addresses).toHaveLength(MAX_SECONDARY_IPS_PER_POD);
    expect(r.ignored.at(-1)).toMatch(/more than 8 secondary addresses/);
  });

  it('a 256 KiB annotation (~15,000 addresses) is not even parsed', () => {
    const ips = Array.from({ length: 15_000 }, (_, i) => `10.${50 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
    const text = JSON.stringify([{ name: 't/hostlocal', interface: 'net1', ips }]);
    expect(text.length).toBeGreaterThan(200 * 1024);
    const r = secondaryAddresses({ [NS]: text }, ctx());
    expect(r.addresses).toEqual([]);
    expect(r.ignored).toEqual([`${NS}: ${text.length} bytes, more than ${MAX_NETWORK_STATUS_BYTES}; not read`]);
  });

  it('junk is ignored, never thrown', () => {
    for (const text of ['{', '{}', '[1,null,{"name":1}]', '[{"name":"t/spider","interface":"net1","ips":"10.0.0.1"}]']) {
      expect(secondaryAddresses({ [NS]: text }, ctx()).addresses).toEqual([]);
    }
  });
});

describe('NAD declared ranges', () => {
  const conf = (plugin: Record<string, unknown>): string => JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [plugin, { type: 'coordinator' }] });
  it('host-local ranges and subnet, whereabouts range forms, static addresses; others unknown', () => {
    const canon = (r: NadRange): string[] | 'unknown' | 'weir' => (typeof r === 'string' ? r : r.map((c) => c.canonical));
    expect(canon(rangeOfConfig(conf({ type: 'macvlan', ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.0.0/16' }], [{ subnet: 'fd00::/64' }]] } })))).toEqual(['10.1.0.0/16', 'fd00::/64']);
    expect(canon(rangeOfConfig(conf({ type: 'macvlan', ipam: { type: 'host-local', subnet: '10.2.0.0/24' } })))).toEqual(['10.2.0.0/24']);
    expect(canon(rangeOfConfig(conf({ type: 'ipvlan', ipam: { type: 'whereabouts', range: '10.3.0.10-10.3.0.50/24' } })))).toEqual(['10.3.0.0/24']);
    expect(canon(rangeOfConfig(conf({ type: 'ipvlan', ipam: { type: 'static', addresses: [{ address: '10.4.0.5/24' }] } })))).toEqual(['10.4.0.5/32']);
    expect(rangeOfConfig(conf({ type: 'macvlan', capabilities: { ips: true }, ipam: { type: 'static' } }))).toBe('unknown');
    expect(rangeOfConfig(conf({ type: 'macvlan', ipam: { type: 'spiderpool' } }))).toBe('unknown');
    expect(rangeOfConfig('not json')).toBe('unknown');
    expect(rangeOfConfig(JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'macvlan', ipam: { type: 'host-local', subnet: '10.2.0.0/24' } }, { type: 'weir' }] }))).toBe('weir');
    expect(nadRange({ metadata: { namespace: 't', name: 'x' }, spec: {} })).toEqual({ key: 't/x', range: 'unknown' });
    expect(nadRange({ metadata: {} })).toBeUndefined();
  });
});

describe('nothing else in agent/ reads network-status', () => {
  it('the annotation name appears in product code only in agent/src/identity/secondary.ts', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const hits: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && e.name !== 'testkit.ts') {
          const text = await readFile(p, 'utf8');
          if (/k8s\.v1\.cni\.cncf\.io\/network-status|MULTUS_NETWORK_STATUS|secondaryAddresses/.test(text)) hits.push(relative(root, p));
        }
      }
    };
    await walk(join(root, 'src'));
    // secondary.ts reads it under its rules; pod-intake.ts is its one caller.
    expect(hits.sort()).toEqual(['src/endpoints/pod-intake.ts', 'src/identity/secondary.ts']);
  });
});
