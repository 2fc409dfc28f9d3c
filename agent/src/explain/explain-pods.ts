import type { EndpointKey, DesiredNodeState, RuleOrigin } from '../datapath/desired.js';
import { PodIntake } from '../endpoints/pod-intake.js';
import { isRecord, metaOf } from '../../../common/src/records.js';
import { parseClusterNetworkPolicy } from '../policy/cnp.js';
import { parseNode, resolveClusterNetworkPolicy, type NodeInfo } from '../policy/cnp-resolve.js';
import { PolicyCompiler } from '../policy/compile.js';
import { NamespaceEnforcement } from '../policy/enforcement.js';
import { explainFlow, type ProtocolInput } from '../policy/evaluate.js';
import { isolateAdminNetworkPolicy, isolateBaselineAdminNetworkPolicy, isolateMultiNetworkPolicy, isolateNetworkPolicy } from '../policy/intake.js';
import {
  parseAdminNetworkPolicy, parseBaselineAdminNetworkPolicy, parseMultiNetworkPolicy, parseNamespace, parseNetworkPolicy,
  type ClusterState, type Parsed, type Pod,
} from '../policy/model.js';
import { parseEndpointSlice, parseService, sliceServiceName, type Service } from '../policy/service-model.js';

/**
 * `weir explain` over raw API objects: the same parsers and the same compiler the agent uses,
 * and the same evaluator the e2e suites check against the datapath. Objects that do not parse are
 * listed, not hidden: an explanation that silently skipped a policy would lie.
 */
export interface RawCluster {
  namespaces: unknown[];
  pods: unknown[];
  networkPolicies: unknown[];
  multiNetworkPolicies: unknown[];
  adminNetworkPolicies: unknown[];
  baselineAdminNetworkPolicies: unknown[];
  /** The agents' bindings: which interfaces Weir enforces and their addresses. */
  weirEndpoints?: unknown[];
  /** NADs (their declared ranges bound what Multus's network-status may add). */
  nads?: unknown[];
  /** policy.networking.k8s.io/v1beta1; absent when the CRD is not installed. */
  clusterNetworkPolicies?: unknown[];
  /** Nodes, for ClusterNetworkPolicy `nodes` peers. */
  nodes?: unknown[];
  /** Services and EndpointSlices: egress to a ClusterIP is judged by the Service's backends. */
  services?: unknown[];
  endpointSlices?: unknown[];
}

export interface PodExplanation {
  pod: string;
  node: string | undefined;
  interfaces: Array<{ name: string; network: string; ips: string[]; enforced: boolean }>;
  /** Policies whose rules appear in this pod's endpoints. */
  policies: string[];
  isolatedIngress: boolean;
  isolatedEgress: boolean;
  flow?: {
    from: string; to: string; port: number; protocol: string; verdict: 'allow' | 'deny'; rule: RuleOrigin | undefined; steps: string[];
    /** The flow passes only because an audit namespace lets it: the rule that would drop it. */
    audited?: { rule: RuleOrigin | undefined };
    /** An end has audit policies: the verdict if they were enforced (evaluate.ts FlowExplanation.auditPolicies). */
    auditPolicies?: { verdict: 'allow' | 'deny'; rule: RuleOrigin | undefined; steps: string[] };
  };
  ignored: string[];
  /** What the ClusterNetworkPolicies selecting this pod ask that Weir does not enforce (domainNames). */
  notEnforced: string[];
}

export interface ExplainQuery {
  pod: { namespace: string; name: string };
  peer?: { namespace: string; name: string; direction: 'from' | 'to' };
  /** Instead of a peer pod: the pod sends to this Service's ClusterIP (port = the Service port). */
  service?: { namespace: string; name: string };
  port: number;
  protocol: ProtocolInput;
}

export type ExplainResult = { ok: true; explanation: PodExplanation } | { ok: false; error: string };

