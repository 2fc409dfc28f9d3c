/**
 * Test fixtures for the compiler suites: the upstream netpol model (namespaces x, y, z × pods a, b,
 * c), raw Kubernetes objects run through the real parsers, and a reachability probe that asks the
 * evaluator over the compiled entries. Not imported by product code.
 */
import type { DesiredNodeState } from '../datapath/desired.js';
import type { ObjectEventSink, ObjectRef } from '../events.js';
import { PodIntake } from '../endpoints/pod-intake.js';
import { weirEndpointObject } from '../endpoints/weirendpoint.js';
import { parseClusterNetworkPolicy } from './cnp.js';
import { parseNode, resolveClusterNetworkPolicy, type NodeInfo } from './cnp-resolve.js';
import { PolicyCompiler } from './compile.js';
import { explainFlow, type FlowExplanation, type ProtocolInput } from './evaluate.js';
import {
  parseAdminNetworkPolicy,
  parseBaselineAdminNetworkPolicy,
  parseMultiNetworkPolicy,
  parseNamespace,
  parseNetworkPolicy,
  type ClusterState,
  type Parsed,
  type Pod,
} from './model.js';
import { parseEndpointSlice, parseService } from './service-model.js';

/** Warning Events on policy objects, kept for the test to read (intake, namespace budget, CNP agent tests). */
export class RecordedObjectEvents implements ObjectEventSink {
  readonly events: Array<{ object: ObjectRef; reason: string; message: string }> = [];
  warning(object: ObjectRef, reason: string, message: string): void {
    this.events.push({ object, reason, message });
  }
}

export function must<T>(p: Parsed<T>): T {
  if (!p.ok) throw new Error(`parse failed: ${JSON.stringify(p.errors)}`);
  return p.value;
}

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const PODS = ['a', 'b', 'c'] as const;

export function podIp(ns: string, pod: string): string {
  return `10.${NAMESPACES.indexOf(ns as 'x') + 1}.0.${PODS.indexOf(pod as 'a') + 1}`;
}
export function podIp2(ns: string, pod: string): string {
  return `192.168.${NAMESPACES.indexOf(ns as 'x') + 1}.${PODS.indexOf(pod as 'a') + 1}`;
}

export interface RawOpts {
  node?: string;
  labels?: Record<string, string>;
  ports?: { name: string; containerPort: number; protocol?: string }[];
  /** A Weir-attached secondary interface net1 on NAD <ns>/macnet (published in a WeirEndpoint). */
  secondary?: boolean;
}

export function rawPod(ns: string, name: string, ip: string, o: RawOpts = {}): unknown {
  const annotations: Record<string, string> = {};
  if (o.secondary === true) {
    annotations['k8s.v1.cni.cncf.io/network-status'] = JSON.stringify([
      { name: 'default/underlay', interface: 'eth0', ips: [ip], default: true },
      { name: `${ns}/macnet`, interface: 'net1', ips: [podIp2(ns, name)] },
    ]);
  }
  return {
    metadata: { namespace: ns, name, uid: `uid-${ns}-${name}`, labels: o.labels ?? { pod: name }, annotations },
    spec: {
      nodeName: o.node ?? 'n1',
      containers: [
        {
          name: 'c',
          ports: o.ports ?? [
            { name: 'serve-80-tcp', containerPort: 80 },
            { name: 'serve-81-tcp', containerPort: 81 },
            { name: 'serve-80-udp', containerPort: 80, protocol: 'UDP' },
            { name: 'serve-81-udp', containerPort: 81, protocol: 'UDP' },
          ],
        },
      ],
    },
    status: { phase: 'Running', podIPs: [{ ip }] },
  };
}

/** The WeirEndpoint the agent that attached net1 of a `secondary` pod publishes. */
export function rawEndpoint(ns: string, name: string, o: RawOpts = {}): unknown {
  return weirEndpointObject({
    namespace: ns, name, podUid: `uid-${ns}-${name}`, node: o.node ?? 'n1', enforcement: [],
    interfaces: [{ name: 'net1', network: `${ns}/macnet`, isDefault: false, mac: undefined, ips: [podIp2(ns, name)], containerId: 'c', attachedAtMs: 1 }],
  });
}

/** Pods assembled the way the agent assembles them (agent/src/endpoints/pod-intake.ts). */
export function assemblePods(pods: readonly unknown[], endpoints: readonly unknown[] = []): Pod[] {
  const out = new Map<string, Pod>();
  const intake = new PodIntake({
    sink: { upsertPod: (p) => out.set(`${p.namespace}/${p.name}`, p), removePod: (n, name) => out.delete(`${n}/${name}`) },
    log: { warn: () => undefined, debug: () => undefined },
  });
  for (const e of endpoints) {
    const errors = intake.upsertEndpoint(e);
    if (errors !== undefined) throw new Error(`endpoint does not parse: ${JSON.stringify(errors)}`);
  }
  for (const p of pods) {
    const errors = intake.upsertPod(p);
    if (errors !== undefined) throw new Error(`pod does not parse: ${JSON.stringify(errors)}`);
  }
  return [...out.values()];
}

export interface Objects {
  nps?: unknown[];
  mnps?: unknown[];
  anps?: unknown[];
  banp?: unknown;
  /** ClusterNetworkPolicies, resolved against `nodes`. */
  cnps?: unknown[];
  nodes?: unknown[];
  extraPods?: unknown[];
  podOpts?: (ns: string, pod: string) => RawOpts;
  /** Services and EndpointSlices (rawService / rawSlice). */
  services?: unknown[];
  slices?: unknown[];
}

