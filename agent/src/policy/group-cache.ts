/**
 * The compiler's per-endpoint-group results (compile.ts): one GroupState per principal and network,
 * shared by every endpoint with both (replicas of one workload), built here and patched in place
 * when an identity or a ClusterIP appears or goes.
 */
import type { Direction, PolicyEntry } from '../datapath/desired.js';
import type { CompiledPolicy, CompiledRule, GroupState, IdentityInfo, PodRecord } from './compile-types.js';
import { auditIsolation, emitRule, type PeerPorts } from './emit.js';
import { foldEntries } from './fold.js';
import { isNamespaced, type AnyPolicy } from './policy-set.js';
import type { RuleTable } from './rules.js';
import type { ServiceEmitter } from './service-emit.js';
import type { ServiceTable, Vip } from './services.js';

/** What building one group reads from the compiler. */
export interface GroupSources {
  /** Keys of the policies that apply to the endpoint, in emission order. */
  applicable: string[];
  policy: (k: string) => AnyPolicy | undefined;
  compiled: (k: string) => CompiledPolicy | undefined;
  ruleTable: RuleTable;
  peerPorts: PeerPorts;
  services: ServiceTable;
  serviceEmitter: ServiceEmitter;
}

const egressRules = (g: GroupState): CompiledRule[] => g.rules.filter((a) => a.direction === 'egress').map((a) => a.r);

export class GroupCache {
  private groups = new Map<string, GroupState>();
  /** policy key → group keys (cached) it was applied to. */
  private policyGroups = new Map<string, Set<string>>();
  /** Source of GroupState.revision: never reused (not even by `clear`), so equal revisions mean equal entries. */
  private revisions = 0;

  /** Forgets every group (the compiler's `load`); revisions keep counting. */
  clear(): void {
    this.groups = new Map();
    this.policyGroups = new Map();
  }

  get(groupKey: string): GroupState | undefined {
    return this.groups.get(groupKey);
  }

  delete(groupKey: string): void {
    this.groups.delete(groupKey);
  }

  forgetPolicy(k: string): void {
    this.policyGroups.delete(k);
  }

  /** Drops the groups a policy was applied to. */
  dropPolicy(k: string): void {
    const gs = this.policyGroups.get(k);
    if (gs !== undefined) {
      for (const g of gs) this.groups.delete(g);
      gs.clear();
    }
  }

  build(rec: PodRecord, ifaceName: string, groupKey: string, src: GroupSources): GroupState {
    const raw: PolicyEntry[] = [];
    const applied: { r: CompiledRule; direction: Direction }[] = [];
    let isolatedIngress = false;
    let isolatedEgress = false;
    for (const k of src.applicable) {
      const p = src.policy(k);
      const cp = src.compiled(k);
      if (p === undefined || cp === undefined) continue;
      let users = this.policyGroups.get(k);
      if (users === undefined) this.policyGroups.set(k, (users = new Set()));
      users.add(groupKey);
      if (isNamespaced(p) && p.audit === true) auditIsolation(raw, p, src.ruleTable);
      else if (isNamespaced(p)) {
        isolatedIngress ||= p.affectsIngress;
        isolatedEgress ||= p.affectsEgress;
      }
      for (const direction of ['ingress', 'egress'] as const) {
        for (const r of cp[direction]) {
          emitRule(raw, r, direction, rec.principal.namedPorts, src.peerPorts);
          applied.push({ r, direction });
        }
      }
    }
    // kube-proxy translates ClusterIPs on the default network's path only (service-emit.ts).
    const defaultNetwork = ifaceName === rec.pod.defaultInterface;
    const serviceIds = new Set<number>();
    if (defaultNetwork && src.services.size > 0) {
      const from = raw.length;
      src.serviceEmitter.emitGroup(raw, applied.filter((a) => a.direction === 'egress').map((a) => a.r), src.services);
      for (let i = from; i < raw.length; i++) serviceIds.add(raw[i]?.identity ?? 0);
    }
    const g: GroupState = {
      revision: ++this.revisions, isolatedIngress, isolatedEgress, entries: foldEntries(raw), rules: applied, ownPorts: rec.principal.namedPorts,
      defaultNetwork, serviceIds,
    };
    this.groups.set(groupKey, g);
    rec.principal.groups.add(groupKey);
    return g;
  }

  /**
   * An identity appeared or vanished: add (or remove) just that identity's entries on every cached
   * group. Entry arrays are patched in place (copying every endpoint's array per identity change is
   * what made this slow): see the ownership note on PolicyCompiler.compileNode.
   */
  patchIdentity(info: IdentityInfo, added: boolean, peerPorts: PeerPorts): void {
    for (const g of this.groups.values()) {
      if (!added) {
        const list = g.entries;
        let w = 0;
        for (let i = 0; i < list.length; i++) {
          const e = list[i];
          if (e !== undefined && e.identity !== info.id) list[w++] = e;
        }
        if (w !== list.length) g.revision = ++this.revisions;
        list.length = w;
        continue;
      }
      const fresh: PolicyEntry[] = [];
      for (const { r, direction } of g.rules) emitRule(fresh, r, direction, g.ownPorts, peerPorts, info.id);
      if (fresh.length === 0) continue;
      for (const e of foldEntries(fresh)) g.entries.push(e);
      g.revision = ++this.revisions;
    }
  }

  /** ClusterIP identities went (`gone`) or appeared (`fresh`): patch the default-network groups. */
  patchServices(gone: Set<number>, fresh: readonly Vip[], emitter: ServiceEmitter): void {
    for (const g of this.groups.values()) {
      if (!g.defaultNetwork) continue;
      const list = g.entries;
      let touched = false;
      if ([...gone].some((id) => g.serviceIds.has(id))) {
        let w = 0;
        for (let i = 0; i < list.length; i++) {
          const e = list[i];
          if (e !== undefined && !gone.has(e.identity)) list[w++] = e;
        }
        touched = w !== list.length;
        list.length = w;
        for (const id of gone) g.serviceIds.delete(id);
      }
      const raw: PolicyEntry[] = [];
      emitter.emitFor(raw, egressRules(g), fresh);
      for (const e of foldEntries(raw)) {
        list.push(e);
        g.serviceIds.add(e.identity);
        touched = true;
      }
      if (touched) g.revision = ++this.revisions;
    }
  }
}
