/**
 * Typed models of the Kubernetes objects the policy compiler reads, and their boundary parsers.
 * Every parser takes `unknown` and returns either the typed value or every bad field with its path.
 * The models keep only what policy needs.
 */
import { ENFORCEMENT_AUDIT, ENFORCEMENT_ENFORCE, MULTUS_POLICY_FOR as POLICY_FOR_ANNOTATION, NS_ENFORCEMENT } from '../../../common/src/annotations.js';
import { parseCidr, type Cidr } from '../identity/cidr.js';
import type { ClusterNetworkPolicy } from './cnp.js';
import type { EndpointSlice, Service } from './service-model.js';
import { Reader, type Parsed } from './read.js';

export type { FieldError, Parsed } from './read.js';
export { POLICY_FOR_ANNOTATION };

/** The interface NetworkPolicy applies to when a pod says nothing about its default network. */
export const DEFAULT_INTERFACE = 'eth0';

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
  /** Audit policy (readPolicyEnforcement): compiled and evaluated, never enforced. */
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
  /** Audit policy (readPolicyEnforcement): compiled and evaluated, never enforced. */
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

// ---------------------------------------------------------------- shared pieces

export function readSelector(r: Reader, v: unknown, path: string): LabelSelector {
  const o = r.record(v, path) ?? {};
  const matchLabels = r.stringMap(o['matchLabels'], `${path}.matchLabels`);
  const matchExpressions: LabelExpression[] = [];
  (r.array(o['matchExpressions'], `${path}.matchExpressions`) ?? []).forEach((e, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const eo = r.requiredRecord(e, p);
    const key = r.requiredString(eo['key'], `${p}.key`);
    const op = r.requiredString(eo['operator'], `${p}.operator`);
    const values = (r.array(eo['values'], `${p}.values`) ?? []).map((x, j) => r.string(x, `${p}.values[${j}]`) ?? '');
    switch (op) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) r.fail(`${p}.values`, `must be non-empty for ${op}`);
        matchExpressions.push({ key, operator: op, values });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length !== 0) r.fail(`${p}.values`, `must be empty for ${op}`);
        matchExpressions.push({ key, operator: op, values: [] });
        break;
      default:
        if (op !== '') r.fail(`${p}.operator`, 'must be one of In, NotIn, Exists, DoesNotExist');
    }
  });
  return { matchLabels, matchExpressions };
}

export function readProtocol(r: Reader, v: unknown, path: string, fallback: ProtocolName | undefined): ProtocolName | undefined {
  const s = r.string(v, path);
  if (s === undefined) return fallback;
  if (s === 'TCP' || s === 'UDP' || s === 'SCTP') return s;
  r.fail(path, 'must be TCP, UDP or SCTP');
  return fallback;
}

const PORT_NAME = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

export function readCidr(r: Reader, v: unknown, path: string): Cidr | undefined {
  const s = r.requiredString(v, path);
  if (s === '') return undefined;
  const c = parseCidr(s);
  if (c === undefined) r.fail(path, `"${s}" is not a CIDR`);
  return c;
}

export function readMeta(r: Reader, obj: Record<string, unknown>, namespaced: boolean): {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  const m = r.requiredRecord(obj['metadata'], 'metadata');
  return {
    namespace: namespaced ? r.requiredString(m['namespace'], 'metadata.namespace') : '',
    name: r.requiredString(m['name'], 'metadata.name'),
    labels: r.stringMap(m['labels'], 'metadata.labels'),
    annotations: r.stringMap(m['annotations'], 'metadata.annotations'),
  };
}

/**
 * `weir.dev/enforcement` on a policy object (every kind): "audit" makes it an audit policy, compiled
 * and evaluated for each new flow but never enforced (issue 17); "enforce" or absence enforces. Any
 * other value is a refusal of the whole object (its intake falls back as for any unreadable policy).
 */
export function readPolicyEnforcement(r: Reader, annotations: Record<string, string>): { audit?: true } {
  const v = annotations[NS_ENFORCEMENT];
  if (v === undefined || v === ENFORCEMENT_ENFORCE) return {};
  if (v === ENFORCEMENT_AUDIT) return { audit: true };
  r.fail(`metadata.annotations["${NS_ENFORCEMENT}"]`, `${JSON.stringify(v)} must be ${ENFORCEMENT_ENFORCE} or ${ENFORCEMENT_AUDIT}`);
  return {};
}

