/**
 * The simulated cluster the suite's manifests describe: its Namespaces, the Pods its StatefulSets
 * would create (ordinal names, template labels and containers, the labels the StatefulSet
 * controller adds), two Linux Nodes whose addresses the host-network pods take, the WeirEndpoint the
 * agent that attached each pod-network pod publishes (eth0, its one interface), and the policies.
 * Probing a flow asks Weir's `weir explain` engine (agent/src/explain/explain-pods.ts) whether
 * policy allows it, and the pod's containers whether anything listens there (agnhost's
 * serve-hostname, netexec and porter, as the manifests start them).
 */
import { weirEndpointObject } from '../../agent/src/endpoints/weirendpoint.js';
import { explainFlow } from '../../agent/src/policy/evaluate.js';
import { PolicyCompiler } from '../../agent/src/policy/compile.js';
import { buildClusterState, explainer, type ExplainResult, type RawCluster } from '../../agent/src/explain/explain-pods.js';
import { isRecord } from '../../common/src/records.js';

type Obj = Record<string, unknown>;

const NODES = [
  { name: 'conformance-node-0', ip: '172.18.0.2' },
  { name: 'conformance-node-1', ip: '172.18.0.3' },
] as const;

const clone = <T>(v: T): T => structuredClone(v);
const rec = (v: unknown, what: string): Obj => {
  if (!isRecord(v)) throw new Error(`${what}: expected an object`);
  return v;
};
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw new Error(`${what}: expected a string`);
  return v;
};
export const metaOfObj = (o: Obj): Obj => rec(o['metadata'], 'metadata');

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export class World {
  readonly namespaces = new Map<string, Obj>();
  readonly pods = new Map<string, Obj>();
  readonly networkPolicies = new Map<string, Obj>();
  readonly clusterNetworkPolicies = new Map<string, Obj>();
  private readonly nodes: Obj[] = NODES.map((n) => ({
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': n.name } },
    status: { addresses: [{ type: 'InternalIP', address: n.ip }, { type: 'Hostname', address: n.name }] },
  }));
  private explain: ((q: Parameters<ReturnType<typeof explainer>>[0]) => ExplainResult) | undefined;
  private toHost: ((client: string, ip: string, protocol: Protocol, port: number) => { allowed: boolean; rule: string }) | undefined;

  /** Applies manifest objects the way `kubectl apply` would create them. */
  apply(objects: readonly Obj[], file: string): void {
    this.explain = undefined;
    for (const o of objects) {
      const meta = metaOfObj(o);
      const name = str(meta['name'], `${file}: metadata.name`);
      switch (o['kind']) {
        case 'Namespace':
          this.namespaces.set(name, clone(o));
          break;
        case 'StatefulSet':
          this.addStatefulSet(o, file);
          break;
        case 'NetworkPolicy':
          this.networkPolicies.set(`${str(meta['namespace'], `${file}: ${name} namespace`)}/${name}`, clone(o));
          break;
        case 'ClusterNetworkPolicy':
          this.clusterNetworkPolicies.set(name, clone(o));
          break;
        default:
          throw new Error(`${file}: kind ${String(o['kind'])} is not simulated by this harness`);
      }
    }
  }

  private addStatefulSet(o: Obj, file: string): void {
    const meta = metaOfObj(o);
    const name = str(meta['name'], `${file}: StatefulSet name`);
    const namespace = str(meta['namespace'], `${file}: StatefulSet ${name} namespace`);
    const spec = rec(o['spec'], `${file}: ${name}.spec`);
    const template = rec(spec['template'], `${file}: ${name}.spec.template`);
    const podSpec = rec(template['spec'], `${file}: ${name}.spec.template.spec`);
    const labels = rec(metaOfObj(template)['labels'] ?? {}, `${file}: ${name} template labels`);
    const replicas = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
    const nsIndex = [...this.namespaces.keys()].indexOf(namespace);
    if (nsIndex < 0) throw new Error(`${file}: StatefulSet ${name} in unknown namespace ${namespace}`);
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      const podName = `${name}-${ordinal}`;
      const node = NODES[ordinal % NODES.length] ?? NODES[0];
      const hostNetwork = podSpec['hostNetwork'] === true;
      const ip = hostNetwork ? node.ip : `10.244.${nsIndex}.${ordinal + 10}`;
      this.pods.set(`${namespace}/${podName}`, {
        apiVersion: 'v1', kind: 'Pod',
        metadata: {
          namespace, name: podName, uid: `uid-${namespace}-${podName}`,
          labels: { ...clone(labels), 'statefulset.kubernetes.io/pod-name': podName, 'apps.kubernetes.io/pod-index': String(ordinal) },
          annotations: {},
        },
        spec: { ...clone(podSpec), nodeName: node.name },
        status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: node.ip },
      });
    }
  }

  pod(key: string): Obj {
    const p = this.pods.get(key);
    if (p === undefined) throw new Error(`no pod ${key} in the simulated cluster`);
    return p;
  }

  podIp(key: string): string {
    return str(rec(this.pod(key)['status'], 'status')['podIP'], `${key} status.podIP`);
  }

  /** Any mutation goes through here so the next probe recompiles. */
  changed(): void {
    this.explain = undefined;
    this.toHost = undefined;
  }

  private raw(): RawCluster {
    return {
      namespaces: [...this.namespaces.values()],
      pods: [...this.pods.values()],
      weirEndpoints: [...this.pods.values()].flatMap((p) => this.endpointOf(p)),
      networkPolicies: [...this.networkPolicies.values()],
      multiNetworkPolicies: [],
      adminNetworkPolicies: [],
      baselineAdminNetworkPolicies: [],
      clusterNetworkPolicies: [...this.clusterNetworkPolicies.values()],
      nodes: this.nodes,
    };
  }

  private endpointOf(pod: Obj): Obj[] {
    const spec = rec(pod['spec'], 'spec');
    if (spec['hostNetwork'] === true) return [];
    const meta = metaOfObj(pod);
    return [weirEndpointObject({
      namespace: str(meta['namespace'], 'namespace'), name: str(meta['name'], 'name'), podUid: str(meta['uid'], 'uid'),
      node: str(spec['nodeName'], 'nodeName'), enforcement: [],
      interfaces: [{
        name: 'eth0', network: undefined, isDefault: true, mac: undefined, containerId: 'c', attachedAtMs: 1,
        ips: [str(rec(pod['status'], 'status')['podIP'], 'podIP')],
      }],
    })];
  }

  /** Ports a pod's containers listen on, read from how the suite's manifests start agnhost. */
  listens(key: string, protocol: Protocol, port: number): boolean {
    const spec = rec(this.pod(key)['spec'], 'spec');
    const containers = Array.isArray(spec['containers']) ? spec['containers'] : [];
    for (const c of containers) {
      const co = rec(c, 'container');
      const command = (Array.isArray(co['command']) ? co['command'] : []).join(' ');
      const serve = /serve-hostname (--tcp|--udp) .*--port (\d+)/.exec(command);
      if (serve && Number(serve[2]) === port && protocol === (serve[1] === '--tcp' ? 'TCP' : 'UDP')) return true;
      const netexec = /netexec --http-port (\d+) --udp-port (\d+)/.exec(command);
      if (netexec && ((protocol === 'TCP' && Number(netexec[1]) === port) || (protocol === 'UDP' && Number(netexec[2]) === port))) return true;
      for (const e of Array.isArray(co['env']) ? co['env'] : []) {
        const sctp = /^SERVE_SCTP_PORT_(\d+)$/.exec(String(rec(e, 'env')['name']));
        if (sctp && protocol === 'SCTP' && Number(sctp[1]) === port && /agnhost porter/.test(command)) return true;
      }
    }
    return false;
  }

  /**
   * A host-network server is the node's address, not a Weir endpoint (`weir explain` answers for
   * pods only): decide the client's egress to that address with the same compiler and evaluator.
   */
  private hostFlow(client: string, ip: string, protocol: Protocol, port: number): { allowed: boolean; rule: string } {
    this.toHost ??= (() => {
      const { state, ignored, enforced } = buildClusterState(this.raw());
      if (ignored.length > 0) throw new Error(`objects Weir could not parse: ${ignored.join('; ')}`);
      const compiler = new PolicyCompiler().load(state);
      return (c, dst, proto, p) => {
        const pod = state.pods.find((x) => `${x.namespace}/${x.name}` === c);
        if (pod === undefined) throw new Error(`client ${c} is not in the compiled cluster`);
        const key = enforced(pod, pod.defaultInterface) ? { namespace: pod.namespace, pod: pod.name, interface: pod.defaultInterface } : undefined;
        const ep = key === undefined ? undefined : compiler.compileEndpoint(key);
        const merged = { ipcache: compiler.ipcache(), endpoints: ep === undefined ? [] : [ep], rules: compiler.compileNode({ name: '' }).rules };
        const srcIp = pod.interfaces.find((i) => i.name === pod.defaultInterface)?.ips[0] ?? str(undefined, `${c} IP`);
        const res = explainFlow(merged, { from: { ip: srcIp, ...(key === undefined ? {} : { endpoint: key }) }, to: { ip: dst }, port: p, protocol: proto });
        return { allowed: res.verdict === 'allow', rule: res.rule?.policy ?? 'no policy' };
      };
    })();
    return this.toHost(client, ip, protocol, port);
  }

  /** Whether policy (as Weir computes it) allows client → server:port. */
  policyAllows(client: string, server: string, protocol: Protocol, port: number): { allowed: boolean; rule: string } {
    if (rec(this.pod(server)['spec'], 'spec')['hostNetwork'] === true) return this.hostFlow(client, this.podIp(server), protocol, port);
    this.explain ??= explainer(this.raw());
    const [sns = '', sname = ''] = server.split('/');
    const [cns = '', cname = ''] = client.split('/');
    const res = this.explain({ pod: { namespace: sns, name: sname }, peer: { namespace: cns, name: cname, direction: 'from' }, port, protocol });
    if (!res.ok) throw new Error(res.error);
    const { flow, ignored } = res.explanation;
    if (ignored.length > 0) throw new Error(`objects Weir could not parse: ${ignored.join('; ')}`);
    if (flow === undefined) throw new Error('explain returned no flow');
    return { allowed: flow.verdict === 'allow', rule: flow.rule?.policy ?? 'no policy' };
  }
}
