/**
 * ClusterNetworkPolicy (policy.networking.k8s.io/v1beta1, network-policy-api v0.3.0): the typed
 * model and its boundary parser. Semantics are upstream's (apis/v1beta1/clusternetworkpolicy_types.go):
 *
 * - `tier: Admin` rules run before NetworkPolicy, `tier: Baseline` after it;
 * - inside a tier, lower `priority` first, then the rules in the order written;
 * - `Accept` and `Deny` end evaluation, `Pass` skips the rest of the tier;
 * - peers: `namespaces`, `pods`; egress also `networks` (CIDRs), `nodes` (the addresses of the
 *   selected Nodes) and `domainNames` (parsed, not enforced: see cnp-resolve.ts);
 * - `protocols`: tcp/udp/sctp with a port or a port range, or a destination named port.
 *
 * Weir addition: the `k8s.v1.cni.cncf.io/policy-for` annotation (`namespace/nad`, comma-separated)
 * moves the policy from the pod's default interface to the secondary interfaces on those NADs,
 * as it does for MultiNetworkPolicy.
 */
import type { Cidr } from '../../../common/src/ip.js';
import { readCidr, readMeta, readPolicyEnforcement, readPolicyFor, readSelector } from './model-read.js';
import {
  POLICY_FOR_ANNOTATION,
  type AdminSubject,
  type LabelSelector,
  type Parsed,
  type Peer,
  type PortSpec,
  type ProtocolName,
} from './model.js';
import { Reader } from './read.js';

export type CnpTier = 'Admin' | 'Baseline';
export type CnpAction = 'Accept' | 'Deny' | 'Pass';
/** Upstream's CRD limits (MaxItems=25): rules per direction, peers and protocols per rule. */
export const CNP_MAX_ITEMS = 25;

/** A peer as written. */
export type CnpPeer =
  | { kind: 'pods'; namespaces: LabelSelector; pods: LabelSelector }
  | { kind: 'networks'; cidrs: Cidr[] }
  | { kind: 'nodes'; nodes: LabelSelector }
  | { kind: 'domainNames'; names: string[] }
  /** No field this version knows: upstream says to fail closed (a newer CRD with a new peer type). */
  | { kind: 'unknown'; fields: string[] };

export interface CnpRuleSpec {
  name: string;
  action: CnpAction;
  peers: CnpPeer[];
  ports: PortSpec[] | 'all';
}

/** The object as parsed, before `nodes` peers are resolved to addresses. */
export interface ClusterNetworkPolicySpec {
  name: string;
  /** metadata.uid ('' when absent): the Events about it name it. */
  uid: string;
  tier: CnpTier;
  /** 0..1000, lower first. */
  priority: number;
  subject: AdminSubject;
  ingress: CnpRuleSpec[];
  egress: CnpRuleSpec[];
  /** NADs (namespace/name) from policy-for; empty = the pod's default interface. */
  policyFor: { namespace: string; name: string }[];
  /** Audit policy (weir.dev/enforcement: audit, model-read.ts readPolicyEnforcement): evaluated, never enforced. */
  audit?: true;
}

/** A rule as the compiler takes it: peers resolved (cnp-resolve.ts). */
export interface CnpRule {
  name: string;
  action: CnpAction;
  peers: Peer[];
  ports: PortSpec[] | 'all';
}

/** What the compiler takes (agent/src/policy/compile.ts). */
export interface ClusterNetworkPolicy {
  kind: 'ClusterNetworkPolicy';
  name: string;
  tier: CnpTier;
  priority: number;
  subject: AdminSubject;
  ingress: CnpRule[];
  egress: CnpRule[];
  policyFor: { namespace: string; name: string }[];
  /** Audit policy: evaluated, never enforced. */
  audit?: true;
  /**
   * The object as parsed, when it came from the watch: the agent resolves its `nodes` peers again
   * whenever Nodes change (cnp-intake.ts). The compiler ignores it.
   */
  spec?: ClusterNetworkPolicySpec;
}

/** Where a ClusterNetworkPolicy applies: the default interface, or the interfaces on its policy-for NADs. */
export function cnpAppliesTo(p: Pick<ClusterNetworkPolicy, 'policyFor'>, isDefault: boolean, network: string | undefined): boolean {
  if (p.policyFor.length === 0) return isDefault;
  return !isDefault && network !== undefined && p.policyFor.some((n) => `${n.namespace}/${n.name}` === network);
}

const PROTOCOL_FIELDS: readonly [string, ProtocolName][] = [
  ['tcp', 'TCP'],
  ['udp', 'UDP'],
  ['sctp', 'SCTP'],
];
const PORT_NAME = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

