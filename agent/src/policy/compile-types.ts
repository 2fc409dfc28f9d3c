/**
 * The policy compiler's internal model (compile.ts and its parts: selector-index.ts,
 * ipcache-table.ts, emit.ts). Not used outside agent/src/policy.
 */
import type { Direction, PolicyEntry, Protocol, Tier, Verdict } from '../datapath/desired.js';
import type { Cidr } from '../../../common/src/ip.js';
import type { ContainerPort, LabelSelector, NamespaceScope, Peer, Pod, ProtocolName } from './model.js';

/** Pods with the same security labels and named ports: interchangeable to every selector. */
export interface Principal {
  key: string;
  namespace: string;
  podLabels: Record<string, string>;
  namedPorts: ContainerPort[];
  pods: Set<string>;
  /** Keys of the compiled endpoint groups of this principal. */
  groups: Set<string>;
  /** Pod-IP identities of this principal. */
  identities: Set<IdentityInfo>;
}

export interface IdentityInfo {
  key: string;
  id: number;
  principal: Principal | undefined;
  cidr: Cidr | undefined;
  /** ipBlock CIDRs (canonical) containing this pod IP. */
  members: string[];
}

export interface SelectorEntry {
  key: string;
  scope: NamespaceScope;
  pods: LabelSelector | undefined;
  principals: Set<Principal>;
  users: Set<string>;
}

export interface PodRecord {
  pod: Pod;
  principal: Principal;
  /** Allocator keys this pod holds, one per IP (for release). */
  identityKeys: string[];
  /** IPs (canonical host CIDR) this pod claims in the ipcache. */
  ips: string[];
  /** The same addresses parsed, for "does a new ipBlock hold a pod address" (compile.ts). */
  hosts: Cidr[];
}

export interface CompiledRule {
  /** The peers as written, to test identities that appear later. */
  spec: Peer[] | 'all';
  ruleId: number;
  tier: Tier;
  verdict: Verdict;
  precedence: number;
  /** undefined = any peer. Pod identities named one by one (peers no class stands for) and CIDR identities. */
  peers: Set<number> | undefined;
  /** Identity classes standing for the rule's wide peers (classes.ts): one entry each. */
  classes: number[];
  /** Whether wide peers are represented by `classes` (not for egress named ports, resolved per peer). */
  classed: boolean;
  /** Numeric (protocol, port prefix) keys, already expanded. */
  ports: { protocol: Protocol; port: number; prefixLength: number }[];
  /** Named ports, resolved per endpoint (ingress) or per peer identity (egress). */
  named: { protocol: ProtocolName | undefined; name: string }[];
  /** A rule of an audit policy: its entries go to the audit keyspace (PolicyEntry.audit 'rule'). */
  audit?: true;
}

export interface GroupState {
  /** Taken from the compiler's counter whenever the group is built or its entries change (DesiredEndpoint.revision). */
  revision: number;
  isolatedIngress: boolean;
  isolatedEgress: boolean;
  entries: PolicyEntry[];
  rules: { r: CompiledRule; direction: Direction }[];
  ownPorts: ContainerPort[];
  /** The default network's interface: its egress also gets Service ClusterIP entries (service-emit.ts). */
  defaultNetwork: boolean;
  /** The ClusterIP identities it has entries for: a ClusterIP change scans only these groups' entries. */
  serviceIds: Set<number>;
}

export interface CompiledPolicy {
  ingress: CompiledRule[];
  egress: CompiledRule[];
}

