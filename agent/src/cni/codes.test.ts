import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CNI_ERROR_CODES } from './codes.js';

describe('CNI error code catalogue', () => {
  it('native/cni/weir.h and codes.ts hold the same names and values', () => {
    const header = readFileSync(new URL('../../../native/cni/weir.h', import.meta.url), 'utf8');
    const fromHeader: Record<string, number> = {};
    for (const m of header.matchAll(/^#define ((?:CNI|WEIR)_ERR_[A-Z_]+) (\d+)$/gm)) {
      const [, name, value] = m;
      if (name !== undefined && value !== undefined) fromHeader[name] = Number(value);
    }
    expect(fromHeader).toEqual({ ...CNI_ERROR_CODES });
  });

  it('codes are unique', () => {
    const values = Object.values(CNI_ERROR_CODES);
    expect(new Set(values).size).toBe(values.length);
  });
});