/** Fields set (not undefined/null) among `names`. */
const present = (o: Record<string, unknown>, names: readonly string[]): string[] =>
  names.filter((n) => o[n] !== undefined && o[n] !== null);

function readList(r: Reader, v: unknown, path: string, required: boolean): unknown[] {
  const list = r.array(v, path);
  if (list === undefined) {
    if (required) r.fail(path, 'is required and must list at least one item');
    return [];
  }
  if (list.length === 0) r.fail(path, 'must list at least one item (omit the field instead)');
  if (list.length > CNP_MAX_ITEMS) r.fail(path, `must have at most ${CNP_MAX_ITEMS} items`);
  return list;
}

function readProtocols(r: Reader, v: unknown, path: string): PortSpec[] | 'all' {
  if (v === undefined || v === null) return 'all';
  const out: PortSpec[] = [];
  readList(r, v, path, false).forEach((item, i) => {
    const p = `${path}[${i}]`;
    const o = r.requiredRecord(item, p);
    const set = present(o, ['tcp', 'udp', 'sctp', 'destinationNamedPort']);
    if (set.length !== 1) {
      r.fail(p, 'must set exactly one of tcp, udp, sctp, destinationNamedPort');
      return;
    }
    if (set[0] === 'destinationNamedPort') {
      const name = r.requiredString(o['destinationNamedPort'], `${p}.destinationNamedPort`);
      if (name !== '' && !PORT_NAME.test(name)) r.fail(`${p}.destinationNamedPort`, `"${name}" is not a valid port name`);
      // Any protocol: the container port of that name decides it.
      else if (name !== '') out.push({ kind: 'named', protocol: undefined, name });
      return;
    }
    const [field, protocol] = PROTOCOL_FIELDS.find(([f]) => f === set[0]) ?? ['tcp', 'TCP'];
    const proto = r.requiredRecord(o[field], `${p}.${field}`);
    const dp = r.record(proto['destinationPort'], `${p}.${field}.destinationPort`);
    if (dp === undefined) {
      out.push({ kind: 'protocol', protocol });
      return;
    }
    const dpPath = `${p}.${field}.destinationPort`;
    const kinds = present(dp, ['number', 'range']);
    if (kinds.length !== 1) {
      r.fail(dpPath, 'must set exactly one of number, range');
      return;
    }
    if (kinds[0] === 'number') {
      const n = r.integer(dp['number'], `${dpPath}.number`, 1, 65535);
      if (n !== undefined) out.push({ kind: 'number', protocol, port: n, endPort: n });
      return;
    }
    const range = r.requiredRecord(dp['range'], `${dpPath}.range`);
    const start = r.integer(range['start'], `${dpPath}.range.start`, 1, 65535);
    const end = r.integer(range['end'], `${dpPath}.range.end`, 1, 65535);
    if (start === undefined || end === undefined) {
      if (range['start'] === undefined || range['end'] === undefined) r.fail(`${dpPath}.range`, 'start and end are required');
    } else if (start >= end) r.fail(`${dpPath}.range.end`, `must be greater than start (${start}); use number for one port`);
    else out.push({ kind: 'number', protocol, port: start, endPort: end });
  });
  return out;
}

const INGRESS_PEERS = ['namespaces', 'pods'] as const;
const EGRESS_PEERS = ['namespaces', 'pods', 'nodes', 'networks', 'domainNames'] as const;

function readPeer(r: Reader, v: unknown, path: string, egress: boolean): CnpPeer | undefined {
  const o = r.requiredRecord(v, path);
  const known: readonly string[] = egress ? EGRESS_PEERS : INGRESS_PEERS;
  const set = present(o, known);
  if (set.length > 1) {
    r.fail(path, `must set exactly one of ${known.join(', ')} (found ${set.join(', ')})`);
    return undefined;
  }
  const field = set[0];
  switch (field) {
    case undefined:
      return { kind: 'unknown', fields: Object.keys(o) };
    case 'namespaces':
      return { kind: 'pods', namespaces: readSelector(r, o['namespaces'], `${path}.namespaces`), pods: { matchLabels: {}, matchExpressions: [] } };
    case 'pods': {
      const po = r.requiredRecord(o['pods'], `${path}.pods`);
      if (po['podSelector'] === undefined || po['podSelector'] === null) r.fail(`${path}.pods.podSelector`, 'is required ({} selects every pod)');
      return {
        kind: 'pods',
        namespaces: readSelector(r, po['namespaceSelector'], `${path}.pods.namespaceSelector`),
        pods: readSelector(r, po['podSelector'], `${path}.pods.podSelector`),
      };
    }
    case 'nodes':
      return { kind: 'nodes', nodes: readSelector(r, o['nodes'], `${path}.nodes`) };
    case 'networks': {
      const cidrs: Cidr[] = [];
      readList(r, o['networks'], `${path}.networks`, true).forEach((n, i) => {
        const c = readCidr(r, n, `${path}.networks[${i}]`);
        if (c !== undefined) cidrs.push(c);
      });
      return { kind: 'networks', cidrs };
    }
    case 'domainNames': {
      const names = readList(r, o['domainNames'], `${path}.domainNames`, true).map((n, i) => r.requiredString(n, `${path}.domainNames[${i}]`));
      return { kind: 'domainNames', names };
    }
    default:
      r.fail(path, `unexpected peer field ${field}`);
      return undefined;
  }
}

