/**
 * The synthetic cluster the policy benchmarks compile (bench/compile.ts, bench/capacity.ts, bench/churn.ts):
 * `namespaces` × 100 pods spread over `nodes` (pod i of namespace ns on node (ns + i) mod nodes), 10 NetworkPolicy shapes per namespace
 * (deny-all, pod and namespace selectors, a named port, ipBlocks with a per-namespace except,
 * same-namespace), 10 AdminNetworkPolicies (Allow from ns0, Deny TCP/22 from env=dev, Pass from
 * every namespace, Deny egress to 169.254/16) and a BaselineAdminNetworkPolicy (Deny from env=dev).
 * Pod IPs are 10.<ns/2>.x.y: valid up to 512 namespaces (51,200 pods).
 */
import {
  parseAdminNetworkPolicy,
  parseBaselineAdminNetworkPolicy,
  parseNamespace,
  parseNetworkPolicy,
  parsePod,
  type ClusterState,
  type Parsed,
} from '../agent/src/policy/model.js';
import { parseEndpointSlice, parseService } from '../agent/src/policy/service-model.js';

export const PODS_PER_NS = 100;
const APPS = 10;

export interface ClusterShape {
  namespaces: number;
  nodes: number;
  /** Keep only NetworkPolicy shape k (0..9) and drop the ANPs: for investigating one shape. */
  only?: number;
  /**
   * One ClusterIP Service per app per namespace (10 per namespace), each with an EndpointSlice of
   * its 10 pods: port http 80 → 8080 and dns 53/UDP → 53. Egress to them is judged by their
   * backends (agent/src/policy/services.ts). Env SERVICES=1 in bench/compile-child.ts and bench/capacity-child.ts.
   */
  services?: boolean;
}

export function must<T>(p: Parsed<T>): T {
  if (!p.ok) throw new Error(JSON.stringify(p.errors));
  return p.value;
}

/** Pod i of namespace ns (labels app, tier; pod 0 also role=monitoring). */
export function rawPod(shape: ClusterShape, ns: number, i: number, app: string): unknown {
  if (ns >= 512) throw new Error(`namespace index ${ns}: pod IPs 10.<ns/2>.x.y cover 512 namespaces`);
  return {
    metadata: { namespace: `ns${ns}`, name: `p${i}`, labels: { app, tier: i % 2 === 0 ? 'fe' : 'be', ...(i === 0 ? { role: 'monitoring' } : {}) } },
    spec: {
      // (ns + i): every node gets pods of every app, not one app per node.
      nodeName: `node${(ns + i) % shape.nodes}`,
      containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9100 }] }],
    },
    status: { phase: 'Running', podIPs: [{ ip: podIp(ns, i) }] },
  };
}

