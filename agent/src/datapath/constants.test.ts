/**
 * The constants codec.ts mirrors by hand from bpf/include/weir_shared.h, compared with the header
 * itself (the struct layouts are compared with the object's BTF in codec.test.ts). Enum members
 * and #defines are read from the text: a value moved on one side only fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DIRECTIONS, ENDPOINT_FLAGS, FLOW_CLASS, LAYOUT_VERSION, SHAPING_FLAGS, MAX_ENDPOINT_ADDRS, MAX_ENDPOINTS, NO_ANY_SHIFT, NO_CLUSTER_SHIFT, NO_EXACT_SHIFT, NO_NAMESPACE_SHIFT,
  POLICY_FIXED_BITS, REASON_SLOTS, SKIP_MASK,
  REASONS, RULE_NONE, TIER_NONE, TIERS, VERDICT_CODES, AUDIT_DENY_VERDICT_CODE, AUDIT_ALLOW_VERDICT_CODE, POLICY_KEYSPACES,
} from './codec.js';
import { MAX_POLICY_ENTRIES_PER_ENDPOINT } from '../endpoints/capacity.js';
import { ANY_IDENTITY, CLUSTER_IDENTITY, NAMESPACE_CLASS_BIT, WORLD_IDENTITY } from './desired.js';

const HEADER = readFileSync(new URL('../../../bpf/include/weir_shared.h', import.meta.url), 'utf8');

/** `1 << 4`, `0xff`, `17`, `0xffffffffU` → number. */
function evaluate(expr: string): number {
  const e = expr.trim().replace(/U$/, '');
  const shift = /^\(?1\s*<<\s*(\d+)\)?$/.exec(e);
  if (shift) return 2 ** Number(shift[1]);
  if (/^(0x[0-9a-fA-F]+|\d+)$/.test(e)) return Number(e);
  throw new Error(`cannot evaluate ${JSON.stringify(expr)} from weir_shared.h`);
}

function define(name: string): number {
  const m = new RegExp(`^#define\\s+${name}\\s+([^/\\n]+?)\\s*(/\\*.*)?$`, 'm').exec(HEADER);
  if (!m?.[1]) throw new Error(`#define ${name} missing from weir_shared.h`);
  return evaluate(m[1]);
}

