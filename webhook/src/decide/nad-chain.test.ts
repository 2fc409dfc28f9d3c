import { describe, expect, it } from 'vitest';
import { checkConfig } from './chain-rules.js';
import { nadChain, nadCheck } from './nad-chain.js';
import type { NadInfo } from './types.js';

const config = (plugins: unknown[]) => JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins });

describe('per-NAD chain memo', () => {
  it('parses and checks a NAD once, with the same answer as checkConfig', () => {
    const nad: NadInfo = { namespace: 'a', name: 'n', annotations: {}, config: config([{ type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'spiderpool' } }, { type: 'weir' }]) };
    expect(nadChain(nad)).toBe(nadChain(nad));
    expect(nadCheck(nad)).toBe(nadCheck(nad));
    expect(nadCheck(nad)).toEqual(checkConfig(nad.config, { weirAnnotated: false }));
  });

  it('a changed config (new NadInfo or edited in place) is parsed afresh', () => {
    const nad: NadInfo = { namespace: 'a', name: 'n', annotations: {}, config: config([{ type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'spiderpool' } }]) };
    const before = nadCheck(nad);
    nad.config = '{not json';
    expect(nadChain(nad).kind).toBe('invalid');
    expect(nadCheck(nad)).not.toBe(before);
    expect(nadCheck(nad)).toEqual(checkConfig('{not json', { weirAnnotated: false }));
    expect(nadCheck({ ...nad, config: '' })).toEqual({ empty: true });
  });

  it('weir.dev/chain: enabled, added in place, is part of the memo key (a Weir chain needs IPAM)', () => {
    const nad: NadInfo = { namespace: 'a', name: 'n', annotations: {}, config: config([{ type: 'host-device', device: 'eth1' }]) };
    expect(nadCheck(nad)).toEqual({ refusals: [], warnings: [] });
    nad.annotations['weir.dev/chain'] = 'enabled';
    const check = nadCheck(nad);
    expect('refusals' in check && check.refusals.map((r) => r.code)).toEqual(['NAD_IPAM_MISSING']);
  });
});
