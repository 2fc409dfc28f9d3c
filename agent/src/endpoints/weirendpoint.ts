/**
 * The `WeirEndpoint` resource (weir.dev/v1alpha1, namespaced, named and owned like its pod): the
 * IP ↔ MAC ↔ interface ↔ pod binding that the agent which ran the pod's CNI ADD publishes, and what
 * that agent enforces there. Every agent builds its ipcache from these (plus kubelet's
 * `status.podIPs`), never from pod annotations a tenant can write. Only the agent's ServiceAccount
 * may write them (charts/weir/templates/agent-rbac.yaml); the schema is
 * charts/weir/crds/weirendpoints.weir.dev.yaml.
 *
 * This module is pure: the typed model, its boundary parser (takes `unknown`) and the wire object.
 */
import { Reader, type Parsed } from '../policy/read.js';
import { hostCidr } from '../../../common/src/ip.js';

export const WEIR_ENDPOINT = { group: 'weir.dev', version: 'v1alpha1', plural: 'weirendpoints', kind: 'WeirEndpoint' } as const;
export const WEIR_ENDPOINT_API_VERSION = `${WEIR_ENDPOINT.group}/${WEIR_ENDPOINT.version}`;
export const WEIR_ENDPOINT_PATH = `/apis/${WEIR_ENDPOINT_API_VERSION}/${WEIR_ENDPOINT.plural}`;

/** Caps (also in the CRD schema): a pod cannot make one object bind an unbounded set of addresses. */
export const MAX_ENDPOINT_INTERFACES = 8;
export const MAX_IPS_PER_INTERFACE = 8;

export interface BoundInterface {
  /** Interface name inside the pod netns. */
  name: string;
  /** "namespace/name" of the NAD; undefined for the default network or when unknown. */
  network: string | undefined;
  isDefault: boolean;
  mac: string | undefined;
  /** Addresses without prefix length, as the CNI result gave them. */
  ips: string[];
  containerId: string;
  /** When the CNI ADD ran (ms since the epoch): the newest ADD wins a contested IP. */
  attachedAtMs: number;
}

export interface InterfaceEnforcement {
  name: string;
  endpointId: number;
  /** Always true for an interface the weir plugin was called for; false only while it is failing. */
  enforced: boolean;
  isolatedIngress: boolean;
  isolatedEgress: boolean;
  policyEntries: number;
  /** Entries the endpoint may hold; absent from older agents. Over it, the interface is isolated. */
  policyQuota?: number;
  shaping: string;
  ingressBitsPerSecond: number | undefined;
  egressBitsPerSecond: number | undefined;
  warnings: string[];
}

