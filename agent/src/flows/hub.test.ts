import { describe, expect, it } from 'vitest';
import type { FlowRecord } from './format.js';
import { FlowHub, flowMatches, parseFlowFilter } from './hub.js';

const record = (over: Partial<FlowRecord>): FlowRecord => ({
  time: '2026-01-01T00:00:00.000Z', node: 'n1', endpoint: 'shop/web', direction: 'ingress', verdict: 'DROPPED', reason: 'default-deny',
  source: '10.0.0.9:40000', destination: 'shop/web:80', protocol: 'TCP', policy: 'default deny', remoteIdentity: 1, ...over,
});

describe('/v1/flows filter', () => {
  it('verdict=audit keeps only AUDIT records; allowed and dropped do not include them', () => {
    const parsed = parseFlowFilter(new URLSearchParams('verdict=audit'));
    expect(parsed).toEqual({ ok: true, filter: { verdict: 'audit' } });
    const audit = record({ verdict: 'AUDIT', reason: 'policy-deny' });
    const drop = record({});
    const allow = record({ verdict: 'ALLOWED', reason: 'policy-allow' });
    expect([audit, drop, allow].map((r) => flowMatches(r, { verdict: 'audit' }))).toEqual([true, false, false]);
    expect([audit, drop, allow].map((r) => flowMatches(r, { verdict: 'dropped' }))).toEqual([false, true, false]);
    expect([audit, drop, allow].map((r) => flowMatches(r, { verdict: 'allowed' }))).toEqual([false, false, true]);
  });

  it('pod=ns/name matches the endpoint and either end, with or without a port (ICMP ends have none)', () => {
    const f = { pod: 'shop/client' };
    expect(flowMatches(record({ source: 'shop/client:40000' }), f)).toBe(true);
    expect(flowMatches(record({ protocol: 'ICMP', source: 'shop/client', destination: 'shop/web' }), f)).toBe(true);
    expect(flowMatches(record({ endpoint: 'shop/client/net1', source: '[fd00::9]:40000' }), f)).toBe(true);
    expect(flowMatches(record({ source: '[fd00::9]:40000' }), f)).toBe(false);
    expect(flowMatches(record({ source: 'shop/client-2:40000' }), f)).toBe(false);
  });

  it('a bad verdict names the allowed values', () => {
    const parsed = parseFlowFilter(new URLSearchParams('verdict=audited'));
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.error).toContain('allowed, dropped or audit');
  });

  it('the hub delivers audit records to an audit subscriber only', () => {
    const hub = new FlowHub();
    const got: string[] = [];
    hub.subscribe({ verdict: 'audit' }, (r) => got.push(r.verdict));
    hub.publish(record({}));
    hub.publish(record({ verdict: 'AUDIT' }));
    expect(got).toEqual(['AUDIT']);
  });
});