function readRules(r: Reader, v: unknown, path: string, egress: boolean): CnpRuleSpec[] {
  const list = r.array(v, path) ?? [];
  if (list.length > CNP_MAX_ITEMS) r.fail(path, `must have at most ${CNP_MAX_ITEMS} rules`);
  const peerField = egress ? 'to' : 'from';
  return list.map((item, i) => {
    const p = `${path}[${i}]`;
    const o = r.requiredRecord(item, p);
    const a = r.requiredString(o['action'], `${p}.action`);
    let action: CnpAction = 'Deny';
    if (a === 'Accept' || a === 'Deny' || a === 'Pass') action = a;
    else if (a !== '') r.fail(`${p}.action`, `"${a}" must be Accept, Deny or Pass${a === 'Allow' ? ' (v1beta1 renamed Allow to Accept)' : ''}`);
    const name = r.string(o['name'], `${p}.name`) ?? '';
    if (name.length > 100) r.fail(`${p}.name`, 'must be at most 100 characters');
    const peers = readList(r, o[peerField], `${p}.${peerField}`, true)
      .map((x, j) => readPeer(r, x, `${p}.${peerField}[${j}]`, egress))
      .filter((x): x is CnpPeer => x !== undefined);
    return { name, action, peers, ports: readProtocols(r, o['protocols'], `${p}.protocols`) };
  });
}

/** policy.networking.k8s.io/v1beta1 (or v1alpha2, same schema) ClusterNetworkPolicy. */
export function parseClusterNetworkPolicy(v: unknown): Parsed<ClusterNetworkPolicySpec> {
  const r = new Reader();
  const obj = r.requiredRecord(v, '');
  const meta = readMeta(r, obj, false);
  const spec = r.requiredRecord(obj['spec'], 'spec');
  const t = r.requiredString(spec['tier'], 'spec.tier');
  let tier: CnpTier = 'Admin';
  if (t === 'Admin' || t === 'Baseline') tier = t;
  else if (t !== '') r.fail('spec.tier', `"${t}" must be Admin or Baseline`);
  const priority = r.integer(spec['priority'], 'spec.priority', 0, 1000);
  if (priority === undefined && (spec['priority'] === undefined || spec['priority'] === null)) r.fail('spec.priority', 'is required (0..1000, lower first)');
  const subj = r.requiredRecord(spec['subject'], 'spec.subject');
  let subject: AdminSubject = { namespaces: { matchLabels: {}, matchExpressions: [] }, pods: undefined };
  const subjectFields = present(subj, ['namespaces', 'pods']);
  if (subjectFields.length !== 1) r.fail('spec.subject', 'must set exactly one of namespaces, pods');
  else if (subjectFields[0] === 'namespaces') subject = { namespaces: readSelector(r, subj['namespaces'], 'spec.subject.namespaces'), pods: undefined };
  else {
    const po = r.requiredRecord(subj['pods'], 'spec.subject.pods');
    subject = {
      namespaces: readSelector(r, po['namespaceSelector'], 'spec.subject.pods.namespaceSelector'),
      pods: readSelector(r, po['podSelector'], 'spec.subject.pods.podSelector'),
    };
  }
  const pf = meta.annotations[POLICY_FOR_ANNOTATION];
  const policyFor = pf === undefined ? [] : readPolicyFor(r, pf, undefined);
  if (pf !== undefined && policyFor.length === 0) r.fail(`metadata.annotations["${POLICY_FOR_ANNOTATION}"]`, 'must name at least one namespace/nad');
  const uid = r.string((r.record(obj['metadata'], 'metadata') ?? {})['uid'], 'metadata.uid') ?? '';
  return r.result({
    name: meta.name,
    uid,
    tier,
    priority: priority ?? 0,
    subject,
    ingress: readRules(r, spec['ingress'], 'spec.ingress', false),
    egress: readRules(r, spec['egress'], 'spec.egress', true),
    policyFor,
    ...readPolicyEnforcement(r, meta.annotations),
  });
}
