import { describe, expect, it } from 'vitest';
import {
  QUANTITY_FORMAT_ERROR,
  QUANTITY_SUFFIX_ERROR,
  TOO_LARGE_ERROR,
  TOO_SMALL_ERROR,
  formatBitsPerSecond,
  parseBandwidth,
} from './bandwidth.js';

describe('parseBandwidth (Quantity → bits/s, 1k..1P, the runtime wording)', () => {
  const ok: Array<[string, number]> = [
    ['1k', 1_000],
    ['10M', 10_000_000],
    ['1G', 1_000_000_000],
    ['1P', 1e15],
    ['1Ki', 1024],
    ['10Mi', 10 * 1024 * 1024],
    ['1.5k', 1500],
    ['1e3', 1000],
    ['1E3', 1000],
    ['1e+6', 1_000_000],
    ['1e15', 1e15],
    ['+5M', 5_000_000],
    ['0.9999999k', 1000], // Value() rounds up
    ['1000', 1000],
    ['2500000m', 2500],
    ['0001k', 1000],
  ];
  it.each(ok)('%s → %d', (input, bps) => {
    expect(parseBandwidth(input)).toEqual({ ok: true, bitsPerSecond: bps });
  });

  const bad: Array<[string, string]> = [
    ['999', TOO_SMALL_ERROR],
    ['100m', TOO_SMALL_ERROR], // m is milli
    ['-1k', TOO_SMALL_ERROR],
    ['0', TOO_SMALL_ERROR],
    ['.', TOO_SMALL_ERROR], // apimachinery parses "." as 0
    ['k', TOO_SMALL_ERROR],
    ['.5k', TOO_SMALL_ERROR],
    ['1E', TOO_LARGE_ERROR], // exa
    ['2P', TOO_LARGE_ERROR],
    ['1e16', TOO_LARGE_ERROR],
    ['1000000000000000.5', TOO_LARGE_ERROR],
    ['1Pi', TOO_LARGE_ERROR],
    ['1e999999999', TOO_LARGE_ERROR],
    ['1e-999999999', TOO_SMALL_ERROR],
    ['', QUANTITY_FORMAT_ERROR],
    ['abc', QUANTITY_FORMAT_ERROR],
    ['10 M', QUANTITY_FORMAT_ERROR],
    ['1k ', QUANTITY_FORMAT_ERROR],
    ['1.2.3', QUANTITY_FORMAT_ERROR],
    ['5Gb', QUANTITY_FORMAT_ERROR],
    ['5K', QUANTITY_SUFFIX_ERROR],
    ['1e', QUANTITY_SUFFIX_ERROR],
    ['1Mk', QUANTITY_SUFFIX_ERROR],
  ];
  it.each(bad)('%j → %s', (input, error) => {
    const r = parseBandwidth(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBe(error);
  });

  it('formats exact decimal units', () => {
    expect(formatBitsPerSecond(10_000_000)).toBe('10M');
    expect(formatBitsPerSecond(1024)).toBe('1024');
  });
});
