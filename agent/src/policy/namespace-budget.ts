/**
 * A per-namespace budget of ipBlock CIDRs (issue 13, finding 4). Every CIDR a policy names is an
 * entry in the node-wide ipcache, which also holds every pod address of the cluster, on every node.
 * A tenant who may write NetworkPolicies in one namespace could otherwise fill it with tens of
 * thousands of ipBlocks and push other tenants' addresses out (judged as world). So the policies a
 * tenant writes (NetworkPolicy, MultiNetworkPolicy: namespaced) may together name at most `limit`
 * distinct CIDRs (cidr and except) per namespace. Cluster-scoped kinds are the cluster
 * administrator's and have no budget.
 *
 * A policy that would take its namespace over the budget is refused as a whole, like a policy that
 * does not parse (agent/src/policy/intake.ts): its last admitted version stays, or its pods are
 * isolated. Fail closed, and only in that namespace; the policies admitted before it are unchanged.
 */
import type { NetworkPolicy } from './model.js';

/** Distinct ipBlock CIDRs one namespace's policies may name (agent.policy.ipBlockCidrsPerNamespace). */
export const DEFAULT_IPBLOCK_CIDRS_PER_NAMESPACE = 2048;
export const MAX_IPBLOCK_CIDRS_PER_NAMESPACE = 65_536;

/** The distinct CIDRs (canonical text) a NetworkPolicy or MultiNetworkPolicy names, both directions. */
export function ipBlockCidrs(p: NetworkPolicy): Set<string> {
  const out = new Set<string>();
  for (const rule of [...p.ingress, ...p.egress]) {
    if (rule.peers === 'all') continue;
    for (const peer of rule.peers) {
      if (peer.kind !== 'ipBlock') continue;
      out.add(peer.block.cidr.canonical);
      for (const e of peer.block.except) out.add(e.canonical);
    }
  }
  return out;
}

export type BudgetVerdict = { ok: true } | { ok: false; total: number; own: number };

export class NamespaceCidrBudget {
  /** namespace → policy key → its CIDRs (admitted policies only). */
  private readonly admitted = new Map<string, Map<string, Set<string>>>();

  constructor(readonly limit: number) {}

  /**
   * Admits `key`'s CIDRs when the namespace's distinct total (without the policy's previous
   * version) stays within the limit; on refusal the previous version, if any, stays counted.
   */
  admit(namespace: string, key: string, cidrs: Set<string>): BudgetVerdict {
    const policies = this.admitted.get(namespace) ?? new Map<string, Set<string>>();
    const union = new Set(cidrs);
    for (const [k, set] of policies) {
      if (k === key) continue;
      for (const c of set) union.add(c);
      if (union.size > this.limit) break;
    }
    if (union.size > this.limit) return { ok: false, total: union.size, own: cidrs.size };
    if (cidrs.size === 0) policies.delete(key);
    else policies.set(key, cidrs);
    if (policies.size === 0) this.admitted.delete(namespace);
    else this.admitted.set(namespace, policies);
    return { ok: true };
  }

  /** Forgets a policy (deleted, or replaced by an isolation that names no CIDR). */
  remove(namespace: string, key: string): void {
    const policies = this.admitted.get(namespace);
    if (policies === undefined) return;
    policies.delete(key);
    if (policies.size === 0) this.admitted.delete(namespace);
  }
}
