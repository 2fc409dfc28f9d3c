/**
 * The rules of the cluster-scoped policies, as the compiler's admin/baseline machinery takes them:
 * tier, verdict, precedence (precedence.ts) and the origin that flow events and `weir explain`
 * name. AdminNetworkPolicy / BaselineAdminNetworkPolicy (v1alpha1) and ClusterNetworkPolicy
 * (v1beta1) differ only here; compile.ts treats them alike.
 */
import type { Direction, RuleOrigin, Tier, Verdict } from '../datapath/desired.js';
import type { ClusterNetworkPolicy } from './cnp.js';
import type { AdminNetworkPolicy, Peer, PortSpec } from './model.js';
import { adminPrecedence, baselinePrecedence, clusterPrecedence } from './precedence.js';

export interface TierRule {
  direction: Direction;
  origin: RuleOrigin;
  tier: Tier;
  verdict: Verdict;
  precedence: number;
  peers: Peer[];
  ports: PortSpec[] | 'all';
}

const VERDICT = { Allow: 'allow', Accept: 'allow', Deny: 'deny', Pass: 'pass' } as const satisfies Record<string, Verdict>;
const DIRECTIONS = ['ingress', 'egress'] as const;

/** "#2" or `#2 "deny-internet"`: rule names are optional upstream. */
export const ruleLabel = (index: number, name: string): string => (name === '' ? `#${index}` : `#${index} "${name}"`);

export function adminTierRules(p: AdminNetworkPolicy | ClusterNetworkPolicy): TierRule[] {
  const out: TierRule[] = [];
  const audit = p.audit === true ? { audit: true as const } : {};
  for (const direction of DIRECTIONS) {
    p[direction].forEach((r, index) => {
      const common = { direction, verdict: VERDICT[r.action], peers: r.peers, ports: r.ports };
      if (p.kind === 'ClusterNetworkPolicy') {
        out.push({
          ...common,
          tier: p.tier === 'Admin' ? 'admin' : 'baseline',
          precedence: clusterPrecedence(p.priority, index),
          origin: {
            kind: p.kind, direction, index,
            policy: `ClusterNetworkPolicy ${p.name} (${p.tier} tier, rule ${ruleLabel(index, r.name)})`,
            cnp: { name: p.name, tier: p.tier, rule: r.name },
            ...audit,
          },
        });
      } else {
        const admin = p.kind === 'AdminNetworkPolicy';
        out.push({
          ...common,
          tier: admin ? 'admin' : 'baseline',
          precedence: admin ? adminPrecedence(p.priority, index) : baselinePrecedence(index),
          origin: { kind: p.kind, policy: p.name, direction, index, ...audit },
        });
      }
    });
  }
  return out;
}
