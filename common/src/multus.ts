/**
 * Multus pod annotations, parsed the way Multus parses them (multus-cni pkg/k8sclient/k8sclient.go
 * parsePodNetworkAnnotation / parsePodNetworkObjectName, tryLoadK8sPodDefaultNetwork), with
 * Multus's own error texts, plus the interface names Multus will give each attachment
 * (pkg/multus/multus.go getIfname).
 *
 * - `k8s.v1.cni.cncf.io/networks`: JSON iff the value contains `[`, `{` or `"` (then it must be an
 *   array of selection elements); otherwise a comma list of `[ns/]name[@ifname]`, each part trimmed.
 *   A missing namespace means the pod's namespace.
 * - `v1.multus-cni.io/default-network`: same grammar, but a missing namespace means Multus's
 *   namespace (kube-system), and more than one entry is an error.
 * - Interface names: an explicit name wins; the default network gets eth0; otherwise `net<i>` where i
 *   is the attachment's position counting the default network as 0.
 */
import { MULTUS_NAMESPACE } from './annotations.js';
import { isRecord } from './records.js';
import { GO_IP, parseCidr, parseIp } from './ip.js';

export type NetworksForm = 'text' | 'json';

export interface NetworkSelection {
  namespace: string;
  name: string;
  /** Requested interface name ('' when none). */
  interface: string;
  /** Whether the namespace was written (text form `ns/name`, or JSON `namespace`). */
  namespaceGiven: boolean;
  /**
   * The element as the user wrote it (JSON form: the object with its original keys; text form: the
   * trimmed item), so a merge can re-emit it untouched.
   */
  raw: Record<string, unknown> | string;
}

export interface ParsedNetworks {
  form: NetworksForm;
  selections: NetworkSelection[];
}

export type MultusParse<T> = { ok: true; value: T } | { ok: false; error: string };

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IFNAMSIZ = 16;
const IFNAME_FORBIDDEN = /[ \t\n\v\f\r/]/;

/** The runtime's interface-name rule, shared by Multus's text parser and Weir's checks. */
export function interfaceNameProblem(ifname: string): string | undefined {
  if (ifname.length > IFNAMSIZ - 1 || IFNAME_FORBIDDEN.test(ifname)) {
    return `must be less than 15 chars and not contain '/' or spaces. interface name '${ifname}'`;
  }
  return undefined;
}

/** Go's strings.TrimSpace for the ASCII whitespace Multus annotations can carry. */
function trimSpace(s: string): string {
  return s.replace(/^[ \t\n\v\f\r\u0085\u00a0]+|[ \t\n\v\f\r\u0085\u00a0]+$/g, '');
}

function parseObjectName(item: string, defaultNamespace: string): MultusParse<NetworkSelection> {
  const slashItems = item.split('/');
  let ns = '';
  let nameAndIf: string;
  if (slashItems.length === 2) {
    ns = trimSpace(slashItems[0] ?? '');
    nameAndIf = slashItems[1] ?? '';
  } else if (slashItems.length === 1) {
    nameAndIf = slashItems[0] ?? '';
  } else {
    return { ok: false, error: "parsePodNetworkObjectName: Invalid network object (failed at '/')" };
  }
  const atItems = nameAndIf.split('@');
  const name = trimSpace(atItems[0] ?? '');
  let ifname = '';
  if (atItems.length === 2) ifname = trimSpace(atItems[1] ?? '');
  else if (atItems.length !== 1) {
    return { ok: false, error: "parsePodNetworkObjectName: Invalid network object (failed at '@')" };
  }
  for (const part of [ns, name]) {
    if (part.length > 0 && !DNS1123_LABEL.test(part)) {
      return {
        ok: false,
        error:
          'parsePodNetworkObjectName: Failed to parse: one or more items did not match comma-delimited format ' +
          '(must consist of lower case alphanumeric characters). Must start and end with an alphanumeric character), ' +
          `mismatch @ '${part}'`,
      };
    }
  }
  if (ifname.length > 0) {
    const problem = interfaceNameProblem(ifname);
    if (problem !== undefined) {
      return { ok: false, error: `parsePodNetworkObjectName: Failed to parse interface name: ${problem}` };
    }
  }
  return {
    ok: true,
    value: { namespace: ns === '' ? defaultNamespace : ns, name, interface: ifname, namespaceGiven: ns !== '', raw: item },
  };
}