// ---------------------------------------------------------------- NetworkPolicy / MultiNetworkPolicy

function readNpPort(r: Reader, v: unknown, path: string): PortSpec | undefined {
  const o = r.requiredRecord(v, path);
  const protocol = readProtocol(r, o['protocol'], `${path}.protocol`, 'TCP') ?? 'TCP';
  const port = o['port'];
  const endPort = r.integer(o['endPort'], `${path}.endPort`, 1, 65535);
  if (port === undefined || port === null) {
    if (endPort !== undefined) r.fail(`${path}.endPort`, 'requires port');
    return { kind: 'protocol', protocol };
  }
  if (typeof port === 'string' && !/^\d+$/.test(port)) {
    if (!PORT_NAME.test(port)) r.fail(`${path}.port`, `"${port}" is not a valid port name`);
    if (endPort !== undefined) r.fail(`${path}.endPort`, 'requires a numeric port');
    return { kind: 'named', protocol, name: port };
  }
  const n = r.integer(typeof port === 'string' ? Number(port) : port, `${path}.port`, 1, 65535);
  if (n === undefined) return undefined;
  if (endPort !== undefined && endPort < n) {
    r.fail(`${path}.endPort`, `must be >= port (${n})`);
    return undefined;
  }
  return { kind: 'number', protocol, port: n, endPort: endPort ?? n };
}

function readNpPeer(r: Reader, v: unknown, path: string, namespace: string): Peer | undefined {
  const o = r.requiredRecord(v, path);
  const hasPod = o['podSelector'] !== undefined && o['podSelector'] !== null;
  const hasNs = o['namespaceSelector'] !== undefined && o['namespaceSelector'] !== null;
  const ib = r.record(o['ipBlock'], `${path}.ipBlock`);
  if (ib !== undefined) {
    if (hasPod || hasNs) r.fail(path, 'ipBlock cannot be combined with podSelector or namespaceSelector');
    const cidr = readCidr(r, ib['cidr'], `${path}.ipBlock.cidr`);
    const except: Cidr[] = [];
    (r.array(ib['except'], `${path}.ipBlock.except`) ?? []).forEach((e, i) => {
      const ep = `${path}.ipBlock.except[${i}]`;
      const c = readCidr(r, e, ep);
      if (c === undefined || cidr === undefined) return;
      if (!(c.family === cidr.family && c.prefix >= cidr.prefix && containsAddr(cidr, c))) {
        r.fail(ep, `must be inside ${cidr.canonical}`);
        return;
      }
      except.push(c);
    });
    return cidr === undefined ? undefined : { kind: 'ipBlock', block: { cidr, except } };
  }
  if (!hasPod && !hasNs) {
    r.fail(path, 'must set podSelector, namespaceSelector or ipBlock');
    return undefined;
  }
  return {
    kind: 'pods',
    namespaces: hasNs
      ? { kind: 'selector', selector: readSelector(r, o['namespaceSelector'], `${path}.namespaceSelector`) }
      : { kind: 'name', name: namespace },
    pods: hasPod ? readSelector(r, o['podSelector'], `${path}.podSelector`) : { matchLabels: {}, matchExpressions: [] },
  };
}

function containsAddr(outer: Cidr, inner: Cidr): boolean {
  const bits = outer.family === 4 ? 32 : 128;
  const shift = BigInt(bits - outer.prefix);
  return inner.addr >> shift === outer.addr >> shift;
}

function readNpRules(
  r: Reader,
  v: unknown,
  path: string,
  peerField: 'from' | 'to',
  namespace: string,
): NetworkPolicyRule[] {
  return (r.array(v, path) ?? []).map((item, i) => {
    const p = `${path}[${i}]`;
    const o = r.record(item, p) ?? {};
    const peersRaw = r.array(o[peerField], `${p}.${peerField}`);
    const portsRaw = r.array(o['ports'], `${p}.ports`);
    const peers =
      peersRaw === undefined || peersRaw.length === 0
        ? 'all'
        : peersRaw.map((x, j) => readNpPeer(r, x, `${p}.${peerField}[${j}]`, namespace)).filter((x): x is Peer => x !== undefined);
    const ports =
      portsRaw === undefined || portsRaw.length === 0
        ? 'all'
        : portsRaw.map((x, j) => readNpPort(r, x, `${p}.ports[${j}]`)).filter((x): x is PortSpec => x !== undefined);
    return { peers, ports };
  });
}

