import { afterEach, describe, expect, it, vi } from 'vitest';
import { DropLog } from './drop-log.js';
import type { FlowRecord } from './format.js';

const record = (over: Partial<FlowRecord>): FlowRecord => ({
  time: '2026-01-01T00:00:00.000Z', node: 'n1', endpoint: 'ns/a', direction: 'ingress', verdict: 'DROPPED', reason: 'default-deny',
  source: '10.0.0.9:40000', destination: 'ns/a:80', protocol: 'TCP', policy: 'default deny', remoteIdentity: 1, ...over,
});

describe('DropLog: drop lines aggregated per second', () => {
  afterEach(() => vi.useRealTimers());

  it('a flood against one endpoint is one line at once and one summary per second', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const log = new DropLog((_f, m) => lines.push(m));
    for (let port = 1; port <= 5000; port++) log.add(record({ destination: `ns/a:${port}` }));
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^4999 more ingress drops \(default-deny\) on ns\/a in the last 1000 ms/);
    // A quiet second later, the next drop is logged at once again.
    log.add(record({}));
    expect(lines).toHaveLength(3);
  });

  it('keys are endpoint, direction and reason: different drops are not folded together', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const log = new DropLog((_f, m) => lines.push(m));
    log.add(record({}));
    log.add(record({ endpoint: 'ns/b' }));
    log.add(record({ direction: 'egress' }));
    log.add(record({ reason: 'spoofed' }));
    log.add(record({ reason: 'spoofed' }));
    expect(lines).toHaveLength(4);
    log.flush();
    expect(lines).toHaveLength(5);
    expect(lines[4]).toMatch(/^1 more ingress drops \(spoofed\)/);
  });
});
