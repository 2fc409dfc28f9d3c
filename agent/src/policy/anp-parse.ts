/** Boundary parsers of AdminNetworkPolicy and BaselineAdminNetworkPolicy (models in model.ts). */
import type { AdminAction, AdminNetworkPolicy, AdminRule, AdminSubject, Peer, PortSpec } from './model.js';
import { readCidr, readMeta, readPolicyEnforcement, readProtocol, readSelector } from './model-read.js';
import { Reader, type Parsed } from './read.js';

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
