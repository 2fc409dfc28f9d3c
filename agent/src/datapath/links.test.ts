import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_NODE_ADDRS } from './hooks.js';
import { ADOPTED_CLASSID_BIT, filtersAhead, hookState, inWeirInstance, type TcFilterInfo } from './filters.js';
import { classifyLinks, type PodLink } from './links.js';

const link = (l: Partial<PodLink> & { name: string }): PodLink => ({ kind: 'veth', loopback: false, up: true, addresses: [], ...l });

describe('classifyLinks (links a later chained plugin added)', () => {
  const known = new Set(['eth0', 'wifb1']);

  it('adopts an unknown link without its own address (the coordinator veth0), or carrying only the endpoint\'s', () => {
    expect(classifyLinks([link({ name: 'veth0' }), link({ name: 'veth1', addresses: ['fd00:0::10'] })], known, ['10.0.0.10', 'fd00::10'])).toEqual([
      { name: 'veth0', adopt: true },
      { name: 'veth1', adopt: true },
    ]);
  });

  it('skips loopback and what Weir already enforces or owns; leaves down links and other networks\' interfaces alone, saying why', () => {
    const out = classifyLinks([
      link({ name: 'lo', kind: '', loopback: true, addresses: ['127.0.0.1'] }),
      link({ name: 'eth0', kind: 'macvlan', addresses: ['10.0.0.10'] }),
      link({ name: 'wifb1', kind: 'ifb' }),
      link({ name: 'shaper9', kind: 'ifb' }), // any IFB, whatever its name
      link({ name: 'tunl0', kind: 'ipip', up: false }),
      link({ name: 'net1', kind: 'macvlan', addresses: ['192.168.5.7'] }),
    ], known, ['10.0.0.10']);
    expect(out).toEqual([
      { name: 'tunl0', adopt: false, reason: 'down' },
      { name: 'net1', adopt: false, reason: 'carries 192.168.5.7, not the endpoint\'s address (another network\'s interface)', foreignAddress: true },
    ]);
  });
});

describe('filters ahead of Weir\'s slot', () => {
  const f = (x: Partial<TcFilterInfo>): TcFilterInfo => ({ handle: 1, priority: 1, protocol: 3, kind: 'bpf', progId: 7, classid: 5, ...x });

  it('everything at Weir\'s priority but its slot is ahead; later priorities never run and are left alone', () => {
    const sameInstance = f({ handle: 2, progId: 99 });
    const otherClassifier = f({ handle: 0x800, protocol: 0x800, kind: 'u32', progId: 0, classid: 0 });
    const behind = f({ priority: 2, handle: 1, progId: 98 });
    expect(filtersAhead([f({}), sameInstance, otherClassifier, behind])).toEqual([sameInstance, otherClassifier]);
    expect(inWeirInstance(sameInstance)).toBe(true);
    expect(inWeirInstance(otherClassifier)).toBe(false);
  });

  it('the slot is foreign with another program or another endpoint\'s classid, missing when empty', () => {
    expect(hookState([f({})], { progId: 7, classid: 5 }).slot).toBe('ok');
    expect(hookState([f({ progId: 8 })], { progId: 7, classid: 5 }).slot).toBe('foreign');
    expect(hookState([f({ classid: 6 })], { progId: 7, classid: 5 }).slot).toBe('foreign');
    expect(hookState([f({ priority: 3 })], { progId: 7 })).toEqual({ slot: 'missing', ahead: [] });
  });
});

describe('constants mirrored from the datapath headers', () => {
  const define = (file: string, name: string): number => {
    const text = readFileSync(new URL(`../../../bpf/include/${file}`, import.meta.url), 'utf8');
    const m = new RegExp(`^#define\\s+${name}\\s+(0x[0-9a-fA-F]+|\\d+)`, 'm').exec(text);
    if (m?.[1] === undefined) throw new Error(`#define ${name} missing from ${file}`);
    return Number(m[1]);
  };
  it('the adopted-link classid bit and the node address capacity match the headers', () => {
    expect(define('antispoof.h', 'WEIR_CLASSID_ADOPTED')).toBe(ADOPTED_CLASSID_BIT);
    expect(define('nodeaddr.h', 'WEIR_MAX_NODE_ADDRS')).toBe(MAX_NODE_ADDRS);
  });
});
