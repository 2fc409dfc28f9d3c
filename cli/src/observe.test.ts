import { describe, expect, it } from 'vitest';
import { parseFlowRecord, type FlowRecord } from '../../agent/src/api.js';
import { formatRecord } from './observe.js';

const audit: FlowRecord = {
  time: '2026-01-01T00:00:00.000Z', node: 'node-1', endpoint: 'shop/web', direction: 'ingress', verdict: 'AUDIT', reason: 'policy-deny',
  source: 'shop/client:40312', destination: 'shop/web:80', protocol: 'TCP', policy: 'NetworkPolicy shop/deny-all', remoteIdentity: 300,
};

describe('weir observe: AUDIT records', () => {
  it('are accepted from the agent and printed as "AUDIT would drop" with the policy', () => {
    const parsed = parseFlowRecord(JSON.parse(JSON.stringify(audit)));
    expect(parsed.ok).toBe(true);
    expect(formatRecord(audit, 'text')).toBe('node-1  shop/client:40312 -> shop/web:80 TCP AUDIT would drop (policy NetworkPolicy shop/deny-all, ingress)');
    expect(formatRecord(audit, 'wide')).toContain('AUDIT would drop (policy NetworkPolicy shop/deny-all, ingress)  reason=policy-deny');
    expect(parseFlowRecord({ ...audit, verdict: 'MAYBE' })).toEqual({ ok: false, error: 'flow record field verdict must be ALLOWED, DROPPED or AUDIT' });
  });
});