/** Go's encoding/json matches struct fields case-insensitively; an exact match wins. */
function goField(obj: Record<string, unknown>, key: string): unknown {
  if (Object.prototype.hasOwnProperty.call(obj, key)) return obj[key];
  const lower = key.toLowerCase();
  let found: unknown = undefined;
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) found = obj[k];
  return found;
}

function jsonStringField(obj: Record<string, unknown>, key: string, index: number): MultusParse<string> {
  const v = goField(obj, key);
  if (v === undefined || v === null) return { ok: true, value: '' };
  if (typeof v !== 'string') {
    return {
      ok: false,
      error:
        'parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: ' +
        `json: cannot unmarshal ${goJsonKind(v)} into Go struct field NetworkSelectionElement.${key} of type string (element ${index})`,
    };
  }
  return { ok: true, value: v };
}

function goJsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

const JSON_PREFIX = 'parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: ';

function parseJsonForm(value: string, defaultNamespace: string): MultusParse<NetworkSelection[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch (e: unknown) {
    return { ok: false, error: JSON_PREFIX + (e instanceof Error ? e.message : 'invalid JSON') };
  }
  if (doc === null) return { ok: true, value: [] };
  if (!Array.isArray(doc)) {
    return {
      ok: false,
      error: JSON_PREFIX + `json: cannot unmarshal ${goJsonKind(doc)} into Go value of type []*types.NetworkSelectionElement`,
    };
  }
  const out: NetworkSelection[] = [];
  for (let i = 0; i < doc.length; i++) {
    const el: unknown = doc[i];
    if (!isRecord(el)) {
      return {
        ok: false,
        error: JSON_PREFIX + `json: cannot unmarshal ${goJsonKind(el)} into Go value of type types.NetworkSelectionElement (element ${i})`,
      };
    }
    const name = jsonStringField(el, 'name', i);
    if (!name.ok) return name;
    const ns = jsonStringField(el, 'namespace', i);
    if (!ns.ok) return ns;
    const iface = jsonStringField(el, 'interface', i);
    if (!iface.ok) return iface;
    // Multus before v3.2 used "interfaceRequest"; it still maps it to "interface".
    const legacy = jsonStringField(el, 'interfaceRequest', i);
    if (!legacy.ok) return legacy;
    const mac = jsonStringField(el, 'mac', i);
    if (!mac.ok) return mac;
    if (mac.value !== '' && !isMac(mac.value)) {
      return { ok: false, error: `parsePodNetworkAnnotation: failed to mac: address ${mac.value}: invalid MAC address` };
    }
    const ips = goField(el, 'ips');
    if (ips !== undefined && ips !== null) {
      if (!Array.isArray(ips) || ips.some((ip) => typeof ip !== 'string')) {
        return { ok: false, error: JSON_PREFIX + `json: cannot unmarshal ips of element ${i} into Go value of type []string` };
      }
      for (const ip of ips as string[]) {
        if (ip.includes('/')) {
          if (!isCidr(ip)) return { ok: false, error: `failed to parse CIDR ${JSON.stringify(ip)}: invalid CIDR address: ${ip}` };
        } else if (!isIp(ip)) {
          return { ok: false, error: `failed to parse IP address ${JSON.stringify(ip)}` };
        }
      }
    }
    out.push({
      namespace: ns.value === '' ? defaultNamespace : ns.value,
      name: name.value,
      interface: iface.value !== '' ? iface.value : legacy.value,
      namespaceGiven: ns.value !== '',
      raw: el,
    });
  }
  return { ok: true, value: out };
}

const MAC48 = /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/;
const MAC64 = /^([0-9a-fA-F]{2}[:-]){7}[0-9a-fA-F]{2}$/;
const MAC_IB = /^([0-9a-fA-F]{2}[:-]){19}[0-9a-fA-F]{2}$/;
const MAC_DOT = /^([0-9a-fA-F]{4}\.){2,9}[0-9a-fA-F]{4}$/;
function isMac(s: string): boolean {
  return MAC48.test(s) || MAC64.test(s) || MAC_IB.test(s) || MAC_DOT.test(s);
}

/** An address as Go's net.ParseIP reads it (Multus validates `ips` with it). */
const isIp = (s: string): boolean => parseIp(s, GO_IP) !== undefined;
/** A CIDR as Go's net.ParseCIDR reads it. */
const isCidr = (s: string): boolean => parseCidr(s, GO_IP) !== undefined;