export function buildClusterState(raw: RawCluster): {
  state: ClusterState; ignored: string[]; enforced: (p: Pod, ifName: string) => boolean; notEnforced: Map<string, string[]>;
  /** EndpointSlices that do not parse but name their Service: the agent allows that ClusterIP by no rule. */
  brokenSlices: { namespace: string; name: string; service: string }[];
} {
  const ignored: string[] = [];
  const keep = <T>(kind: string, parsed: { ok: true; value: T } | { ok: false; errors: ReadonlyArray<{ path: string; message: string }> }, object: unknown): T | undefined => {
    if (parsed.ok) return parsed.value;
    ignored.push(`${kind} ${nameOf(object)}: ${parsed.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
    return undefined;
  };
  // A policy that does not parse is explained as the agent enforces it without a last good version:
  // isolating what it selects (agent/src/policy/intake.ts).
  const policy = <T>(kind: string, parsed: Parsed<T>, object: unknown, isolate: (v: unknown) => T | undefined): T | undefined => {
    if (parsed.ok) return parsed.value;
    const isolation = isolate(object);
    const errors = parsed.errors.map((e) => `${e.path} ${e.message}`).join('; ');
    ignored.push(`${kind} ${nameOf(object)}: ${errors}; ${isolation === undefined
      ? 'not enforced: what it selects cannot be read'
      : 'explained as isolating what it selects (the agent may still enforce its last good version)'}`);
    return isolation;
  };
  // Pods are assembled exactly as the agent assembles them (bindings, trust, conflicts).
  const assembled = new Map<string, Pod>();
  const intake = new PodIntake({
    sink: { upsertPod: (p) => assembled.set(`${p.namespace}/${p.name}`, p), removePod: (ns, name) => assembled.delete(`${ns}/${name}`) },
    log: { warn: () => undefined, debug: () => undefined },
  });
  for (const o of raw.namespaces) intake.upsertNamespace(o);
  for (const o of raw.nads ?? []) intake.upsertNad(o);
  for (const o of raw.weirEndpoints ?? []) {
    const errors = intake.upsertEndpoint(o);
    if (errors !== undefined) keep('WeirEndpoint', { ok: false, errors }, o);
  }
  for (const o of raw.pods) {
    const errors = intake.upsertPod(o);
    if (errors !== undefined) keep('Pod', { ok: false, errors }, o);
  }
  const pods = [...assembled.values()];
  const nodes: NodeInfo[] = (raw.nodes ?? []).flatMap((o) => keep('Node', parseNode(o), o) ?? []);
  const notEnforced = new Map<string, string[]>();
  const cnps = (raw.clusterNetworkPolicies ?? []).flatMap((o) => {
    const spec = keep('ClusterNetworkPolicy', parseClusterNetworkPolicy(o), o);
    if (spec === undefined) return [];
    const { policy, notes } = resolveClusterNetworkPolicy(spec, nodes);
    if (notes.length > 0) notEnforced.set(spec.name, notes);
    return [policy];
  });
  const state: ClusterState = {
    namespaces: raw.namespaces.flatMap((o) => keep('Namespace', parseNamespace(o), o) ?? []),
    pods,
    networkPolicies: raw.networkPolicies.flatMap((o) => policy('NetworkPolicy', parseNetworkPolicy(o), o, isolateNetworkPolicy) ?? []),
    multiNetworkPolicies: raw.multiNetworkPolicies.flatMap((o) => policy('MultiNetworkPolicy', parseMultiNetworkPolicy(o), o, isolateMultiNetworkPolicy) ?? []),
    adminNetworkPolicies: raw.adminNetworkPolicies.flatMap((o) => policy('AdminNetworkPolicy', parseAdminNetworkPolicy(o), o, isolateAdminNetworkPolicy) ?? []),
    baselineAdminNetworkPolicy: raw.baselineAdminNetworkPolicies
      .flatMap((o) => policy('BaselineAdminNetworkPolicy', parseBaselineAdminNetworkPolicy(o), o, isolateBaselineAdminNetworkPolicy) ?? [])[0],
    clusterNetworkPolicies: cnps,
    services: (raw.services ?? []).flatMap((o) => keep('Service', parseService(o), o) ?? []),
    endpointSlices: [],
  };
  const brokenSlices: { namespace: string; name: string; service: string }[] = [];
  for (const o of raw.endpointSlices ?? []) {
    const parsed = parseEndpointSlice(o);
    if (parsed.ok) state.endpointSlices?.push(parsed.value);
    else {
      const m = metaOf(o);
      const service = sliceServiceName(o);
      if (service !== '') brokenSlices.push({ namespace: m.namespace, name: m.name, service });
      keep('EndpointSlice', parsed, o);
    }
  }
  const enforced = (p: Pod, ifName: string): boolean => intake.trustedInterfaces(`${p.namespace}/${p.name}`).some((i) => i.name === ifName);
  return { state, ignored, enforced, notEnforced, brokenSlices };
}

export function explainPod(raw: RawCluster, query: ExplainQuery): ExplainResult {
  return explainer(raw)(query);
}

/**
 * Compiles the cluster once and answers many queries against it (the e2e suites compare every
 * cell of the reachability matrix with the datapath this way).
 */
export function explainer(raw: RawCluster): (query: ExplainQuery) => ExplainResult {
  const { state, ignored, enforced, notEnforced, brokenSlices } = buildClusterState(raw);
  const compiler = new PolicyCompiler().load(state);
  // As the agent does (agent/src/policy/service-intake.ts): unknown backends, allowed by no rule.
  for (const b of brokenSlices) compiler.brokenEndpointSlice(b.namespace, b.name, b.service);
  const ipcache = compiler.ipcache();
  // Namespaces in audit mode, read as the agent reads them (agent/src/policy/enforcement.ts).
  const enforcement = new NamespaceEnforcement();
  for (const o of raw.namespaces) enforcement.upsert(o);
  const find = (ref: { namespace: string; name: string }) => state.pods.find((p) => p.namespace === ref.namespace && p.name === ref.name);
  // A hostNetwork pod has no interface of its own: its packets carry its node's address
  // (status.hostIP, written by kubelet), which is what a `nodes` peer or an ipBlock matches.
  const hostAddress = new Map(raw.pods.flatMap((o) => {
    const spec = isRecord(o) && isRecord(o['spec']) ? o['spec'] : {};
    const status = isRecord(o) && isRecord(o['status']) ? o['status'] : {};
    const { namespace, name } = metaOf(o);
    return spec['hostNetwork'] === true && typeof status['hostIP'] === 'string' ? [[`${namespace}/${name}`, status['hostIP']] as const] : [];
  }));
  const enforcedKey = (p: Pod, ifName: string): EndpointKey | undefined =>
    enforced(p, ifName) ? { namespace: p.namespace, pod: p.name, interface: ifName } : undefined;
  return (query) => {
    const pod = find(query.pod);
    if (!pod) return { ok: false, error: `pod ${query.pod.namespace}/${query.pod.name} not found` };
    const peer = query.peer ? find(query.peer) : undefined;
    if (query.peer && !peer) return { ok: false, error: `pod ${query.peer.namespace}/${query.peer.name} not found` };
    const service = query.service
      ? state.services?.find((s) => s.namespace === query.service?.namespace && s.name === query.service.name)
      : undefined;
    if (query.service && !service) return { ok: false, error: `service ${query.service.namespace}/${query.service.name} not found` };
    const endpoints = [pod, ...(peer ? [peer] : [])].flatMap((p) => p.interfaces.flatMap((i) => {
      const key = enforcedKey(p, i.name);
      const ep = key ? compiler.compileEndpoint(key) : undefined;
      return ep ? [enforcement.apply(ep)] : [];
    }));
    // The rule table grows as endpoints compile: read it after compiling these two.
    const merged: DesiredNodeState = { ipcache, endpoints, rules: compiler.compileNode({ name: '' }).rules };
    const own = endpoints.filter((e) => e.namespace === pod.namespace && e.pod === pod.name && e.interface === pod.defaultInterface);
    const policies = new Set<string>();
    const cnpNames = new Set<string>();
    for (const ep of own) for (const entry of ep.entries) {
      const origin = merged.rules[entry.ruleId];
      if (origin === undefined || origin.kind === 'DefaultDeny') continue;
      // One line per ClusterNetworkPolicy with its tier, not one per rule.
      if (origin.cnp !== undefined) cnpNames.add(origin.cnp.name);
      policies.add(origin.cnp === undefined ? origin.policy : `ClusterNetworkPolicy ${origin.cnp.name} (${origin.cnp.tier} tier)`);
    }
    const explanation: PodExplanation = {
      pod: `${pod.namespace}/${pod.name}`,
      node: pod.nodeName,
      interfaces: pod.interfaces.map((i) => ({ name: i.name, network: i.network ?? 'default network', ips: i.ips, enforced: enforcedKey(pod, i.name) !== undefined })),
      policies: [...policies].sort(),
      isolatedIngress: own.some((e) => e.isolatedIngress),
      isolatedEgress: own.some((e) => e.isolatedEgress),
      ignored,
      notEnforced: [...cnpNames].sort().flatMap((n) => (notEnforced.get(n) ?? []).map((note) => `ClusterNetworkPolicy ${n}: ${note}`)),
    };
    if (service) {
      const flow = serviceFlow(compiler, merged, pod, service, query, enforcedKey);
      if (typeof flow === 'string') return { ok: false, error: flow };
      explanation.flow = flow;
    }
    if (peer && query.peer) {
      const flow = peerFlow(merged, pod, peer, query.peer.direction, query, (p) => hostAddress.get(`${p.namespace}/${p.name}`), enforcedKey);
      if (typeof flow === 'string') return { ok: false, error: flow };
      explanation.flow = flow;
    }
    return { ok: true, explanation };
  };
}

type Flow = NonNullable<PodExplanation['flow']>;
type EnforcedKey = (p: Pod, ifName: string) => EndpointKey | undefined;

/** A pod's flow to a Service's ClusterIP as the datapath judges it, or why it cannot be judged. */
function serviceFlow(compiler: PolicyCompiler, merged: DesiredNodeState, pod: Pod, service: Service, query: ExplainQuery, enforcedKey: EnforcedKey): Flow | string {
  const srcIp = pod.interfaces.find((i) => i.name === pod.defaultInterface)?.ips[0];
  if (srcIp === undefined) return `${pod.namespace}/${pod.name} has no IP yet (is it Running?)`;
  const family = srcIp.includes(':') ? 6 : 4;
  const vip = service.clusterIPs.find((c) => c.family === family);
  const name = `${service.namespace}/${service.name}`;
  if (vip === undefined) return `service ${name} has no IPv${family} ClusterIP (headless or ExternalName: traffic goes to its pods' addresses; explain --to a pod)`;
  const vipText = vip.canonical.replace(/\/\d+$/, '');
  const result = explainFlow(merged, {
    from: { ip: srcIp, endpoint: enforcedKey(pod, pod.defaultInterface) }, to: { ip: vipText }, port: query.port, protocol: query.protocol,
  });
  return {
    from: `${pod.namespace}/${pod.name}`, to: `Service ${name} (ClusterIP ${vipText})`, port: query.port, protocol: String(query.protocol),
    verdict: result.verdict, rule: result.rule, steps: [...serviceSteps(compiler, name, vipText, query.port), ...result.steps],
    ...(result.audited === undefined ? {} : { audited: result.audited }),
    ...(result.auditPolicies === undefined ? {} : { auditPolicies: result.auditPolicies }),
  };
}

/** The flow between two pods (`direction` says which one sends) as the datapath judges it, or why it cannot be judged. */
function peerFlow(
  merged: DesiredNodeState,
  pod: Pod,
  peer: Pod,
  direction: 'from' | 'to',
  query: ExplainQuery,
  hostAddressOf: (p: Pod) => string | undefined,
  enforcedKey: EnforcedKey,
): Flow | string {
  const [src, dst] = direction === 'from' ? [peer, pod] : [pod, peer];
  const srcIp = src.interfaces.find((i) => i.name === src.defaultInterface)?.ips[0] ?? hostAddressOf(src);
  const dstIp = dst.interfaces.find((i) => i.name === dst.defaultInterface)?.ips[0] ?? hostAddressOf(dst);
  if (srcIp === undefined || dstIp === undefined) return `${srcIp === undefined ? `${src.namespace}/${src.name}` : `${dst.namespace}/${dst.name}`} has no IP yet (is it Running?)`;
  const result = explainFlow(merged, {
    from: { ip: srcIp, endpoint: enforcedKey(src, src.defaultInterface) },
    to: { ip: dstIp, endpoint: enforcedKey(dst, dst.defaultInterface) },
    port: query.port, protocol: query.protocol,
  });
  return {
    from: `${src.namespace}/${src.name}`, to: `${dst.namespace}/${dst.name}`, port: query.port, protocol: String(query.protocol),
    verdict: result.verdict, rule: result.rule, steps: result.steps,
    ...(result.audited === undefined ? {} : { audited: result.audited }),
    ...(result.auditPolicies === undefined ? {} : { auditPolicies: result.auditPolicies }),
  };
}

/** What the ClusterIP stands for: the verdict of an egress rule on it came from these backends. */
function serviceSteps(compiler: PolicyCompiler, name: string, vip: string, port: number): string[] {
  const backends = compiler.serviceBackends(vip, port);
  if (backends === undefined) return [`Service ${name}: no port ${port} on ClusterIP ${vip}; only rules allowing every peer or an ipBlock holding ${vip} match it`];
  if (backends === 'unknown') return [`Service ${name}: an EndpointSlice of it does not parse, so its backends are unknown and no allow rule matches ClusterIP ${vip}`];
  if (backends.length === 0) return [`Service ${name}: no endpoints for port ${port}, so no rule that names peers allows ClusterIP ${vip} (kube-proxy rejects it too)`];
  return [`Service ${name}: egress to ClusterIP ${vip}:${port} is judged by its backends ${backends.join(', ')}: a rule allows it only when it allows every one of them`];
}

function nameOf(object: unknown): string {
  const { namespace, name } = metaOf(object);
  return `${namespace === '' ? '' : `${namespace}/`}${name === '' ? '?' : name}`;
}
