import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../api.js';
import { AuditHistory } from './audit-history.js';

const rec = (o: Partial<FlowRecord>): FlowRecord => ({
  time: '2026-01-01T00:00:00.000Z', node: 'node-1', endpoint: 'shop/web-7d4b9c8f5d-x2k9q', direction: 'ingress', verdict: 'AUDIT',
  reason: 'default-deny', source: 'shop/client-6f7c9d8b4-bcdfg:40312', destination: 'shop/web-7d4b9c8f5d-x2k9q:80', protocol: 'TCP',
  policy: 'shop/deny-all (audit policy)', remoteIdentity: 300, ...o,
});
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

describe('AuditHistory', () => {
  it('keeps distinct flows (replicas and source ports merged) with counts and first/last seen; other verdicts are not kept', () => {
    const h = new AuditHistory();
    h.add(rec({}), T0);
    h.add(rec({ source: 'shop/client-6f7c9d8b4-zzzzz:41000' }), T0 + 1000);
    h.add(rec({ reason: 'policy-allow', policy: 'shop/allow-batch (audit policy)' }), T0 + 2000);
    h.add(rec({ verdict: 'DROPPED', reason: 'policy-deny' }), T0 + 3000);
    expect(h.since(T0, T0 + 5000)).toEqual([
      { namespace: 'shop', policy: 'shop/deny-all (audit policy)', would: 'drop', source: 'shop/client', destination: 'shop/web', port: '80/TCP', events: 2, firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-01T00:00:01.000Z' },
      { namespace: 'shop', policy: 'shop/allow-batch (audit policy)', would: 'allow', source: 'shop/client', destination: 'shop/web', port: '80/TCP', events: 1, firstSeen: '2026-01-01T00:00:02.000Z', lastSeen: '2026-01-01T00:00:02.000Z' },
    ]);
    // The window is on the last sighting.
    expect(h.since(T0 + 1500, T0 + 5000).map((e) => e.would)).toEqual(['allow']);
  });

  it('is bounded: the least recently seen flow goes first, and nothing outlives the retention', () => {
    const h = new AuditHistory(3, 60_000);
    for (let port = 1; port <= 3; port++) h.add(rec({ destination: `shop/web-7d4b9c8f5d-x2k9q:${port}` }), T0 + port);
    h.add(rec({ destination: 'shop/web-7d4b9c8f5d-x2k9q:1' }), T0 + 10); // port 1 seen again: now the newest
    h.add(rec({ destination: 'shop/web-7d4b9c8f5d-x2k9q:4' }), T0 + 11); // evicts port 2
    expect(h.since(0, T0 + 20).map((e) => e.port)).toEqual(['3/TCP', '1/TCP', '4/TCP']);
    expect(h.size).toBe(3);
    h.add(rec({ destination: 'shop/web-7d4b9c8f5d-x2k9q:5' }), T0 + 60_011); // ports 3 (T0+3) and 1 (T0+10) are now older than a minute
    expect(h.since(0, T0 + 60_011).map((e) => e.port)).toEqual(['4/TCP', '5/TCP']);
  });
});