export function clusterState(o: Objects = {}): ClusterState {
  const raws: unknown[] = [];
  const endpoints: unknown[] = [];
  for (const ns of NAMESPACES) {
    for (const p of PODS) {
      const opts = o.podOpts?.(ns, p) ?? {};
      raws.push(rawPod(ns, p, podIp(ns, p), opts));
      if (opts.secondary === true) endpoints.push(rawEndpoint(ns, p, opts));
    }
  }
  const pods = assemblePods([...raws, ...(o.extraPods ?? [])], endpoints);
  const nodes: NodeInfo[] = (o.nodes ?? []).map((n) => must(parseNode(n)));
  return {
    clusterNetworkPolicies: (o.cnps ?? []).map((x) => resolveClusterNetworkPolicy(must(parseClusterNetworkPolicy(x)), nodes).policy),
    namespaces: NAMESPACES.map((n) => must(parseNamespace({ metadata: { name: n, labels: { ns: n } } }))),
    pods,
    networkPolicies: (o.nps ?? []).map((x) => must(parseNetworkPolicy(x))),
    multiNetworkPolicies: (o.mnps ?? []).map((x) => must(parseMultiNetworkPolicy(x))),
    adminNetworkPolicies: (o.anps ?? []).map((x) => must(parseAdminNetworkPolicy(x))),
    baselineAdminNetworkPolicy: o.banp === undefined ? undefined : must(parseBaselineAdminNetworkPolicy(o.banp)),
    services: (o.services ?? []).map((x) => must(parseService(x))),
    endpointSlices: (o.slices ?? []).map((x) => must(parseEndpointSlice(x))),
  };
}

/** A ClusterIP Service; ports as [name, port, protocol?]. */
export function rawService(ns: string, name: string, clusterIPs: string[], ports: [string, number, string?][]): unknown {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name },
    spec: { type: 'ClusterIP', clusterIP: clusterIPs[0], clusterIPs, ports: ports.map(([n, port, protocol]) => ({ name: n, port, protocol: protocol ?? 'TCP' })) },
  };
}

/** An EndpointSlice of `service` listing `addresses` (any conditions), ports as [name, port, protocol?]. */
export function rawSlice(ns: string, name: string, service: string, addresses: string[], ports: [string, number, string?][], addressType = 'IPv4'): unknown {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': service } },
    addressType,
    ports: ports.map(([n, port, protocol]) => ({ name: n, port, protocol: protocol ?? 'TCP' })),
    endpoints: addresses.map((a, i) => ({ addresses: [a], conditions: { ready: i % 2 === 0, terminating: i % 2 === 1 } })),
  };
}

/** Merges every node's state: the whole cluster as the e2e oracle sees it. */
export function compileCluster(c: PolicyCompiler, nodes: string[] = ['n1', 'n2']): DesiredNodeState {
  const parts = nodes.map((n) => c.compileNode({ name: n }));
  const first = parts[0];
  if (first === undefined) throw new Error('no nodes');
  return { ipcache: first.ipcache, rules: parts[parts.length - 1]?.rules ?? first.rules, endpoints: parts.flatMap((p) => p.endpoints) };
}

/** "x/a" → endpoint on eth0 at its IP; "x/a:net1" → the secondary; "1.2.3.4" → a plain address. */
export function flowEnd(spec: string): { ip: string; endpoint?: { namespace: string; pod: string; interface: string } } {
  if (/^[\d.:a-f]+$/.test(spec) && spec.includes('.')) return { ip: spec };
  const [nsPod, iface] = spec.split(':');
  const [ns, pod] = (nsPod ?? '').split('/');
  if (ns === undefined || pod === undefined) throw new Error(`bad flow end ${spec}`);
  const secondary = iface === 'net1';
  return { ip: secondary ? podIp2(ns, pod) : podIp(ns, pod), endpoint: { namespace: ns, pod, interface: iface ?? 'eth0' } };
}

export function probe(state: DesiredNodeState, from: string, to: string, port: number, protocol: ProtocolInput = 'TCP'): FlowExplanation {
  return explainFlow(state, { from: flowEnd(from), to: flowEnd(to), port, protocol });
}

export function np(ns: string, name: string, spec: Record<string, unknown>): unknown {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace: ns, name }, spec };
}
export function mnp(ns: string, name: string, policyFor: string, spec: Record<string, unknown>): unknown {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1beta1',
    kind: 'MultiNetworkPolicy',
    metadata: { namespace: ns, name, annotations: { 'k8s.v1.cni.cncf.io/policy-for': policyFor } },
    spec,
  };
}
export function anp(name: string, priority: number, spec: Record<string, unknown>): unknown {
  return { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name }, spec: { priority, ...spec } };
}
export function banp(spec: Record<string, unknown>): unknown {
  return { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'BaselineAdminNetworkPolicy', metadata: { name: 'default' }, spec };
}

export function cnp(name: string, tier: 'Admin' | 'Baseline', priority: number, spec: Record<string, unknown>, annotations: Record<string, string> = {}): unknown {
  return { apiVersion: 'policy.networking.k8s.io/v1beta1', kind: 'ClusterNetworkPolicy', metadata: { name, annotations }, spec: { tier, priority, ...spec } };
}
export function node(name: string, labels: Record<string, string>, addresses: string[]): unknown {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, status: { addresses: addresses.map((address) => ({ type: 'InternalIP', address })) } };
}

/** The full 9×9 truth table for one port/protocol as "x/a>y/b" strings of denied pairs. */
export function deniedPairs(state: DesiredNodeState, port: number, protocol: ProtocolInput = 'TCP'): string[] {
  const all = NAMESPACES.flatMap((n) => PODS.map((p) => `${n}/${p}`));
  const out: string[] = [];
  for (const f of all) for (const t of all) if (f !== t && probe(state, f, t, port, protocol).verdict === 'deny') out.push(`${f}>${t}`);
  return out;
}
