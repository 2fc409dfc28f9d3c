import { describe, expect, it } from 'vitest';
import { FLOW_CLASS } from './constants.js';
import { chooseShapingMode, flowClassParameters, tbfParameters } from './shaping.js';

const KERNEL = { schFq: false, schTbf: true, schHtb: true, ifb: true };

describe('chooseShapingMode', () => {
  it('htb-fair where sch_htb exists, tbf without it or when the operator asks for tbf, none without limits', () => {
    expect(chooseShapingMode(KERNEL, { egressBitsPerSecond: 1e6 })).toBe('htb-fair');
    expect(chooseShapingMode({ ...KERNEL, schHtb: false }, { egressBitsPerSecond: 1e6 })).toBe('tbf');
    expect(chooseShapingMode(KERNEL, { egressBitsPerSecond: 1e6 }, 'tbf')).toBe('tbf');
    expect(chooseShapingMode(KERNEL, {})).toBe('none');
    expect(chooseShapingMode(KERNEL, undefined)).toBe('none');
  });

  it('refuses, naming what is missing, when no shaper can do it', () => {
    expect(() => chooseShapingMode({ ...KERNEL, ifb: false }, { ingressBitsPerSecond: 1e6 })).toThrow(/lacks ifb/);
    // htb-fair's leaves queue in TBFs: without sch_tbf neither mode works, even with sch_htb.
    expect(() => chooseShapingMode({ ...KERNEL, schTbf: false }, { egressBitsPerSecond: 1e6 })).toThrow(/lacks sch_tbf/);
    expect(() => chooseShapingMode({ ...KERNEL, schTbf: false }, { egressBitsPerSecond: 1e6 }, 'tbf')).toThrow(/lacks sch_tbf/);
  });
});

describe('flowClassParameters', () => {
  it.each([10e6, 100e6, 1e9])('%d bit/s: the TBF rate and burst on the parent, equal leaf shares, short byte-bounded leaf queues', (rate) => {
    const p = flowClassParameters(rate);
    const tbf = tbfParameters(rate);
    expect(p.rateBitsPerSecond).toBe(rate);
    expect(p.burstBytes).toBe(tbf.burstBytes);
    // The guaranteed shares never add up to more than the parent's rate.
    expect(p.leafRateBitsPerSecond * p.leafMinors.length).toBeLessThanOrEqual(rate);
    // Each leaf queues as 'tbf' mode does (same burst, same byte limit), at a rate HTB always binds first.
    expect(p.leafQueueBurstBytes).toBe(tbf.burstBytes);
    expect(p.leafQueueLimitBytes).toBe(tbf.limitBytes);
    expect(p.leafQueueRateBitsPerSecond).toBeGreaterThan(rate);
    expect(p.quantumBytes).toBe(1514);
  });

  it('numbers the leaves as the programs do: BASE + STEP * i, all ending in nibble 8, none the parent', () => {
    const { leafMinors, major } = flowClassParameters(10e6);
    expect(major).toBe(FLOW_CLASS.major);
    expect(leafMinors).toHaveLength(FLOW_CLASS.leaves);
    expect(leafMinors[0]).toBe(0x18);
    expect(leafMinors[31]).toBe(0x18 + 31 * 0x10);
    expect(new Set(leafMinors).size).toBe(leafMinors.length);
    for (const m of leafMinors) {
      expect(m & 0xf).toBe(8);
      expect(m).not.toBe(1);
    }
  });
});