function readNetworkPolicyLike(v: unknown, kind: NetworkPolicy['kind']): Parsed<NetworkPolicy> {
  const r = new Reader();
  const obj = r.requiredRecord(v, '');
  const meta = readMeta(r, obj, true);
  const spec = r.requiredRecord(obj['spec'], 'spec');
  const podSelector = readSelector(r, spec['podSelector'], 'spec.podSelector');
  const ingress = readNpRules(r, spec['ingress'], 'spec.ingress', 'from', meta.namespace);
  const egress = readNpRules(r, spec['egress'], 'spec.egress', 'to', meta.namespace);
  const types = r.array(spec['policyTypes'], 'spec.policyTypes');
  let affectsIngress = true;
  let affectsEgress = spec['egress'] !== undefined && spec['egress'] !== null;
  if (types !== undefined && types.length > 0) {
    affectsIngress = false;
    affectsEgress = false;
    types.forEach((t, i) => {
      if (t === 'Ingress') affectsIngress = true;
      else if (t === 'Egress') affectsEgress = true;
      else r.fail(`spec.policyTypes[${i}]`, 'must be Ingress or Egress');
    });
  }
  let policyFor: NetworkPolicy['policyFor'] = [];
  if (kind === 'MultiNetworkPolicy') {
    const pf = meta.annotations[POLICY_FOR_ANNOTATION];
    if (pf === undefined || pf.trim() === '') {
      r.fail(`metadata.annotations["${POLICY_FOR_ANNOTATION}"]`, 'is required (comma-separated [namespace/]nad list)');
    } else policyFor = readPolicyFor(r, pf, meta.namespace);
  }
  return r.result({
    kind,
    namespace: meta.namespace,
    name: meta.name,
    podSelector,
    affectsIngress,
    affectsEgress,
    ingress,
    egress,
    policyFor,
    ...readPolicyEnforcement(r, meta.annotations),
  });
}

/**
 * The NADs of a `k8s.v1.cni.cncf.io/policy-for` annotation: comma-separated `[namespace/]name`;
 * a bare name is in `defaultNamespace`, and needs one (cluster-scoped objects have none).
 */
export function readPolicyFor(r: Reader, value: string, defaultNamespace: string | undefined): { namespace: string; name: string }[] {
  const out: { namespace: string; name: string }[] = [];
  const path = `metadata.annotations["${POLICY_FOR_ANNOTATION}"]`;
  for (const part of value.split(',')) {
    const s = part.trim();
    if (s === '') continue;
    const bits = s.split('/');
    if (bits.length === 1 && bits[0] && defaultNamespace !== undefined) out.push({ namespace: defaultNamespace, name: bits[0] });
    else if (bits.length === 2 && bits[0] && bits[1]) out.push({ namespace: bits[0], name: bits[1] });
    else r.fail(path, `"${s}" is not ${defaultNamespace === undefined ? 'namespace/name' : '[namespace/]name'}`);
  }
  return out;
}

/** networking.k8s.io/v1 NetworkPolicy. */
export const parseNetworkPolicy = (v: unknown): Parsed<NetworkPolicy> => readNetworkPolicyLike(v, 'NetworkPolicy');
/** k8s.cni.cncf.io/v1beta1 MultiNetworkPolicy (same spec, plus the policy-for annotation). */
export const parseMultiNetworkPolicy = (v: unknown): Parsed<NetworkPolicy> => readNetworkPolicyLike(v, 'MultiNetworkPolicy');

// ---------------------------------------------------------------- AdminNetworkPolicy / Baseline

