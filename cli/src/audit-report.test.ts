import { describe, expect, it } from 'vitest';
import { workloadOf, type FlowRecord } from '../../agent/src/api.js';
import { auditReport, entriesOfRecords, parseWindow, reportLines } from './audit-report.js';

const rec = (o: Partial<FlowRecord>): FlowRecord => ({
  time: '2026-01-01T00:00:00.000Z', node: 'node-1', endpoint: 'shop/web-7d4b9c8f5d-x2k9q', direction: 'ingress', verdict: 'AUDIT',
  reason: 'default-deny', source: 'shop/client-6f7c9d8b4-bcdfg:40312', destination: 'shop/web-7d4b9c8f5d-x2k9q:80', protocol: 'TCP',
  policy: 'shop/deny-all (audit policy)', remoteIdentity: 300, ...o,
});

describe('weir audit report', () => {
  it('per audit policy and verdict: distinct (source workload, destination workload, port) flows, replicas merged', () => {
    const report = auditReport(entriesOfRecords([
      rec({}),
      rec({ source: 'shop/client-6f7c9d8b4-zzzzz:40999' }), // another replica, same flow
      rec({ source: 'shop/client-6f7c9d8b4-bcdfg:41000', destination: 'shop/web-7d4b9c8f5d-x2k9q:8080' }),
      rec({ source: '192.0.2.7:5000' }),
      rec({ reason: 'policy-allow', policy: 'shop/allow-batch (audit policy)', source: 'shop/batch-0:51000' }),
      rec({ verdict: 'DROPPED', reason: 'policy-deny', policy: 'NetworkPolicy shop/other' }), // not an audit event
      rec({ endpoint: 'bank/api', destination: 'bank/api:443', policy: 'bank/deny (audit policy)' }),
      rec({ protocol: 'ICMP', source: 'shop/client-6f7c9d8b4-bcdfg', destination: 'shop/web-7d4b9c8f5d-x2k9q' }),
    ]), 'shop');
    expect(report).toEqual([
      { policy: 'shop/allow-batch (audit policy)', would: 'allow', sources: ['shop/batch-0'], flows: [{ source: 'shop/batch-0', destination: 'shop/web', port: '80/TCP', events: 1 }] },
      {
        policy: 'shop/deny-all (audit policy)', would: 'drop', sources: ['192.0.2.7', 'shop/client'],
        flows: [
          { source: '192.0.2.7', destination: 'shop/web', port: '80/TCP', events: 1 },
          { source: 'shop/client', destination: 'shop/web', port: '80/TCP', events: 2 },
          { source: 'shop/client', destination: 'shop/web', port: '8080/TCP', events: 1 },
          { source: 'shop/client', destination: 'shop/web', port: 'ICMP', events: 1 },
        ],
      },
    ]);
    const lines = reportLines(report, { listen: 30 });
    expect(lines[0]).toBe('shop/allow-batch (audit policy): would allow 1 distinct flow (from shop/batch-0)');
    expect(lines[2]).toBe('shop/deny-all (audit policy): would drop 4 distinct flows (from 192.0.2.7, shop/client)');
    expect(lines[4]).toBe('  shop/client -> shop/web 80/TCP  (2 events)');
    // Without -n: every namespace.
    expect(auditReport(entriesOfRecords([rec({}), rec({ endpoint: 'bank/api', policy: 'bank/deny (audit policy)' })])).map((p) => p.policy))
      .toEqual(['bank/deny (audit policy)', 'shop/deny-all (audit policy)']);
  });

  it('flows kept by several agents add up; the history window is named', () => {
    const kept = (node: string, events: number) => ({
      namespace: 'shop', policy: 'shop/deny-all (audit policy)', would: 'drop' as const, source: 'shop/client', destination: 'shop/web', port: '80/TCP',
      events, firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: `2026-01-01T00:0${node}:00.000Z`,
    });
    const report = auditReport([kept('1', 3), kept('2', 4), { ...kept('1', 1), port: '81/TCP' }]);
    expect(report).toEqual([{ policy: 'shop/deny-all (audit policy)', would: 'drop', sources: ['shop/client'], flows: [
      { source: 'shop/client', destination: 'shop/web', port: '80/TCP', events: 7 },
      { source: 'shop/client', destination: 'shop/web', port: '81/TCP', events: 1 },
    ] }]);
    expect(reportLines(report, { since: 3600 }).at(-1)).toMatch(/^\(AUDIT flow events of the last 3600s; .*last 10,000 distinct flows for a day/);
    expect(auditReport([kept('1', 3)], 'bank')).toEqual([]);
  });

  it('an empty window says so; workloads and windows parse', () => {
    expect(reportLines([], { listen: 30 })).toEqual(['no AUDIT flow events in 30s of listening: no audit policy or audit namespace would change a new flow in that time']);
    expect(reportLines([], { since: 3600 })[0]).toBe('no AUDIT flow events in the last 3600s: no audit policy or audit namespace would change a new flow in that time');
    expect(workloadOf('ns/web-7d4b9c8f5d-x2k9q')).toBe('ns/web');
    expect(workloadOf('ns/agent-x7k2p')).toBe('ns/agent');
    expect(workloadOf('ns/db-0')).toBe('ns/db-0');
    expect(workloadOf('ns/my-proxy')).toBe('ns/my-proxy'); // a vowel: not a generated suffix
    expect(workloadOf('[fd00::1]')).toBe('[fd00::1]');
    expect([parseWindow('30s'), parseWindow('5m'), parseWindow('1h'), parseWindow('45'), parseWindow('0s'), parseWindow('1d')]).toEqual([30, 300, 3600, 45, undefined, undefined]);
  });
});
