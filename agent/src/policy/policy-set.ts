/**
 * The policies the compiler holds (compile.ts), indexed the way endpoints look them up: namespaced
 * kinds by namespace, AdminNetworkPolicies and ClusterNetworkPolicies as sets, the one baseline.
 */
import type { Cidr } from '../../../common/src/ip.js';
import type { PodRecord } from './compile-types.js';
import { cnpAppliesTo, type ClusterNetworkPolicy } from './cnp.js';
import type { AdminNetworkPolicy, ClusterState, NetworkPolicy } from './model.js';

export type AnyPolicy = NetworkPolicy | AdminNetworkPolicy | ClusterNetworkPolicy;

export const policyKey = (p: AnyPolicy): string =>
  p.kind === 'NetworkPolicy' || p.kind === 'MultiNetworkPolicy' ? `${p.kind}/${p.namespace}/${p.name}` : `${p.kind}/${p.name}`;

export function isNamespaced(p: AnyPolicy): p is NetworkPolicy {
  return p.kind === 'NetworkPolicy' || p.kind === 'MultiNetworkPolicy';
}

/** Every ipBlock CIDR (and except) a policy's rules name. */
export function policyCidrs(p: AnyPolicy): Cidr[] {
  const out: Cidr[] = [];
  const rules = [...p.ingress, ...p.egress];
  for (const r of rules) {
    if (r.peers === 'all') continue;
    for (const peer of r.peers) {
      if (peer.kind === 'ipBlock') out.push(peer.block.cidr, ...peer.block.except);
    }
  }
  return out;
}

export class PolicySet {
  private readonly byKey = new Map<string, AnyPolicy>();
  private readonly byNs = new Map<string, Set<string>>();
  private readonly admin = new Set<string>();
  private readonly cluster = new Set<string>();
  private baseline: string | undefined;

  get(k: string): AnyPolicy | undefined {
    return this.byKey.get(k);
  }

  add(k: string, p: AnyPolicy): void {
    this.byKey.set(k, p);
    if (isNamespaced(p)) {
      let set = this.byNs.get(p.namespace);
      if (set === undefined) this.byNs.set(p.namespace, (set = new Set()));
      set.add(k);
    } else if (p.kind === 'AdminNetworkPolicy') this.admin.add(k);
    else if (p.kind === 'ClusterNetworkPolicy') this.cluster.add(k);
    else this.baseline = k;
  }

  delete(k: string, p: AnyPolicy): void {
    this.byKey.delete(k);
    if (p.kind === 'NetworkPolicy' || p.kind === 'MultiNetworkPolicy') this.byNs.get(p.namespace)?.delete(k);
    else if (p.kind === 'AdminNetworkPolicy') this.admin.delete(k);
    else if (p.kind === 'ClusterNetworkPolicy') this.cluster.delete(k);
    else if (this.baseline === k) this.baseline = undefined;
  }

  /** The policies of a ClusterState, by kind. */
  snapshot(): Pick<
    ClusterState,
    'networkPolicies' | 'multiNetworkPolicies' | 'adminNetworkPolicies' | 'baselineAdminNetworkPolicy' | 'clusterNetworkPolicies'
  > {
    const nps: NetworkPolicy[] = [];
    const mnps: NetworkPolicy[] = [];
    const anps: AdminNetworkPolicy[] = [];
    let banp: AdminNetworkPolicy | undefined;
    const cnps: ClusterNetworkPolicy[] = [];
    for (const p of this.byKey.values()) {
      switch (p.kind) {
        case 'NetworkPolicy':
          nps.push(p);
          break;
        case 'MultiNetworkPolicy':
          mnps.push(p);
          break;
        case 'AdminNetworkPolicy':
          anps.push(p);
          break;
        case 'BaselineAdminNetworkPolicy':
          banp = p;
          break;
        case 'ClusterNetworkPolicy':
          cnps.push(p);
          break;
        default: {
          const never: never = p;
          throw new Error(`unknown policy ${String(never)}`);
        }
      }
    }
    return {
      networkPolicies: nps,
      multiNetworkPolicies: mnps,
      adminNetworkPolicies: anps,
      baselineAdminNetworkPolicy: banp,
      clusterNetworkPolicies: cnps,
    };
  }

  /** Policies (by key) that apply to one endpoint; `selects` says whether a policy's subject holds its pod. */
  applicable(rec: PodRecord, ifaceName: string, selects: (p: AnyPolicy) => boolean): string[] {
    const pod = rec.pod;
    const iface = pod.interfaces.find((i) => i.name === ifaceName);
    const isDefault = ifaceName === pod.defaultInterface;
    const out: string[] = [];
    for (const k of this.byNs.get(pod.namespace) ?? []) {
      const p = this.byKey.get(k);
      if (p === undefined || !isNamespaced(p)) continue;
      if (p.kind === 'NetworkPolicy') {
        if (isDefault && selects(p)) out.push(k);
      } else if (!isDefault && iface?.network !== undefined) {
        const net = iface.network;
        if (p.policyFor.some((n) => `${n.namespace}/${n.name}` === net) && selects(p)) out.push(k);
      }
    }
    for (const k of this.cluster) {
      const p = this.byKey.get(k);
      if (p?.kind === 'ClusterNetworkPolicy' && cnpAppliesTo(p, isDefault, iface?.network) && selects(p)) out.push(k);
    }
    if (isDefault) {
      for (const k of this.admin) {
        const p = this.byKey.get(k);
        if (p !== undefined && selects(p)) out.push(k);
      }
      if (this.baseline !== undefined) {
        const p = this.byKey.get(this.baseline);
        if (p !== undefined && selects(p)) out.push(this.baseline);
      }
    }
    // Among equally strong entries the first emitted names the rule in flow events: order by key,
    // not by arrival, so the attribution does not depend on the order the cluster was seen in.
    return out.sort();
  }
}
