/**
 * One generation of the policy compiler's cluster state (compile.ts) with the indexes that make
 * compiles cheap: pods by key and node, principals and selectors, identities, the ipcache, the
 * policies and their compiled rules. PolicyCompiler.load constructs a fresh one; the incremental
 * change handlers here keep it and the endpoint-group cache (group-cache.ts) consistent.
 */
import type { IdentityAllocator } from '../identity/allocator.js';
import { cidrContains, hostCidr, type Cidr } from '../../../common/src/ip.js';
import type { NamespaceClasses } from './classes.js';
import type { CompiledPolicy, IdentityInfo, PodRecord, SelectorEntry } from './compile-types.js';
import type { PeerPorts } from './emit.js';
import type { GroupCache } from './group-cache.js';
import { IdentityTable } from './identity-table.js';
import { IpCacheTable } from './ipcache-table.js';
import type { ClusterState, Pod } from './model.js';
import { isNamespaced, policyCidrs, policyKey, PolicySet, type AnyPolicy } from './policy-set.js';
import { compilePolicy, ruleIncludes, type RuleContext } from './rule-compile.js';
import type { RuleTable } from './rules.js';
import { SelectorIndex } from './selector-index.js';
import type { ServiceTable } from './services.js';

export const podKey = (ns: string, name: string): string => `${ns}/${name}`;

/** What outlives every generation: the compiler's allocator, classes, services, groups and rule table. */
export interface CompileDeps {
  allocator: IdentityAllocator;
  classes: NamespaceClasses;
  services: ServiceTable;
  groups: GroupCache;
  ruleTable: RuleTable;
  identityClasses: boolean;
}

export class CompileState {
  readonly index = new SelectorIndex();
  readonly pods = new Map<string, PodRecord>();
  readonly podsByNode = new Map<string, Set<string>>();
  readonly ids: IdentityTable;
  readonly ipTable: IpCacheTable;
  readonly policies = new PolicySet();
  private readonly compiledPolicies = new Map<string, CompiledPolicy>();
  /** True while PolicyCompiler.load fills this generation: caches are empty, dirty tracking is skipped. */
  loading = false;

  constructor(private readonly deps: CompileDeps) {
    this.ids = new IdentityTable(deps.allocator);
    this.ipTable = this.newIpTable();
  }

  private newIpTable(): IpCacheTable {
    return new IpCacheTable((idKey) => {
      const info = this.ids.get(idKey);
      if (info === undefined) {
        const vip = this.deps.services.byKey(idKey);
        return vip === undefined ? undefined : { identity: vip.id };
      }
      const ns = info.principal?.namespace;
      return ns === undefined ? { identity: info.id } : { identity: info.id, namespaceClass: this.deps.classes.of(ns) };
    });
  }

  /** Named ports of remote identities, for emit.ts. */
  readonly peerPorts: PeerPorts = {
    allIdentities: () => this.ids.numbers(),
    namedPortsOf: (id) => this.ids.byNumber(id)?.principal?.namedPorts,
  };

  /** The identity keys this generation holds (released once the next one holds its own). */
  heldKeys(): string[] {
    const held = this.ids.cidrKeys();
    for (const rec of this.pods.values()) held.push(...rec.identityKeys);
    return held;
  }

  /** Namespaces, pods and policies as a ClusterState (services come from the compiler's ServiceTable). */
  snapshot(): Omit<ClusterState, 'services' | 'endpointSlices'> {
    return {
      namespaces: [...this.index.namespaces].map(([name, labels]) => ({ name, labels })),
      pods: [...this.pods.values()].map((r) => r.pod),
      ...this.policies.snapshot(),
    };
  }

  dropPod(namespace: string, name: string): void {
    const k = podKey(namespace, name);
    const rec = this.pods.get(k);
    if (rec === undefined) return;
    this.pods.delete(k);
    if (rec.pod.nodeName !== undefined) this.podsByNode.get(rec.pod.nodeName)?.delete(k);
    for (const ip of rec.ips) {
      this.ipTable.release(ip, k);
    }
    for (const idKey of rec.identityKeys) {
      const gone = this.ids.releasePod(idKey);
      if (gone !== undefined) this.identityChanged(gone, false);
    }
    const pr = rec.principal;
    pr.pods.delete(k);
    if (pr.pods.size === 0) {
      this.index.forget(pr);
      for (const g of pr.groups) this.deps.groups.delete(g);
    }
  }

  /** Whether any pod address lies inside this CIDR. */
  holdsPodAddress(cidr: Cidr): boolean {
    for (const rec of this.pods.values()) {
      for (const host of rec.hosts) if (cidrContains(cidr, host)) return true;
    }
    return false;
  }

  /** Whether any of these CIDRs (released by a removal) is still referenced by no policy. */
  stillUnused(released: readonly string[]): boolean {
    return released.some((c) => this.ids.unusedBlock(c));
  }

