/**
 * Issue 7 end to end: the same NetworkPolicy scenarios and truth tables as on one node, with the
 * 3×3 pods alternating between two nodes (40 of the 72 ordered pairs cross nodes, each node's
 * agent learning remote pods from the API alone); then IP reuse across nodes and a restart of
 * one node's agent under traffic, on the same lab.
 */
import { describe, expect, it } from 'vitest';
import { describePrivileged } from '../support/privileged.js';
import { agentRestart, ipReuse, REUSE_BOUND_MS } from './multinode.js';
import { netpolScenarios } from './netpol.js';

const say = (line: string) => process.stdout.write(`[e2e 2node] ${line}\n`);

describePrivileged('e2e NetworkPolicy scenarios', () => {
  describe('two nodes', () => {
    const suite = netpolScenarios(2, '2node');

    it(`IP reuse across nodes: no stale allow or deny beyond ${REUSE_BOUND_MS} ms`, async () => {
      const steps = await ipReuse(suite.cluster(), say);
      expect(steps.map((s) => s.ms <= REUSE_BOUND_MS)).toEqual(steps.map(() => true));
    }, 120_000);

    it('restarting node-1\'s agent: iperf3 completes, denied flows stay denied, node-2 unaffected', async () => {
      const outcome = await agentRestart(suite.cluster(), say);
      expect(outcome.iperf.error).toBe('');
      expect(outcome.iperf.ok).toBe(true);
      expect(outcome.deniedPassed).toEqual([]);
      expect(outcome.allowedFailed).toEqual([]);
    }, 120_000);
  });
});
