/** Boundary parsers of NetworkPolicy and MultiNetworkPolicy (the namespaced kinds; models in model.ts). */
import { MULTUS_POLICY_FOR as POLICY_FOR_ANNOTATION } from '../../../common/src/annotations.js';
import type { Cidr } from '../../../common/src/ip.js';
import type { NetworkPolicy, NetworkPolicyRule, Peer, PortSpec } from './model.js';
import { readCidr, readMeta, readPolicyEnforcement, readPolicyFor, readProtocol, readSelector } from './model-read.js';
import { Reader, type Parsed } from './read.js';

const PORT_NAME = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

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

/** networking.k8s.io/v1 NetworkPolicy. */
export const parseNetworkPolicy = (v: unknown): Parsed<NetworkPolicy> => readNetworkPolicyLike(v, 'NetworkPolicy');
/** k8s.cni.cncf.io/v1beta1 MultiNetworkPolicy (same spec, plus the policy-for annotation). */
export const parseMultiNetworkPolicy = (v: unknown): Parsed<NetworkPolicy> => readNetworkPolicyLike(v, 'MultiNetworkPolicy');