/** Which form Multus will read: JSON iff the value contains `[`, `{` or `"`. */
export function networksForm(value: string): NetworksForm {
  return /[[{"]/.test(value) ? 'json' : 'text';
}

/**
 * Parses an attachment-list annotation. An empty value is an error here (as in Multus's parser);
 * callers treat an absent or empty `networks` annotation as "no networks" before calling.
 */
export function parseNetworkList(value: string, defaultNamespace: string): MultusParse<ParsedNetworks> {
  if (value === '') {
    return { ok: false, error: 'parsePodNetworkAnnotation: pod annotation does not have "network" as key' };
  }
  const form = networksForm(value);
  if (form === 'json') {
    const r = parseJsonForm(value, defaultNamespace);
    return r.ok ? { ok: true, value: { form, selections: r.value } } : r;
  }
  const selections: NetworkSelection[] = [];
  for (const rawItem of value.split(',')) {
    const r = parseObjectName(trimSpace(rawItem), defaultNamespace);
    if (!r.ok) return { ok: false, error: `parsePodNetworkAnnotation: ${r.error}` };
    selections.push(r.value);
  }
  return { ok: true, value: { form, selections } };
}

/** `k8s.v1.cni.cncf.io/networks`: a missing namespace means the pod's namespace. */
export function parseNetworksAnnotation(value: string, podNamespace: string): MultusParse<ParsedNetworks> {
  return parseNetworkList(value, podNamespace);
}

/**
 * `v1.multus-cni.io/default-network`: a missing namespace means kube-system (Multus's namespace),
 * exactly one entry.
 */
export function parseDefaultNetworkAnnotation(value: string): MultusParse<NetworkSelection> {
  const r = parseNetworkList(value, MULTUS_NAMESPACE);
  if (!r.ok) return r;
  const [first, ...rest] = r.value.selections;
  if (rest.length > 0) {
    return { ok: false, error: `tryLoadK8sPodDefaultNetwork: more than one default network is specified: ${value}` };
  }
  if (first === undefined) return { ok: false, error: `tryLoadK8sPodDefaultNetwork: no default network is specified: ${value}` };
  return { ok: true, value: first };
}

export interface EffectiveInterface {
  /** The interface name inside the pod. */
  name: string;
  /** undefined for the cluster default network (Multus's clusterNetwork, not a pod-visible NAD). */
  selection: NetworkSelection | undefined;
  /** True for the pod's default network (the Multus master plugin). */
  isDefault: boolean;
  /** 0 for the default network, 1.. for `networks` entries. */
  position: number;
}

/**
 * The interface each attachment will get, in attachment order. `defaultNetwork` is undefined when
 * the pod uses Multus's cluster default network.
 */
export function effectiveInterfaces(defaultNetwork: NetworkSelection | undefined, networks: readonly NetworkSelection[]): EffectiveInterface[] {
  const out: EffectiveInterface[] = [
    {
      name: defaultNetwork !== undefined && defaultNetwork.interface !== '' ? defaultNetwork.interface : 'eth0',
      selection: defaultNetwork,
      isDefault: true,
      position: 0,
    },
  ];
  networks.forEach((sel, i) => {
    out.push({ name: sel.interface !== '' ? sel.interface : `net${i + 1}`, selection: sel, isDefault: false, position: i + 1 });
  });
  return out;
}

/** Text form of one selection, as Multus's comma grammar writes it; undefined if not expressible. */
export function selectionToText(sel: NetworkSelection): string | undefined {
  if (typeof sel.raw === 'string') return sel.raw;
  const keys = Object.keys(sel.raw).map((k) => k.toLowerCase());
  if (keys.some((k) => !['name', 'namespace', 'interface', 'interfacerequest'].includes(k))) return undefined;
  const ns = sel.namespaceGiven ? `${sel.namespace}/` : '';
  const iface = sel.interface !== '' ? `@${sel.interface}` : '';
  return `${ns}${sel.name}${iface}`;
}

/** JSON element form of one selection (the original object for JSON input). */
export function selectionToJson(sel: NetworkSelection): Record<string, unknown> {
  if (typeof sel.raw !== 'string') return sel.raw;
  const el: Record<string, unknown> = { name: sel.name };
  if (sel.namespaceGiven) el['namespace'] = sel.namespace;
  if (sel.interface !== '') el['interface'] = sel.interface;
  return el;
}