function readAdminPorts(r: Reader, v: unknown, path: string): PortSpec[] | 'all' {
  const list = r.array(v, path);
  if (list === undefined || list.length === 0) return 'all';
  const out: PortSpec[] = [];
  list.forEach((item, i) => {
    const p = `${path}[${i}]`;
    const o = r.requiredRecord(item, p);
    const pn = r.record(o['portNumber'], `${p}.portNumber`);
    const pr = r.record(o['portRange'], `${p}.portRange`);
    const named = r.string(o['namedPort'], `${p}.namedPort`);
    if ([pn, pr, named].filter((x) => x !== undefined).length !== 1) {
      r.fail(p, 'must set exactly one of portNumber, portRange, namedPort');
      return;
    }
    if (pn !== undefined) {
      const protocol = readProtocol(r, pn['protocol'], `${p}.portNumber.protocol`, 'TCP') ?? 'TCP';
      const port = r.integer(pn['port'], `${p}.portNumber.port`, 1, 65535);
      if (port === undefined) r.fail(`${p}.portNumber.port`, 'is required');
      else out.push({ kind: 'number', protocol, port, endPort: port });
    } else if (pr !== undefined) {
      const protocol = readProtocol(r, pr['protocol'], `${p}.portRange.protocol`, 'TCP') ?? 'TCP';
      const start = r.integer(pr['start'], `${p}.portRange.start`, 1, 65535);
      const end = r.integer(pr['end'], `${p}.portRange.end`, 1, 65535);
      if (start === undefined || end === undefined) r.fail(`${p}.portRange`, 'start and end are required');
      else if (end < start) r.fail(`${p}.portRange.end`, `must be >= start (${start})`);
      else out.push({ kind: 'number', protocol, port: start, endPort: end });
    } else if (named !== undefined) {
      out.push({ kind: 'named', protocol: undefined, name: named });
    }
  });
  return out;
}

function readAdminPeers(r: Reader, v: unknown, path: string, action: AdminAction, egress: boolean): Peer[] {
  const list = r.array(v, path) ?? [];
  if (list.length === 0) r.fail(path, 'must list at least one peer');
  // Peers we cannot represent fail closed: an Allow matches nothing, a Deny/Pass matches everything.
  const unknown: Peer = action === 'Allow' ? { kind: 'none' } : { kind: 'all' };
  const out: Peer[] = [];
  list.forEach((item, i) => {
    const p = `${path}[${i}]`;
    const o = r.requiredRecord(item, p);
    if (o['namespaces'] !== undefined) {
      out.push({
        kind: 'pods',
        namespaces: { kind: 'selector', selector: readSelector(r, o['namespaces'], `${p}.namespaces`) },
        pods: { matchLabels: {}, matchExpressions: [] },
      });
    } else if (o['pods'] !== undefined) {
      const po = r.requiredRecord(o['pods'], `${p}.pods`);
      out.push({
        kind: 'pods',
        namespaces: { kind: 'selector', selector: readSelector(r, po['namespaceSelector'], `${p}.pods.namespaceSelector`) },
        pods: readSelector(r, po['podSelector'], `${p}.pods.podSelector`),
      });
    } else if (egress && o['networks'] !== undefined) {
      (r.array(o['networks'], `${p}.networks`) ?? []).forEach((n, j) => {
        const c = readCidr(r, n, `${p}.networks[${j}]`);
        if (c !== undefined) out.push({ kind: 'ipBlock', block: { cidr: c, except: [] } });
      });
    } else {
      out.push(unknown);
    }
  });
  return out;
}

function readAdminRules(r: Reader, v: unknown, path: string, baseline: boolean, egress: boolean): AdminRule[] {
  const list = r.array(v, path) ?? [];
  if (list.length > 100) r.fail(path, 'must have at most 100 rules');
  return list.map((item, i) => {
    const p = `${path}[${i}]`;
    const o = r.requiredRecord(item, p);
    const a = r.requiredString(o['action'], `${p}.action`);
    let action: AdminAction = 'Deny';
    if (a === 'Allow' || a === 'Deny' || (a === 'Pass' && !baseline)) action = a;
    else if (a !== '') r.fail(`${p}.action`, baseline ? 'must be Allow or Deny' : 'must be Allow, Deny or Pass');
    const peerField = egress ? 'to' : 'from';
    return {
      name: r.string(o['name'], `${p}.name`) ?? '',
      action,
      peers: readAdminPeers(r, o[peerField], `${p}.${peerField}`, action, egress),
      ports: readAdminPorts(r, o['ports'], `${p}.ports`),
    };
  });
}

