import { describe, expect, it } from 'vitest';
import type { DesiredEndpoint } from '../datapath/desired.js';
import { NamespaceEnforcement, parseEnforcement } from './enforcement.js';

const ns = (name: string, annotations?: unknown): unknown => ({ metadata: { name, ...(annotations === undefined ? {} : { annotations }) } });
const desired = (namespace: string): DesiredEndpoint => ({ namespace, pod: 'p', interface: 'eth0', isolatedIngress: true, isolatedEgress: false, entries: [] });

describe('weir.dev/enforcement on a namespace', () => {
  it('audit and enforce parse; absence enforces', () => {
    expect(parseEnforcement(ns('a', { 'weir.dev/enforcement': 'audit' }))).toEqual({ mode: 'audit' });
    expect(parseEnforcement(ns('a', { 'weir.dev/enforcement': 'enforce' }))).toEqual({ mode: 'enforce' });
    expect(parseEnforcement(ns('a'))).toEqual({ mode: 'enforce' });
    expect(parseEnforcement('not an object')).toEqual({ mode: 'enforce' });
  });

  it('a bad value enforces, with a warning naming the field and the allowed values', () => {
    const p = parseEnforcement(ns('shop', { 'weir.dev/enforcement': 'audti' }));
    expect(p.mode).toBe('enforce');
    expect(p.warning).toContain('metadata.annotations["weir.dev/enforcement"]');
    expect(p.warning).toContain('"audti"');
    expect(p.warning).toContain('enforce|audit');
    expect(p.warning).toContain('namespace shop');
    // Case matters, as for every annotation value; a non-string value is no annotation at all.
    expect(parseEnforcement(ns('a', { 'weir.dev/enforcement': 'Audit' })).mode).toBe('enforce');
    expect(parseEnforcement(ns('a', { 'weir.dev/enforcement': true })).warning).toBeUndefined();
  });

  it('marks the desired endpoints of audit namespaces only, follows changes, warns once per bad value', () => {
    const e = new NamespaceEnforcement();
    expect(e.upsert(ns('a', { 'weir.dev/enforcement': 'audit' }))).toBeUndefined();
    expect(e.apply(desired('a')).audit).toBe(true);
    expect(e.apply(desired('b')).audit).toBeUndefined();
    expect(e.upsert(ns('a', { 'weir.dev/enforcement': 'audti' }))).toMatch(/audti/);
    expect(e.upsert(ns('a', { 'weir.dev/enforcement': 'audti' }))).toBeUndefined(); // resync: not repeated
    expect(e.apply(desired('a')).audit).toBeUndefined();
    e.upsert(ns('a', { 'weir.dev/enforcement': 'audit' }));
    e.remove('a');
    expect(e.mode('a')).toBe('enforce');
  });
});
