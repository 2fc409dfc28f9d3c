/**
 * Typed models of the Kubernetes objects the policy compiler reads. Their boundary parsers are in
 * np-parse.ts (NetworkPolicy, MultiNetworkPolicy), anp-parse.ts (AdminNetworkPolicy, Baseline) and
 * pod-parse.ts (Pod, Namespace), re-exported here for their many importers; the shared field readers
 * are in model-read.ts. Every parser takes `unknown` and returns either the typed value or every bad
 * field with its path. The models keep only what policy needs.
 */
import type { Cidr } from '../../../common/src/ip.js';
import type { ClusterNetworkPolicy } from './cnp.js';
import type { EndpointSlice, Service } from './service-model.js';

export type { FieldError, Parsed } from './read.js';
export { MULTUS_POLICY_FOR as POLICY_FOR_ANNOTATION } from '../../../common/src/annotations.js';
export { parseMultiNetworkPolicy, parseNetworkPolicy } from './np-parse.js';
export { parseAdminNetworkPolicy, parseBaselineAdminNetworkPolicy } from './anp-parse.js';
export { DEFAULT_INTERFACE, parseNamespace, parsePod } from './pod-parse.js';

export type LabelOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
export interface LabelExpression {
  key: string;
  operator: LabelOperator;
  values: string[];
}
/** An empty selector (no labels, no expressions) matches everything. */
export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: LabelExpression[];
}

export type ProtocolName = 'TCP' | 'UDP' | 'SCTP';

export type PortSpec =
  /** A protocol with no port: every port of that protocol. */
  | { kind: 'protocol'; protocol: ProtocolName }
  /** A port or an inclusive range [port, endPort]. */
  | { kind: 'number'; protocol: ProtocolName; port: number; endPort: number }
  /** A container port name, resolved on the destination pod; protocol undefined = any (ANP namedPort). */
  | { kind: 'named'; protocol: ProtocolName | undefined; name: string };

export interface IpBlock {
  cidr: Cidr;
  except: Cidr[];
}

/** Which namespaces a pod peer/subject ranges over. */
export type NamespaceScope = { kind: 'name'; name: string } | { kind: 'selector'; selector: LabelSelector };

export type Peer =
  | { kind: 'pods'; namespaces: NamespaceScope; pods: LabelSelector }
  | { kind: 'ipBlock'; block: IpBlock }
  /** Every address (an ANP Deny/Pass peer we cannot represent fails closed to this). */
  | { kind: 'all' }
  /** Nothing (an ANP Allow peer we cannot represent fails closed to this). */
  | { kind: 'none' };

/** `peers: 'all'` = the from/to list was absent or empty; `ports: 'all'` likewise. */
export interface NetworkPolicyRule {
  peers: Peer[] | 'all';
  ports: PortSpec[] | 'all';
}

export interface NetworkPolicy {
  kind: 'NetworkPolicy' | 'MultiNetworkPolicy';
  namespace: string;
  name: string;
  podSelector: LabelSelector;
  /** After policyTypes defaulting. */
  affectsIngress: boolean;
  affectsEgress: boolean;
  ingress: NetworkPolicyRule[];
  egress: NetworkPolicyRule[];
  /** MultiNetworkPolicy only: the NADs (namespace/name) it applies to. */
  policyFor: { namespace: string; name: string }[];
  /** Audit policy (model-read.ts, readPolicyEnforcement): compiled and evaluated, never enforced. */
  audit?: true;
}

export type AdminAction = 'Allow' | 'Deny' | 'Pass';
export interface AdminRule {
  name: string;
  action: AdminAction;
  peers: Peer[];
  ports: PortSpec[] | 'all';
}
export interface AdminSubject {
  namespaces: LabelSelector;
  /** undefined = every pod of the selected namespaces. */
  pods: LabelSelector | undefined;
}
export interface AdminNetworkPolicy {
  kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy';
  name: string;
  /** 0..1000, lower wins; BANP has none (it is one tier of its own). */
  priority: number;
  subject: AdminSubject;
  ingress: AdminRule[];
  egress: AdminRule[];
  /** Audit policy (model-read.ts, readPolicyEnforcement): compiled and evaluated, never enforced. */
  audit?: true;
}

export interface ContainerPort {
  name: string;
  port: number;
  protocol: ProtocolName;
}
export interface PodInterface {
  /** Interface name inside the pod netns. */
  name: string;
  /** "ns/nad" for Multus attachments, undefined for the default network. */
  network: string | undefined;
  ips: string[];
}
export interface Pod {
  namespace: string;
  name: string;
  nodeName: string | undefined;
  labels: Record<string, string>;
  hostNetwork: boolean;
  /** Succeeded/Failed pods hold no IPs and get no endpoints. */
  terminal: boolean;
  defaultInterface: string;
  interfaces: PodInterface[];
  containerPorts: ContainerPort[];
}
export interface Namespace {
  name: string;
  labels: Record<string, string>;
}

export interface ClusterState {
  namespaces: Namespace[];
  pods: Pod[];
  networkPolicies: NetworkPolicy[];
  multiNetworkPolicies: NetworkPolicy[];
  adminNetworkPolicies: AdminNetworkPolicy[];
  baselineAdminNetworkPolicy: AdminNetworkPolicy | undefined;
  /** policy.networking.k8s.io/v1beta1, with `nodes` peers already resolved (agent/src/policy/cnp-nodes.ts). */
  clusterNetworkPolicies?: ClusterNetworkPolicy[];
  /** Services and their EndpointSlices: egress to a ClusterIP (agent/src/policy/services.ts). */
  services?: Service[];
  endpointSlices?: EndpointSlice[];
}
