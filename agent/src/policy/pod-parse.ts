/** Boundary parsers of Pods and Namespaces as the policy compiler sees them (models in model.ts). */
import type { ContainerPort, Namespace, Pod, PodInterface } from './model.js';
import { readMeta, readProtocol } from './model-read.js';
import { Reader, type Parsed } from './read.js';

/** The interface NetworkPolicy applies to when a pod says nothing about its default network. */
export const DEFAULT_INTERFACE = 'eth0';

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