export function podIp(ns: number, i: number): string {
  return `10.${Math.floor(ns / 2)}.${(ns % 2) * 100 + Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** A /24 inside 172.16.0.0/12 per namespace: valid for up to 4,096 namespaces (NS=500 is 50,000 pods). */
function exceptFor(ns: number): string {
  return `172.${16 + Math.floor(ns / 256)}.${ns % 256}.0/24`;
}

export function policies(ns: number): unknown[] {
  const meta = (name: string): Record<string, unknown> => ({ namespace: `ns${ns}`, name });
  const app = (k: number): Record<string, unknown> => ({ matchLabels: { app: `app${k}` } });
  return [
    { metadata: meta('deny-all'), spec: { podSelector: {} } },
    { metadata: meta('fe-to-be'), spec: { podSelector: app(1), ingress: [{ from: [{ podSelector: app(0) }], ports: [{ port: 8080 }] }] } },
    { metadata: meta('team'), spec: { podSelector: app(2), ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: `t${ns % 10}` } }, podSelector: app(0) }], ports: [{ port: 80, endPort: 90 }] }] } },
    { metadata: meta('monitoring'), spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'monitoring' } } }], ports: [{ port: 'metrics' }] }] } },
    { metadata: meta('dns'), spec: { podSelector: app(3), policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ns0' } }, podSelector: app(9) }], ports: [{ port: 53, protocol: 'UDP' }] }] } },
    { metadata: meta('ext'), spec: { podSelector: app(4), policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '172.16.0.0/12', except: [exceptFor(ns)] } }] }] } },
    { metadata: meta('lb'), spec: { podSelector: app(5), ingress: [{ from: [{ ipBlock: { cidr: '192.168.0.0/16' } }], ports: [{ port: 443 }] }] } },
    { metadata: meta('prod'), spec: { podSelector: app(6), ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'prod' } } }] }] } },
    { metadata: meta('http'), spec: { podSelector: app(8), policyTypes: ['Egress'], egress: [{ to: [{ podSelector: app(7) }], ports: [{ port: 'http' }] }] } },
    { metadata: meta('same-ns'), spec: { podSelector: app(9), ingress: [{ from: [{ podSelector: {} }] }] } },
  ];
}

/** The cluster as the API server would send it (unparsed objects), for benches that drive the agent's intake (bench/churn.ts). */
export interface RawCluster {
  namespaces: unknown[];
  pods: unknown[];
  networkPolicies: unknown[];
  adminNetworkPolicies: unknown[];
  baselineAdminNetworkPolicy: unknown;
  services: unknown[];
  endpointSlices: unknown[];
}

/** Service k of namespace ns: ClusterIP 100.<64 + ns/256>.<ns mod 256>.<k+1>. */
function serviceObjects(ns: number, k: number): [unknown, unknown] {
  const name = `app${k}`;
  const ports = [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }];
  const vip = `100.${64 + Math.floor(ns / 256)}.${ns % 256}.${k + 1}`;
  const addresses: string[] = [];
  for (let i = k; i < PODS_PER_NS; i += APPS) addresses.push(podIp(ns, i));
  return [
    { metadata: { namespace: `ns${ns}`, name }, spec: { type: 'ClusterIP', clusterIP: vip, clusterIPs: [vip], ports } },
    {
      metadata: { namespace: `ns${ns}`, name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } }, addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }],
      endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    },
  ];
}

export function namespaceObject(n: number): unknown {
  return { metadata: { name: `ns${n}`, labels: { team: `t${n % 10}`, env: n % 3 === 0 ? 'prod' : 'dev' } } };
}

export function rawCluster(shape: ClusterShape): RawCluster {
  const out: RawCluster = { namespaces: [], pods: [], networkPolicies: [], adminNetworkPolicies: [], baselineAdminNetworkPolicy: undefined, services: [], endpointSlices: [] };
  for (let n = 0; n < shape.namespaces; n++) {
    out.namespaces.push(namespaceObject(n));
    for (let k = 0; k < (shape.services === true ? APPS : 0); k++) {
      const [svc, slice] = serviceObjects(n, k);
      out.services.push(svc);
      out.endpointSlices.push(slice);
    }
    for (let i = 0; i < PODS_PER_NS; i++) out.pods.push(rawPod(shape, n, i, `app${i % APPS}`));
    for (const [idx, p] of policies(n).entries()) if (shape.only === undefined || shape.only === idx) out.networkPolicies.push(p);
  }
  for (let a = 0; a < (shape.only === undefined ? 10 : 0); a++) {
    out.adminNetworkPolicies.push({
      metadata: { name: `anp${a}` },
      spec: {
        priority: a * 10,
        subject: { namespaces: { matchLabels: { team: `t${a}` } } },
        ingress: [
          { action: 'Allow', from: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'ns0' } } }] },
          { action: 'Deny', from: [{ namespaces: { matchLabels: { env: 'dev' } } }], ports: [{ portNumber: { protocol: 'TCP', port: 22 } }] },
          { action: 'Pass', from: [{ namespaces: {} }] },
        ],
        egress: [{ action: 'Deny', to: [{ networks: ['169.254.0.0/16'] }] }],
      },
    });
  }
  out.baselineAdminNetworkPolicy = {
    metadata: { name: 'default' },
    spec: { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: { matchLabels: { env: 'dev' } } }] }] },
  };
  return out;
}

export function buildCluster(shape: ClusterShape): ClusterState {
  const raw = rawCluster(shape);
  return {
    namespaces: raw.namespaces.map((n) => must(parseNamespace(n))),
    pods: raw.pods.map((p) => must(parsePod(p))),
    networkPolicies: raw.networkPolicies.map((p) => must(parseNetworkPolicy(p))),
    multiNetworkPolicies: [],
    adminNetworkPolicies: raw.adminNetworkPolicies.map((p) => must(parseAdminNetworkPolicy(p))),
    baselineAdminNetworkPolicy: must(parseBaselineAdminNetworkPolicy(raw.baselineAdminNetworkPolicy)),
    services: raw.services.map((s) => must(parseService(s))),
    endpointSlices: raw.endpointSlices.map((s) => must(parseEndpointSlice(s))),
  };
}
