import { describe, expect, it } from 'vitest';
import { FIRST_ALLOCATED_IDENTITY, LAST_ALLOCATED_IDENTITY } from '../datapath/desired.js';
import { IdentityAllocator } from './allocator.js';

const KEYS = Array.from({ length: 200 }, (_, i) => `p:ns=x,pod=p${i}|#`);

describe('IdentityAllocator', () => {
  it('gives every key the same id whatever the order keys arrive in (an agent restart)', () => {
    const first = new IdentityAllocator(FIRST_ALLOCATED_IDENTITY, LAST_ALLOCATED_IDENTITY);
    const forward = new Map(KEYS.map((k) => [k, first.acquire(k)]));
    const second = new IdentityAllocator(FIRST_ALLOCATED_IDENTITY, LAST_ALLOCATED_IDENTITY);
    const reversed = new Map([...KEYS].reverse().map((k) => [k, second.acquire(k)]));
    expect(reversed).toEqual(forward);
    expect(new Set(forward.values()).size).toBe(KEYS.length);
    for (const id of forward.values()) expect(id).toBeGreaterThanOrEqual(FIRST_ALLOCATED_IDENTITY);
  });

  it('keeps an id while referenced, frees it with the last release, and gives it back on re-acquire', () => {
    const a = new IdentityAllocator(FIRST_ALLOCATED_IDENTITY, LAST_ALLOCATED_IDENTITY);
    const id = a.acquire('k');
    expect(a.acquire('k')).toBe(id);
    expect(a.release('k')).toBe(false);
    expect(a.keyOf(id)).toBe('k');
    expect(a.release('k')).toBe(true);
    expect(a.lookup('k')).toBeUndefined();
    expect(a.release('k')).toBe(false);
    expect(a.acquire('k')).toBe(id);
  });

  it('a collision moves to the next free id (wrapping), and the range is never left', () => {
    const a = new IdentityAllocator(300, 303);
    const ids = ['a', 'b', 'c', 'd'].map((k) => a.acquire(k));
    expect([...ids].sort()).toEqual([300, 301, 302, 303]);
    expect(() => a.acquire('e')).toThrow(/exhausted/);
    // The key whose preferred id is taken lands on a free one; once its rival is gone it keeps
    // what it has (no churn), and a fresh allocator would give it the preferred one.
    a.release('a');
    expect(a.acquire('e')).toBe(ids[0]);
  });

  it('refuses a range outside u32', () => {
    expect(() => new IdentityAllocator(10, 2 ** 32)).toThrow(RangeError);
    expect(() => new IdentityAllocator(10, 5)).toThrow(RangeError);
  });
});
