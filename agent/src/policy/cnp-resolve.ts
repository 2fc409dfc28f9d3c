/**
 * Turns a parsed ClusterNetworkPolicy into what the compiler takes: every peer becomes a compiler
 * Peer (pods, ipBlock), `nodes` peers become the addresses of the Nodes they select, and what Weir
 * cannot enforce fails closed the way upstream prescribes for a peer an implementation cannot read
 * (apis/v1beta1/clusternetworkpolicy_types.go, ClusterNetworkPolicyEgressPeer): an Accept rule
 * matches none of it, a Deny or Pass rule becomes "deny all". Each such case is reported as a note,
 * which the agent turns into a Warning Event on the policy and `weir explain` prints.
 */
import { hostCidr, type Cidr } from '../../../common/src/ip.js';
import type { ClusterNetworkPolicy, ClusterNetworkPolicySpec, CnpRule, CnpRuleSpec } from './cnp.js';
import type { Parsed, Peer } from './model.js';
import { readMeta } from './model-read.js';
import { Reader } from './read.js';
import { matchesSelector } from './selector.js';

/** What a `nodes` peer needs of a Node: its labels and the IPs in status.addresses. */
export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  /** Host CIDRs (/32, /128) of every address that is an IP (Hostname entries are not). */
  addresses: Cidr[];
}

export function parseNode(v: unknown): Parsed<NodeInfo> {
  const r = new Reader();
  const obj = r.requiredRecord(v, '');
  const meta = readMeta(r, obj, false);
  const status = r.record(obj['status'], 'status') ?? {};
  const addresses: Cidr[] = [];
  (r.array(status['addresses'], 'status.addresses') ?? []).forEach((a, i) => {
    const text = r.string((r.record(a, `status.addresses[${i}]`) ?? {})['address'], `status.addresses[${i}].address`);
    const c = text === undefined ? undefined : hostCidr(text);
    if (c !== undefined && !addresses.some((x) => x.canonical === c.canonical)) addresses.push(c);
  });
  return r.result({ name: meta.name, labels: meta.labels, addresses });
}

/** Same labels and addresses: a Node update that cannot change any `nodes` peer. */
export function sameNode(a: NodeInfo, b: NodeInfo): boolean {
  const labels = (n: NodeInfo): string => JSON.stringify(Object.entries(n.labels).sort());
  const addrs = (n: NodeInfo): string => n.addresses.map((c) => c.canonical).sort().join(',');
  return labels(a) === labels(b) && addrs(a) === addrs(b);
}

export const usesNodes = (spec: ClusterNetworkPolicySpec): boolean =>
  spec.egress.some((rule) => rule.peers.some((p) => p.kind === 'nodes'));

export interface ResolvedCnp {
  policy: ClusterNetworkPolicy;
  /** What is not enforced as written, one line per peer, naming the field. */
  notes: string[];
}

const DENY_ALL = (rule: CnpRuleSpec): CnpRule => ({ name: rule.name, action: 'Deny', peers: [{ kind: 'all' }], ports: 'all' });

function resolveRule(rule: CnpRuleSpec, path: string, nodes: readonly NodeInfo[], notes: string[]): CnpRule {
  const peers: Peer[] = [];
  let failClosed = false;
  for (const [i, peer] of rule.peers.entries()) {
    const p = `${path}[${i}]`;
    switch (peer.kind) {
      case 'pods':
        peers.push({ kind: 'pods', namespaces: { kind: 'selector', selector: peer.namespaces }, pods: peer.pods });
        continue;
      case 'networks':
        for (const cidr of peer.cidrs) peers.push({ kind: 'ipBlock', block: { cidr, except: [] } });
        continue;
      case 'nodes':
        for (const n of nodes) {
          if (!matchesSelector(peer.nodes, n.labels)) continue;
          for (const cidr of n.addresses) peers.push({ kind: 'ipBlock', block: { cidr, except: [] } });
        }
        continue;
      case 'domainNames':
      case 'unknown': {
        const what = peer.kind === 'domainNames' ? `domainNames (${peer.names.join(', ')}) are not enforced by Weir` : `a peer with no field Weir knows (${peer.fields.join(', ') || 'empty'}) cannot be enforced`;
        if (rule.action === 'Accept') notes.push(`${p}: ${what}; this Accept rule matches no traffic to it (lower rules decide)`);
        else {
          notes.push(`${p}: ${what}; this ${rule.action} rule denies all traffic instead (fail closed)`);
          failClosed = true;
        }
        continue;
      }
      default: {
        const never: never = peer;
        throw new Error(`unknown peer ${String(never)}`);
      }
    }
  }
  if (failClosed) return DENY_ALL(rule);
  // A `nodes` peer selecting no Node (or an Accept whose only peers are not enforced) matches nothing.
  return { name: rule.name, action: rule.action, peers: peers.length > 0 ? peers : [{ kind: 'none' }], ports: rule.ports };
}

/** Resolves one policy against the current Nodes. Pure: same input, same output. */
export function resolveClusterNetworkPolicy(spec: ClusterNetworkPolicySpec, nodes: Iterable<NodeInfo>): ResolvedCnp {
  const nodeList = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const notes: string[] = [];
  const ingress = spec.ingress.map((rule, i) => resolveRule(rule, `spec.ingress[${i}].from`, nodeList, notes));
  const egress = spec.egress.map((rule, i) => resolveRule(rule, `spec.egress[${i}].to`, nodeList, notes));
  return {
    policy: { kind: 'ClusterNetworkPolicy', name: spec.name, tier: spec.tier, priority: spec.priority, subject: spec.subject, ingress, egress, policyFor: spec.policyFor, ...(spec.audit === true ? { audit: true as const } : {}) },
    notes,
  };
}