export interface WeirEndpoint {
  namespace: string;
  /** The pod's name. */
  name: string;
  podUid: string;
  node: string;
  interfaces: BoundInterface[];
  enforcement: InterfaceEnforcement[];
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Reads a WeirEndpoint from the API. Bad fields make the whole object unusable (no binding). */
export function parseWeirEndpoint(v: unknown): Parsed<WeirEndpoint> {
  const r = new Reader();
  const obj = r.requiredRecord(v, '');
  const m = r.requiredRecord(obj['metadata'], 'metadata');
  const namespace = r.requiredString(m['namespace'], 'metadata.namespace');
  const name = r.requiredString(m['name'], 'metadata.name');
  const spec = r.requiredRecord(obj['spec'], 'spec');
  const podUid = r.requiredString(spec['podUID'], 'spec.podUID');
  const node = r.requiredString(spec['nodeName'], 'spec.nodeName');
  const list = r.array(spec['interfaces'], 'spec.interfaces') ?? [];
  if (list.length > MAX_ENDPOINT_INTERFACES) r.fail('spec.interfaces', `must list at most ${MAX_ENDPOINT_INTERFACES} interfaces`);
  const interfaces = list.slice(0, MAX_ENDPOINT_INTERFACES).map((item, i) => readInterface(r, item, `spec.interfaces[${i}]`));
  const names = new Set(interfaces.map((i) => i.name));
  if (names.size !== interfaces.length) r.fail('spec.interfaces', 'interface names must be unique');
  const status = r.record(obj['status'], 'status') ?? {};
  const enforcement = (r.array(status['interfaces'], 'status.interfaces') ?? []).slice(0, MAX_ENDPOINT_INTERFACES)
    .map((item, i) => readEnforcement(r, item, `status.interfaces[${i}]`));
  return r.result({ namespace, name, podUid, node, interfaces, enforcement });
}

function readInterface(r: Reader, v: unknown, p: string): BoundInterface {
  const o = r.requiredRecord(v, p);
  const ipsRaw = r.array(o['ips'], `${p}.ips`) ?? [];
  if (ipsRaw.length > MAX_IPS_PER_INTERFACE) r.fail(`${p}.ips`, `must list at most ${MAX_IPS_PER_INTERFACE} addresses`);
  const ips = ipsRaw.slice(0, MAX_IPS_PER_INTERFACE).map((x, j) => {
    const s = r.requiredString(x, `${p}.ips[${j}]`);
    if (s !== '' && (s.includes('/') || hostCidr(s) === undefined)) r.fail(`${p}.ips[${j}]`, `"${s}" is not an IP address`);
    return s;
  });
  const mac = r.string(o['mac'], `${p}.mac`);
  if (mac !== undefined && !MAC.test(mac)) r.fail(`${p}.mac`, `"${mac}" is not a lower-case MAC address`);
  const attachedAt = r.requiredString(o['attachedAt'], `${p}.attachedAt`);
  const attachedAtMs = Date.parse(attachedAt);
  if (attachedAt !== '' && !Number.isFinite(attachedAtMs)) r.fail(`${p}.attachedAt`, `"${attachedAt}" is not an RFC 3339 time`);
  const network = r.string(o['network'], `${p}.network`);
  return {
    name: r.requiredString(o['name'], `${p}.name`),
    network: network === '' ? undefined : network,
    isDefault: r.boolean(o['default'], `${p}.default`) ?? false,
    mac,
    ips,
    containerId: r.string(o['containerID'], `${p}.containerID`) ?? '',
    attachedAtMs: Number.isFinite(attachedAtMs) ? attachedAtMs : 0,
  };
}

const optionalQuota = (q: number | undefined): { policyQuota?: number } => (q === undefined ? {} : { policyQuota: q });

function readEnforcement(r: Reader, v: unknown, p: string): InterfaceEnforcement {
  const o = r.requiredRecord(v, p);
  const bw = r.record(o['bandwidth'], `${p}.bandwidth`) ?? {};
  return {
    name: r.requiredString(o['name'], `${p}.name`),
    endpointId: r.integer(o['endpointID'], `${p}.endpointID`, 0, 0xffff) ?? 0,
    enforced: r.boolean(o['enforced'], `${p}.enforced`) ?? false,
    isolatedIngress: r.boolean(o['isolatedIngress'], `${p}.isolatedIngress`) ?? false,
    isolatedEgress: r.boolean(o['isolatedEgress'], `${p}.isolatedEgress`) ?? false,
    policyEntries: r.integer(o['policyEntries'], `${p}.policyEntries`, 0, Number.MAX_SAFE_INTEGER) ?? 0,
    ...optionalQuota(r.integer(o['policyQuota'], `${p}.policyQuota`, 1, Number.MAX_SAFE_INTEGER)),
    shaping: r.string(o['shaping'], `${p}.shaping`) ?? 'unknown',
    ingressBitsPerSecond: r.integer(bw['ingressBitsPerSecond'], `${p}.bandwidth.ingressBitsPerSecond`, 1, Number.MAX_SAFE_INTEGER),
    egressBitsPerSecond: r.integer(bw['egressBitsPerSecond'], `${p}.bandwidth.egressBitsPerSecond`, 1, Number.MAX_SAFE_INTEGER),
    warnings: (r.array(o['warnings'], `${p}.warnings`) ?? []).map((w, j) => r.string(w, `${p}.warnings[${j}]`) ?? ''),
  };
}

/** The object the agent writes (server-side apply body): owned by the pod, so it goes with it. */
export function weirEndpointObject(ep: WeirEndpoint): Record<string, unknown> {
  return {
    apiVersion: WEIR_ENDPOINT_API_VERSION,
    kind: WEIR_ENDPOINT.kind,
    metadata: {
      name: ep.name,
      namespace: ep.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'weir-agent' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: ep.name, uid: ep.podUid, controller: false, blockOwnerDeletion: false }],
    },
    spec: {
      podUID: ep.podUid,
      nodeName: ep.node,
      interfaces: ep.interfaces.map((i) => ({
        name: i.name,
        ...(i.network === undefined ? {} : { network: i.network }),
        default: i.isDefault,
        ...(i.mac === undefined ? {} : { mac: i.mac }),
        ips: i.ips,
        containerID: i.containerId,
        attachedAt: new Date(i.attachedAtMs).toISOString(),
      })),
    },
    status: {
      interfaces: ep.enforcement.map((e) => ({
        name: e.name,
        endpointID: e.endpointId,
        enforced: e.enforced,
        isolatedIngress: e.isolatedIngress,
        isolatedEgress: e.isolatedEgress,
        policyEntries: e.policyEntries,
        ...optionalQuota(e.policyQuota),
        shaping: e.shaping,
        bandwidth: {
          ...(e.ingressBitsPerSecond === undefined ? {} : { ingressBitsPerSecond: e.ingressBitsPerSecond }),
          ...(e.egressBitsPerSecond === undefined ? {} : { egressBitsPerSecond: e.egressBitsPerSecond }),
        },
        warnings: e.warnings,
      })),
    },
  };
}