/** Members of `enum <name>` with their values, in declaration order. */
function enumMembers(name: string): Array<[string, number]> {
  const body = new RegExp(`enum\\s+${name}\\s*\\{([^}]*)\\}`).exec(HEADER)?.[1];
  if (body === undefined) throw new Error(`enum ${name} missing from weir_shared.h`);
  const out: Array<[string, number]> = [];
  for (const m of body.replace(/\/\*[\s\S]*?\*\//g, '').matchAll(/(\w+)\s*=\s*([^,]+),/g)) {
    if (m[1] !== undefined && m[2] !== undefined) out.push([m[1], evaluate(m[2])]);
  }
  return out;
}

const camel = (s: string): string => s.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

describe('codec constants match bpf/include/weir_shared.h', () => {
  it('REASONS: same names in code order, and REASON_MAX', () => {
    const members = enumMembers('weir_reason');
    const max = members.find(([n]) => n === 'WEIR_REASON_MAX')?.[1];
    const reasons = members.filter(([n]) => n !== 'WEIR_REASON_MAX');
    expect(reasons.map(([, v]) => v)).toEqual(reasons.map((_, i) => i));
    expect(reasons.map(([n]) => n.replace('WEIR_REASON_', '').toLowerCase().replaceAll('_', '-'))).toEqual([...REASONS]);
    expect(max).toBe(REASONS.length);
    expect(define('WEIR_REASON_SLOTS')).toBe(REASON_SLOTS);
    expect(REASON_SLOTS).toBeGreaterThanOrEqual(REASONS.length);
  });

  it('verdict codes, tier and direction order', () => {
    expect(Object.fromEntries(enumMembers('weir_verdict').map(([n, v]) => [n.replace('WEIR_VERDICT_', '').toLowerCase(), v])))
      .toEqual({ none: 0, ...VERDICT_CODES, audit_deny: AUDIT_DENY_VERDICT_CODE, audit_allow: AUDIT_ALLOW_VERDICT_CODE });
    expect(Object.fromEntries(enumMembers('weir_policy_keyspace').map(([n, v]) => [camel(n.replace('WEIR_POLICY_', '')), v])))
      .toEqual({ enforced: POLICY_KEYSPACES.enforced, audit: POLICY_KEYSPACES.audit, auditIsolation: POLICY_KEYSPACES.auditIsolation });
    expect(enumMembers('weir_tier')).toEqual(TIERS.map((t, i) => [`WEIR_TIER_${t.toUpperCase()}`, i]));
    expect(enumMembers('weir_direction')).toEqual(DIRECTIONS.map((d, i) => [`WEIR_DIR_${d.toUpperCase()}`, i]));
  });

  it('endpoint flags and the lookup-skip bit positions', () => {
    expect(Object.fromEntries(enumMembers('weir_endpoint_flag').map(([n, v]) => [camel(n.replace('WEIR_EP_', '')), v]))).toEqual(ENDPOINT_FLAGS);
    expect(define('WEIR_EP_NO_EXACT_SHIFT')).toBe(NO_EXACT_SHIFT);
    expect(define('WEIR_EP_NO_ANY_SHIFT')).toBe(NO_ANY_SHIFT);
    expect(define('WEIR_EP_NO_NAMESPACE_SHIFT')).toBe(NO_NAMESPACE_SHIFT);
    expect(define('WEIR_EP_NO_CLUSTER_SHIFT')).toBe(NO_CLUSTER_SHIFT);
    // The 24 skip bits (tier * 2 + direction, four kinds) sit between the flags, overlapping none
    // and each other, inside 32 bits.
    const flagBits = Object.values(ENDPOINT_FLAGS).reduce((a, b) => a | b, 0);
    expect(flagBits & SKIP_MASK).toBe(0);
    const slices = TIERS.length * DIRECTIONS.length;
    const shifts = [NO_EXACT_SHIFT, NO_ANY_SHIFT, NO_NAMESPACE_SHIFT, NO_CLUSTER_SHIFT].sort((a, b) => a - b);
    shifts.forEach((s, i) => {
      const next = shifts[i + 1];
      if (next !== undefined) expect(next - s).toBeGreaterThanOrEqual(slices);
    });
    expect(Math.max(...shifts) + slices).toBeLessThanOrEqual(32);
    expect(SKIP_MASK.toString(2).replace(/0/g, '').length).toBe(4 * slices);
  });

  it('the flow-class layout of flow-fair shaping and its per-direction flags', () => {
    expect(Object.fromEntries(enumMembers('weir_shaping_flag').map(([n, v]) => [camel(n.replace('WEIR_SHAPE_', '')), v]))).toEqual(SHAPING_FLAGS);
    expect(define('WEIR_FLOW_CLASS_MAJOR')).toBe(FLOW_CLASS.major);
    expect(define('WEIR_FLOW_CLASS_LEAVES')).toBe(FLOW_CLASS.leaves);
    expect(define('WEIR_FLOW_CLASS_BASE')).toBe(FLOW_CLASS.base);
    expect(define('WEIR_FLOW_CLASS_STEP')).toBe(FLOW_CLASS.step);
  });

  it('sizes and sentinels', () => {
    expect(define('WEIR_POLICY_FIXED_BITS')).toBe(POLICY_FIXED_BITS);
    expect(define('WEIR_TIER_NONE')).toBe(TIER_NONE);
    expect(define('WEIR_RULE_NONE')).toBe(RULE_NONE);
    expect(define('WEIR_MAX_ENDPOINTS')).toBe(MAX_ENDPOINTS);
    expect(define('WEIR_POLICY_MAX_PER_ENDPOINT')).toBe(MAX_POLICY_ENTRIES_PER_ENDPOINT);
    expect(define('WEIR_EP_MAX_ADDRS')).toBe(MAX_ENDPOINT_ADDRS);
    expect(define('WEIR_ANY_IDENTITY')).toBe(ANY_IDENTITY);
    expect(define('WEIR_WORLD_IDENTITY')).toBe(WORLD_IDENTITY);
    expect(define('WEIR_CLUSTER_IDENTITY')).toBe(CLUSTER_IDENTITY);
    expect(define('WEIR_NAMESPACE_CLASS_BIT')).toBe(NAMESPACE_CLASS_BIT);
    expect(define('WEIR_LAYOUT_VERSION')).toBe(LAYOUT_VERSION);
  });

  it('the BPF sources use the named TIER_NONE, never a bare 0xff tier', () => {
    for (const file of ['bpf/weir.bpf.c', 'bpf/include/policy.h', 'bpf/include/events.h']) {
      const text = readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');
      expect(text, file).not.toMatch(/tier\s*=\s*0xff|0xff,\s*WEIR_RULE_NONE/);
    }
  });
});
