/**
 * Issue 5 end to end: the NetworkPolicy scenarios on a one-node lab (real kube-apiserver + etcd,
 * webhook, agent process, pods wired by real macvlan + host-local + weir plugins), full 9×9
 * reachability matrix on TCP and UDP ports 80 and 81 after every step; then the audit rollouts
 * (issue 17, audit-scenarios.ts) on the same lab.
 */
import { describe } from 'vitest';
import { describePrivileged } from '../support/privileged.js';
import { AUDIT_SCENARIOS } from './audit-scenarios.js';
import { netpolScenarios } from './netpol.js';
import { SCENARIOS } from './scenarios.js';

describePrivileged('e2e NetworkPolicy scenarios', () => {
  describe('one node', () => {
    netpolScenarios(1, '1node', [...SCENARIOS, ...AUDIT_SCENARIOS]);
  });
});