  /** Returns the ipBlock CIDRs (canonical) that no policy references any more. */
  removePolicyByKey(k: string): string[] {
    const p = this.policies.get(k);
    if (p === undefined) return [];
    this.dirtyPolicy(k);
    this.policies.delete(k, p);
    this.deps.groups.forgetPolicy(k);
    this.index.forgetUser(k);
    // The caller rebuilds when a CIDR falls out of use (its identity and ipcache entry go).
    const released: string[] = [];
    for (const c of policyCidrs(p)) if (this.ids.releaseBlock(c.canonical)) released.push(c.canonical);
    return released;
  }

  // ---------------------------------------------------------------- indexes

  /** Returns the CIDR identities that appeared with this policy (none while loading). */
  addPolicyIndexes(p: AnyPolicy): IdentityInfo[] {
    const k = policyKey(p);
    this.policies.add(k, p);
    this.subjectSelector(p).users.add(k);
    return this.loading ? [] : this.registerBlocks(p);
  }

  /** Adds a policy's ipBlock CIDRs (and excepts) to the CIDR set, each with a CIDR identity; returns the new ones. */
  registerBlocks(p: AnyPolicy): IdentityInfo[] {
    const added: IdentityInfo[] = [];
    for (const c of policyCidrs(p)) {
      const info = this.ids.addBlock(c);
      if (info === undefined) continue;
      this.ipTable.claim(c.canonical, '', info.key);
      added.push(info);
    }
    return added;
  }

  /** The selector entry of the pods a policy applies to. */
  private subjectSelector(p: AnyPolicy): SelectorEntry {
    return isNamespaced(p)
      ? this.index.selectorFor({ kind: 'name', name: p.namespace }, p.podSelector)
      : this.index.selectorFor({ kind: 'selector', selector: p.subject.namespaces }, p.subject.pods);
  }

  addPod(pod: Pod): void {
    if (pod.hostNetwork || pod.terminal) return;
    const k = podKey(pod.namespace, pod.name);
    const principal = this.index.principalFor(pod);
    principal.pods.add(k);
    const rec: PodRecord = { pod, principal, identityKeys: [], ips: [], hosts: [] };
    this.pods.set(k, rec);
    if (pod.nodeName !== undefined) {
      let s = this.podsByNode.get(pod.nodeName);
      if (s === undefined) this.podsByNode.set(pod.nodeName, (s = new Set()));
      s.add(k);
    }
    const seen = new Set<string>();
    for (const iface of pod.interfaces) {
      for (const ipText of iface.ips) {
        const host = hostCidr(ipText);
        if (host === undefined || seen.has(host.canonical)) continue;
        seen.add(host.canonical);
        const { key: idKey, info, fresh } = this.ids.acquirePod(principal, host);
        rec.identityKeys.push(idKey);
        rec.ips.push(host.canonical);
        rec.hosts.push(host);
        if (fresh) this.identityChanged(info, true);
        this.ipTable.claim(host.canonical, k, idKey);
      }
    }
  }

  /**
   * An identity appeared or vanished. Rather than recompiling every endpoint whose policies could
   * name it, patch: add it to (or drop it from) the compiled rules' peer sets, and add (or remove)
   * just that identity's entries on the cached endpoints. Entries of one identity fold only with
   * each other, so the rest of each endpoint stays valid.
   */
  identityChanged(info: IdentityInfo, added: boolean): void {
    if (this.loading) return;
    for (const cp of this.compiledPolicies.values()) {
      for (const rules of [cp.ingress, cp.egress]) {
        for (const r of rules) {
          if (r.peers === undefined) continue;
          if (!added) r.peers.delete(info.id);
          else if (ruleIncludes(this.index, r, info)) r.peers.add(info.id);
        }
      }
    }
    this.deps.groups.patchIdentity(info, added, this.peerPorts);
  }

  // ---------------------------------------------------------------- dirtiness

  dirtyPolicy(k: string): void {
    if (this.loading) return;
    this.compiledPolicies.delete(k);
    this.deps.groups.dropPolicy(k);
    // Endpoints the policy now selects but did not before: found through its subject selector.
    const p = this.policies.get(k);
    if (p === undefined) return;
    for (const pr of this.subjectSelector(p).principals) {
      for (const g of pr.groups) this.deps.groups.delete(g);
      pr.groups.clear();
    }
  }

  // ---------------------------------------------------------------- policy compilation

  private ruleContext(): RuleContext {
    return { index: this.index, classes: this.deps.classes, ids: this.ids, ruleTable: this.deps.ruleTable, identityClasses: this.deps.identityClasses };
  }

  compiledPolicy(k: string): CompiledPolicy | undefined {
    const cached = this.compiledPolicies.get(k);
    if (cached !== undefined) return cached;
    const p = this.policies.get(k);
    if (p === undefined) return undefined;
    const out = compilePolicy(this.ruleContext(), p, k);
    this.compiledPolicies.set(k, out);
    return out;
  }

  // ---------------------------------------------------------------- endpoints

  /** Policies (by key) that apply to one endpoint. */
  applicable(rec: PodRecord, ifaceName: string): string[] {
    return this.policies.applicable(rec, ifaceName, (p) => this.subjectSelector(p).principals.has(rec.principal));
  }
}
