/**
 * Services and EndpointSlices (discovery.k8s.io/v1) as the policy compiler reads them: what an
 * egress rule needs to judge traffic a pod sends to a Service ClusterIP (agent/src/policy/services.ts).
 * Parsers take `unknown` and name every bad field.
 */
import { isRecord } from '../../../common/src/records.js';
import { hostCidr, type Cidr } from '../../../common/src/ip.js';
import type { Parsed, ProtocolName } from './model.js';
import { readMeta, readProtocol } from './model-read.js';
import { Reader } from './read.js';

/** The label kube-proxy reads to tie an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface ServicePort {
  /** '' when the Service has one unnamed port. */
  name: string;
  port: number;
  protocol: ProtocolName;
}

export interface Service {
  namespace: string;
  name: string;
  /**
   * spec.clusterIPs (IPv4 and IPv6) as host CIDRs; empty for headless ("None") and ExternalName
   * Services, which kube-proxy gives no virtual address. externalIPs and load-balancer addresses are
   * not read: traffic to them is judged as traffic to any other address.
   */
  clusterIPs: Cidr[];
  ports: ServicePort[];
}

export interface SlicePort {
  name: string;
  /** undefined: the slice gives no port for this name (kube-proxy skips it). */
  port: number | undefined;
  protocol: ProtocolName;
}

export interface EndpointSlice {
  namespace: string;
  name: string;
  /** The Service it belongs to (label kubernetes.io/service-name). */
  service: string;
  /** FQDN slices carry no addresses kube-proxy uses. */
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  ports: SlicePort[];
  /**
   * Every endpoint address, whatever its ready/serving/terminating conditions: kube-proxy may send
   * to serving-terminating endpoints, so a rule must allow all of them (services.ts).
   */
  addresses: Cidr[];
}

/** A protocol field; absent means TCP, as the API server defaults it. */
const protocolOf = (r: Reader, v: unknown, path: string): ProtocolName => readProtocol(r, v, path, 'TCP') ?? 'TCP';

export function parseService(v: unknown): Parsed<Service> {
  const r = new Reader();
  const obj = r.requiredRecord(v, '');
  const meta = readMeta(r, obj, true);
  const spec = r.record(obj['spec'], 'spec') ?? {};
  const type = r.string(spec['type'], 'spec.type');
  const ports: ServicePort[] = [];
  (r.array(spec['ports'], 'spec.ports') ?? []).forEach((p, i) => {
    const path = `spec.ports[${i}]`;
    const po = r.record(p, path) ?? {};
    const port = r.integer(po['port'], `${path}.port`, 1, 65535);
    if (po['port'] === undefined || po['port'] === null) r.fail(`${path}.port`, 'is required');
    const protocol = protocolOf(r, po['protocol'], `${path}.protocol`);
    if (port !== undefined) ports.push({ name: r.string(po['name'], `${path}.name`) ?? '', port, protocol });
  });
  // The API server fills clusterIPs from clusterIP; objects built elsewhere may have only the latter.
  const listed = r.array(spec['clusterIPs'], 'spec.clusterIPs');
  const texts: { text: string; path: string }[] = listed !== undefined
    ? listed.flatMap((x, i) => {
      const s = r.string(x, `spec.clusterIPs[${i}]`);
      return s === undefined ? [] : [{ text: s, path: `spec.clusterIPs[${i}]` }];
    })
    : (() => {
      const s = r.string(spec['clusterIP'], 'spec.clusterIP');
      return s === undefined ? [] : [{ text: s, path: 'spec.clusterIP' }];
    })();
  const clusterIPs: Cidr[] = [];
  if (type !== 'ExternalName') {
    for (const { text, path } of texts) {
      if (text === '' || text === 'None') continue;
      const host = hostCidr(text);
      if (host === undefined) r.fail(path, `must be an IPv4 or IPv6 address or "None", not ${JSON.stringify(text)}`);
      else if (!clusterIPs.some((c) => c.canonical === host.canonical)) clusterIPs.push(host);
    }
  }
  return r.result({ namespace: meta.namespace, name: meta.name, clusterIPs, ports });
}

/** The Service an EndpointSlice names, even when the rest of it does not parse ('' when none). */
export function sliceServiceName(v: unknown): string {
  const meta = isRecord(v) && isRecord(v['metadata']) ? v['metadata'] : {};
  const labels = isRecord(meta['labels']) ? meta['labels'] : {};
  const name = labels[SERVICE_NAME_LABEL];
  return typeof name === 'string' ? name : '';
}

export function parseEndpointSlice(v: unknown): Parsed<EndpointSlice> {
  const r = new Reader();
  const obj = r.requiredRecord(v, '');
  const meta = readMeta(r, obj, true);
  const service = meta.labels[SERVICE_NAME_LABEL] ?? '';
  const addressType = r.string(obj['addressType'], 'addressType');
  if (addressType !== 'IPv4' && addressType !== 'IPv6' && addressType !== 'FQDN') r.fail('addressType', 'must be IPv4, IPv6 or FQDN');
  const family = addressType === 'IPv6' ? 6 : 4;
  const ports: SlicePort[] = [];
  (r.array(obj['ports'], 'ports') ?? []).forEach((p, i) => {
    const path = `ports[${i}]`;
    const po = r.record(p, path) ?? {};
    ports.push({
      name: r.string(po['name'], `${path}.name`) ?? '',
      port: r.integer(po['port'], `${path}.port`, 1, 65535),
      protocol: protocolOf(r, po['protocol'], `${path}.protocol`),
    });
  });
  const addresses: Cidr[] = [];
  if (addressType !== 'FQDN') {
    (r.array(obj['endpoints'], 'endpoints') ?? []).forEach((e, i) => {
      const eo = r.record(e, `endpoints[${i}]`) ?? {};
      (r.array(eo['addresses'], `endpoints[${i}].addresses`) ?? []).forEach((a, j) => {
        const path = `endpoints[${i}].addresses[${j}]`;
        const s = r.string(a, path);
        if (s === undefined) return;
        const host = hostCidr(s);
        if (host === undefined || host.family !== family) r.fail(path, `must be an ${addressType ?? 'IP'} address, not ${JSON.stringify(s)}`);
        else addresses.push(host);
      });
    });
  }
  return r.result({
    namespace: meta.namespace, name: meta.name, service,
    addressType: addressType === 'IPv6' || addressType === 'FQDN' ? addressType : 'IPv4', ports, addresses,
  });
}