function readAdmin(v: unknown, kind: AdminNetworkPolicy['kind']): Parsed<AdminNetworkPolicy> {
  const r = new Reader();
  const obj = r.requiredRecord(v, '');
  const meta = readMeta(r, obj, false);
  const spec = r.requiredRecord(obj['spec'], 'spec');
  const baseline = kind === 'BaselineAdminNetworkPolicy';
  let priority = 0;
  if (!baseline) {
    const pr = r.integer(spec['priority'], 'spec.priority', 0, 1000);
    if (pr === undefined && spec['priority'] === undefined) r.fail('spec.priority', 'is required');
    priority = pr ?? 0;
  }
  const subj = r.requiredRecord(spec['subject'], 'spec.subject');
  let subject: AdminSubject = { namespaces: { matchLabels: {}, matchExpressions: [] }, pods: undefined };
  if (subj['namespaces'] !== undefined) {
    subject = { namespaces: readSelector(r, subj['namespaces'], 'spec.subject.namespaces'), pods: undefined };
  } else if (subj['pods'] !== undefined) {
    const po = r.requiredRecord(subj['pods'], 'spec.subject.pods');
    subject = {
      namespaces: readSelector(r, po['namespaceSelector'], 'spec.subject.pods.namespaceSelector'),
      pods: readSelector(r, po['podSelector'], 'spec.subject.pods.podSelector'),
    };
  } else {
    r.fail('spec.subject', 'must set namespaces or pods');
  }
  return r.result({
    kind,
    name: meta.name,
    priority,
    subject,
    ingress: readAdminRules(r, spec['ingress'], 'spec.ingress', baseline, false),
    egress: readAdminRules(r, spec['egress'], 'spec.egress', baseline, true),
    ...readPolicyEnforcement(r, meta.annotations),
  });
}

/** policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy. */
export const parseAdminNetworkPolicy = (v: unknown): Parsed<AdminNetworkPolicy> => readAdmin(v, 'AdminNetworkPolicy');
/** policy.networking.k8s.io/v1alpha1 BaselineAdminNetworkPolicy (singleton "default"). */
export const parseBaselineAdminNetworkPolicy = (v: unknown): Parsed<AdminNetworkPolicy> =>
  readAdmin(v, 'BaselineAdminNetworkPolicy');

// ---------------------------------------------------------------- Pods and Namespaces

export function parseNamespace(v: unknown): Parsed<Namespace> {
  const r = new Reader();
  const obj = r.requiredRecord(v, '');
  const meta = readMeta(r, obj, false);
  // The API server sets this label on every namespace; make it true for objects built elsewhere too.
  return r.result({ name: meta.name, labels: { ...meta.labels, 'kubernetes.io/metadata.name': meta.name } });
}

/**
 * Reads a Pod as the API server has it: one interface, the default network's (eth0, Multus's name for
 * it) with kubelet's status.podIPs. Nothing a tenant can write on the pod names an interface or an
 * address here: the agent adds the interfaces the agents bound at CNI ADD (WeirEndpoints) and the
 * default interface the webhook's intent names (agent/src/endpoints/pod-intake.ts).
 */
export function parsePod(v: unknown): Parsed<Pod> {
  const r = new Reader();
  const obj = r.requiredRecord(v, '');
  const meta = readMeta(r, obj, true);
  const spec = r.record(obj['spec'], 'spec') ?? {};
  const status = r.record(obj['status'], 'status') ?? {};
  const containerPorts: ContainerPort[] = [];
  (r.array(spec['containers'], 'spec.containers') ?? []).forEach((c, i) => {
    const co = r.record(c, `spec.containers[${i}]`) ?? {};
    (r.array(co['ports'], `spec.containers[${i}].ports`) ?? []).forEach((pt, j) => {
      const p = `spec.containers[${i}].ports[${j}]`;
      const po = r.record(pt, p) ?? {};
      const name = r.string(po['name'], `${p}.name`);
      const port = r.integer(po['containerPort'], `${p}.containerPort`, 1, 65535);
      const protocol = readProtocol(r, po['protocol'], `${p}.protocol`, 'TCP') ?? 'TCP';
      if (name !== undefined && name !== '' && port !== undefined) containerPorts.push({ name, port, protocol });
    });
  });
  const podIps = (r.array(status['podIPs'], 'status.podIPs') ?? [])
    .map((x, i) => r.string((r.record(x, `status.podIPs[${i}]`) ?? {})['ip'], `status.podIPs[${i}].ip`))
    .filter((x): x is string => x !== undefined && x !== '');
  const defaultInterface = DEFAULT_INTERFACE;
  const interfaces: PodInterface[] = [{ name: defaultInterface, network: undefined, ips: [...new Set(podIps)] }];
  const phase = r.string(status['phase'], 'status.phase');
  return r.result({
    namespace: meta.namespace,
    name: meta.name,
    nodeName: r.string(spec['nodeName'], 'spec.nodeName'),
    labels: meta.labels,
    hostNetwork: r.boolean(spec['hostNetwork'], 'spec.hostNetwork') ?? false,
    terminal: phase === 'Succeeded' || phase === 'Failed',
    defaultInterface,
    interfaces,
    containerPorts,
  });
}
