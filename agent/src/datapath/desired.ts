/**
 * The contract between the policy compiler (agent/src/policy) and the datapath driver
 * (agent/src/datapath): the desired state of one node's maps, as plain typed values.
 * The compiler produces it; the driver encodes it into BPF map keys/values and diffs it
 * against what the maps hold.
 *
 * Evaluation model implemented by the BPF programs for the FIRST packet of a flow
 * (replies and established flows pass on conntrack):
 *   1. tier 'admin' (ClusterNetworkPolicy tier Admin, AdminNetworkPolicy): best matching entry → allow / deny final; pass → step 2.
 *   2. tier 'network' (NetworkPolicy / MultiNetworkPolicy, allow-only): a match allows; otherwise,
 *      if the endpoint is isolated in that direction, deny.
 *   3. tier 'baseline' (ClusterNetworkPolicy tier Baseline, BaselineAdminNetworkPolicy): best
 *      matching entry → allow / deny; pass → step 4.
 *   4. nothing matched: allow.
 * "Best" within a tier: among the entries that match the remote identity exactly, its namespace
 * class, CLUSTER_IDENTITY (a pod remote only) and ANY_IDENTITY, the highest `precedence` wins; at equal precedence deny beats pass beats
 * allow. The compiler makes a longest-prefix lookup sufficient: a narrower entry already carries the
 * strongest verdict of every broader entry of the same identity that covers it.
 */

/** Remote identity that matches any peer (a rule without peers, e.g. `from: []` absent). */
export const ANY_IDENTITY = 0;
/** Reserved identity for an address no pod or ipBlock claims. */
export const WORLD_IDENTITY = 1;
/** Identity class: every pod of the cluster (a peer selecting all pods of all namespaces). */
export const CLUSTER_IDENTITY = 2;
/**
 * Namespace classes are NAMESPACE_CLASS_BIT | n: every pod of one namespace. The ipcache gives a
 * pod's address its namespace class next to its identity (IpCacheEntry.namespaceClass).
 */
export const NAMESPACE_CLASS_BIT = 0x8000_0000;
/** Identities below this are reserved; label-set and CIDR identities are allocated above it. */
export const FIRST_ALLOCATED_IDENTITY = 256;
/** Label-set and CIDR identities stay below the namespace classes. */
export const LAST_ALLOCATED_IDENTITY = NAMESPACE_CLASS_BIT - 1;

export const isNamespaceClass = (id: number): boolean => id >= NAMESPACE_CLASS_BIT;

export type Direction = 'ingress' | 'egress';
export type Tier = 'admin' | 'network' | 'baseline';
export type Verdict = 'allow' | 'deny' | 'pass';
/** IANA protocol numbers; 0 means any protocol. */
export type Protocol = 0 | 6 | 17 | 132 | 1 | 58;

export interface PolicyEntry {
  tier: Tier;
  direction: Direction;
  /**
   * Remote peer identity; ANY_IDENTITY for "all peers", CLUSTER_IDENTITY for "every pod", a
   * namespace class for "every pod of that namespace".
   */
  identity: number;
  protocol: Protocol;
  /** Destination port and how many leading bits of it must match (0 = any port, 16 = exact). */
  port: number;
  portPrefixLength: number;
  verdict: Verdict;
  /** Higher wins inside a tier. */
  precedence: number;
  /** Index into DesiredNodeState.rules, reported in flow events as "the rule that decided". */
  ruleId: number;
  /**
   * Absent: enforced. 'rule': an entry of an audit policy (weir.dev/enforcement: audit on the
   * policy object), looked up only to judge a new flow as if every audit policy were enforced.
   * 'isolation': an audit NetworkPolicy isolates the endpoint in `direction` (network tier,
   * ANY_IDENTITY, protocol 0, verdict deny; ruleId names the policy). Each kind is its own
   * keyspace of the policy trie (bpf/include/weir_shared.h enum weir_policy_keyspace).
   */
  audit?: 'rule' | 'isolation';
}

export interface EndpointKey {
  /** Pod namespace/name and the interface inside the pod netns (eth0, net1, ...). */
  namespace: string;
  pod: string;
  interface: string;
}

export interface DesiredEndpoint extends EndpointKey {
  /** NetworkPolicy-tier isolation: a selected endpoint denies what its tier-2 entries do not allow. */
  isolatedIngress: boolean;
  isolatedEgress: boolean;
  entries: PolicyEntry[];
  /**
   * Set by the compiler: changes whenever `entries` or the isolation change, never repeats, so a
   * consumer can tell "unchanged" without comparing the entries (agent/src/endpoint-programs.ts program()).
   * Absent: compare the content.
   */
  revision?: number;
  /**
   * Audit mode (namespace annotation weir.dev/enforcement: audit): a flow policy would drop passes
   * and is reported as an AUDIT flow event. Absent = enforce. Set by the agent, not the compiler.
   */
  audit?: boolean;
}

/** Human-readable origin of a rule, for flow events, logs and `weir explain`. */
export interface RuleOrigin {
  /** e.g. "NetworkPolicy ns/allow-web", "AdminNetworkPolicy deny-ext", "default deny". */
  policy: string;
  kind: 'NetworkPolicy' | 'MultiNetworkPolicy' | 'ClusterNetworkPolicy' | 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'DefaultDeny';
  direction: Direction;
  /** Position of the rule inside the policy's ingress/egress list, when it has one. */
  index?: number;
  /** ClusterNetworkPolicy rules: the object, its tier and the rule's name ('' when unnamed). */
  cnp?: { name: string; tier: 'Admin' | 'Baseline'; rule: string };
  /** The policy is in audit mode (weir.dev/enforcement: audit): its rules are evaluated, never enforced. */
  audit?: true;
}

export interface IpCacheEntry {
  /** CIDR in canonical form: "10.0.0.5/32", "fd00::/64". */
  cidr: string;
  identity: number;
  /** A pod address: its namespace's class (isNamespaceClass). Absent for ipBlock CIDRs. */
  namespaceClass?: number;
}

export interface DesiredNodeState {
  ipcache: IpCacheEntry[];
  endpoints: DesiredEndpoint[];
  rules: RuleOrigin[];
}
