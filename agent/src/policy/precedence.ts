/**
 * Precedence of admin and baseline rules inside their tier (higher wins; see
 * agent/src/datapath/desired.ts for how the datapath uses it).
 *
 * Admin tier: ClusterNetworkPolicy `tier: Admin` (v1beta1) and AdminNetworkPolicy (v1alpha1) share
 * one priority scale, 0..1000, lower first. At equal priority the ClusterNetworkPolicy rules come
 * first (it is the current API; ANP is kept for clusters that still run it). Within one policy the
 * rules keep their written order.
 *
 * Baseline tier: ClusterNetworkPolicy `tier: Baseline` by priority, then rule order; the
 * BaselineAdminNetworkPolicy singleton (no priority) comes after every one of them.
 *
 * Each priority owns 256 values: ClusterNetworkPolicy rules (at most 25) the upper 128, ANP rules
 * (at most 100) the lower 128. The largest value, 1000 * 256 + 255, fits the datapath's u32.
 */
const SLOT = 256;
const HALF = 128;

/** AdminNetworkPolicy rule `index` at `priority`. */
export const adminPrecedence = (priority: number, index: number): number => (1000 - priority) * SLOT + (HALF - 1 - index);
/** ClusterNetworkPolicy rule `index` at `priority`, either tier. */
export const clusterPrecedence = (priority: number, index: number): number => (1000 - priority) * SLOT + HALF + (HALF - 1 - index);
/** BaselineAdminNetworkPolicy rule `index`: below every Baseline ClusterNetworkPolicy rule. */
export const baselinePrecedence = (index: number): number => HALF - 1 - index;
