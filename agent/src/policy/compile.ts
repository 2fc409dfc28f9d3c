/**
 * The policy compiler: cluster state in, one node's desired datapath state out (see
 * agent/src/datapath/desired.ts for the contract and the evaluation model it must satisfy).
 *
 * Identities. A pod's security labels (its labels, its namespace's labels, the namespace name) plus
 * its named container ports form a "principal"; pods sharing one are interchangeable to every
 * selector and every named-port lookup. Each pod IP gets the identity of (principal, the set of
 * ipBlock CIDRs containing that IP).
 *
 * ipBlock vs pod IPs (a deliberate choice). In the ipcache a pod's /32 (/128) always wins over any
 * ipBlock CIDR by longest prefix, yet ipBlocks still match pod IPs exactly as Kubernetes defines
 * them: the identity of a pod IP records which ipBlock CIDRs contain it, so a rule on 10.0.0.0/8
 * except 10.0.0.0/24 allows exactly the pod IPs (and non-pod addresses) in that set. Pods whose IPs
 * lie in no ipBlock keep the plain identity of their principal. Addresses claimed by no pod and no
 * ipBlock are WORLD_IDENTITY (the datapath's miss value; no ipcache entry is emitted for it).
 *
 * Named ports make a principal distinct only when they differ, so egress rules on a named port can
 * be resolved per peer identity without over-allowing (same labels, different port numbers).
 *
 * Scope. NetworkPolicy, AdminNetworkPolicy and BaselineAdminNetworkPolicy apply to the interface of
 * the pod's default network; MultiNetworkPolicy to each secondary interface whose NAD is in its
 * policy-for; ClusterNetworkPolicy to either (cnp.ts, cnpAppliesTo); tier-rules.ts gives the
 * cluster-scoped kinds' rules. Peers match a pod on every one of its IPs (the ipcache is network-agnostic).
 */
import {
  CLUSTER_IDENTITY,
  FIRST_ALLOCATED_IDENTITY,
  LAST_ALLOCATED_IDENTITY,
  type DesiredEndpoint,
  type DesiredNodeState,
  type Direction,
  type EndpointKey,
  type IpCacheEntry,
} from '../datapath/desired.js';
import { IdentityAllocator } from '../identity/allocator.js';
import { cidrContains, hostCidr, type Cidr } from '../identity/cidr.js';
import { labelSetKey } from '../identity/labels.js';
import { NamespaceClasses } from './classes.js';
import type { CompiledPolicy, IdentityInfo, PodRecord, SelectorEntry } from './compile-types.js';
import type { PeerPorts } from './emit.js';
import { GroupCache } from './group-cache.js';
import { IdentityTable } from './identity-table.js';
import { IpCacheTable } from './ipcache-table.js';
import type { ClusterState, Pod } from './model.js';
import { isNamespaced, policyCidrs, policyKey, PolicySet, type AnyPolicy } from './policy-set.js';
import { compilePolicy, ruleIncludes, type RuleContext } from './rule-compile.js';
import { RuleTable } from './rules.js';
import { SelectorIndex } from './selector-index.js';
import { ServiceEmitter } from './service-emit.js';
import type { EndpointSlice, Service } from './service-model.js';
import { ServiceTable, type ServiceDelta } from './services.js';

const podKey = (ns: string, name: string): string => `${ns}/${name}`;

/**
 * Holds cluster state with the indexes that make compiles cheap, and caches per-policy and
 * per-endpoint results; mutations mark exactly the affected caches dirty. Identity ids survive
 * every mutation and every `load` for keys that still exist.
 */
export class PolicyCompiler {
  private readonly allocator = new IdentityAllocator(FIRST_ALLOCATED_IDENTITY, LAST_ALLOCATED_IDENTITY);
  private readonly ruleTable = new RuleTable();
  private readonly classes = new NamespaceClasses();
  /** Service ClusterIPs and their backends (services.ts); survives every `load`. */
  private readonly services = new ServiceTable(this.allocator);
  private readonly serviceEmitter = new ServiceEmitter({
    principalAt: (host) => {
      const slot = this.ipTable.at(host.canonical);
      return slot === undefined ? undefined : this.ids.byNumber(slot.identity)?.principal;
    },
    peerMatches: (peer, pr) => this.index.peerMatches(peer, pr),
    namespacesOf: (scope) => this.index.namespacesOf(scope),
  });

  /**
   * `identityClasses: false` names every peer pod one by one, as before classes existed: the
   * baseline bench/capacity.ts measures beside them. The agent always uses classes.
   */
  constructor(private readonly opts: { identityClasses?: boolean } = {}) {}

  private newIpTable(): IpCacheTable {
    return new IpCacheTable((idKey) => {
      const info = this.ids.get(idKey);
      if (info === undefined) {
        const vip = this.services.byKey(idKey);
        return vip === undefined ? undefined : { identity: vip.id };
      }
      const ns = info.principal?.namespace;
      return ns === undefined ? { identity: info.id } : { identity: info.id, namespaceClass: this.classes.of(ns) };
    });
  }

  /** Named ports of remote identities, for emit.ts. */
  private readonly peerPorts: PeerPorts = {
    allIdentities: () => this.ids.numbers(),
    namedPortsOf: (id) => this.ids.byNumber(id)?.principal?.namedPorts,
  };

  private index = new SelectorIndex();
  private pods = new Map<string, PodRecord>();
  private podsByNode = new Map<string, Set<string>>();
  private ids = new IdentityTable(this.allocator);
  private ipTable = this.newIpTable();
  private policies = new PolicySet();
  private compiledPolicies = new Map<string, CompiledPolicy>();
  /**
   * Compiled endpoint state shared by every endpoint with the same principal and network: their
   * policies, named ports and therefore entries are identical (replicas of one workload).
   */
  private readonly groups = new GroupCache();
  private loading = false;

  // ---------------------------------------------------------------- loading

  /** Replaces the whole state. Identities of keys present before and after keep their ids. */
  load(state: ClusterState): this {
    const held = this.ids.cidrKeys();
    for (const rec of this.pods.values()) held.push(...rec.identityKeys);
    this.index = new SelectorIndex();
    this.pods = new Map();
    this.podsByNode = new Map();
    this.ids = new IdentityTable(this.allocator);
    this.ipTable = this.newIpTable();
    this.services.replace(state.services ?? [], state.endpointSlices ?? []);
    for (const v of this.services.vips()) this.ipTable.claim(v.cidr.canonical, v.owner, v.key);
    this.policies = new PolicySet();
    this.compiledPolicies = new Map();
    this.groups.clear();

    for (const ns of state.namespaces) this.index.namespaces.set(ns.name, ns.labels);
    const all: AnyPolicy[] = [
      ...state.networkPolicies,
      ...state.multiNetworkPolicies,
      ...state.adminNetworkPolicies,
      ...(state.baselineAdminNetworkPolicy ? [state.baselineAdminNetworkPolicy] : []),
      ...(state.clusterNetworkPolicies ?? []),
    ];
    // Caches are empty while loading, so dirty tracking is skipped. Order matters: the ipBlock
    // CIDR set must be complete before pod IP identities are made, and selectors are evaluated
    // once against the full principal index (after pods) instead of once per new principal.
    this.loading = true;
    try {
      for (const p of all) this.registerBlocks(p);
      for (const pod of state.pods) this.addPod(pod);
      for (const p of all) this.addPolicyIndexes(p);
    } finally {
      this.loading = false;
    }
    // Release the previous generation's references only now, so surviving keys kept their ids.
    for (const k of held) this.allocator.release(k);
    this.classes.retain(new Set([...this.index.namespaces.keys(), ...[...this.pods.values()].map((r) => r.pod.namespace)]));
    return this;
  }

  private snapshotState(): ClusterState {
    return {
      namespaces: [...this.index.namespaces].map(([name, labels]) => ({ name, labels })),
      pods: [...this.pods.values()].map((r) => r.pod),
      ...this.policies.snapshot(),
      ...this.services.snapshot(),
    };
  }

  // ---------------------------------------------------------------- incremental mutations

  upsertNamespace(ns: { name: string; labels: Record<string, string> }): void {
    const cur = this.index.namespaces.get(ns.name);
    if (cur !== undefined && labelSetKey(cur) === labelSetKey(ns.labels)) return;
    // Namespace labels are part of every principal in it: rebuild (rare; ids stay stable).
    const s = this.snapshotState();
    this.load({ ...s, namespaces: [...s.namespaces.filter((n) => n.name !== ns.name), ns] });
  }

  removeNamespace(name: string): void {
    if (!this.index.namespaces.has(name)) return;
    const s = this.snapshotState();
    this.load({ ...s, namespaces: s.namespaces.filter((n) => n.name !== name) });
  }

  upsertPod(pod: Pod): void {
    const k = podKey(pod.namespace, pod.name);
    const old = this.pods.get(k);
    const before = { ips: old?.ips ?? [], principal: old?.principal.key };
    if (old !== undefined) this.dropPod(pod.namespace, pod.name);
    this.addPod(pod);
    const now = this.pods.get(k);
    // Most pod updates (status, annotations) change neither: ClusterIPs need no second look then.
    if (now !== undefined && now.principal.key === before.principal && now.ips.join() === before.ips.join()) return;
    this.backendsChanged([...before.ips, ...(now?.ips ?? [])]);
  }

  removePod(namespace: string, name: string): void {
    const before = this.pods.get(podKey(namespace, name))?.ips ?? [];
    this.dropPod(namespace, name);
    this.backendsChanged(before);
  }

  private dropPod(namespace: string, name: string): void {
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
      for (const g of pr.groups) this.groups.delete(g);
    }
  }

  upsertPolicy(p: AnyPolicy): void {
    const k = policyKey(p);
    const released = this.removePolicyByKey(k);
    const added = this.addPolicyIndexes(p);
    if (this.stillUnused(released) || added.some((info) => info.cidr !== undefined && this.holdsPodAddress(info.cidr))) {
      // An ipBlock CIDR that appears or goes changes the identity of every pod IP inside it:
      // rebuild (ids stay stable).
      this.load(this.snapshotState());
      return;
    }
    // New CIDRs that hold no pod address change no pod's identity: each is one new identity,
    // patched into the cached rules whose ipBlocks contain it, as a new pod identity is. (A
    // rebuild per new CIDR made an agent's first list of 100 namespaces' ipBlock policies cost
    // 100 full loads: bench/churn.ts.)
    for (const info of added) this.identityChanged(info, true);
    this.dirtyPolicy(k);
  }

  upsertService(s: Service): void {
    this.servicesChanged(this.services.upsertService(s));
  }

  removeService(namespace: string, name: string): void {
    this.servicesChanged(this.services.removeService(namespace, name));
  }

  upsertEndpointSlice(sl: EndpointSlice): void {
    this.servicesChanged(this.services.upsertSlice(sl));
  }

  /** An EndpointSlice that does not parse: the Service it names has unknown backends (fail closed). */
  brokenEndpointSlice(namespace: string, name: string, service: string): void {
    this.servicesChanged(this.services.brokenSlice(namespace, name, service));
  }

  removeEndpointSlice(namespace: string, name: string): void {
    this.servicesChanged(this.services.removeSlice(namespace, name));
  }

  /** A pod at one of these addresses appeared, changed or went: ClusterIPs listing them are judged again. */
  private backendsChanged(hosts: readonly string[]): void {
    if (this.services.size === 0 || hosts.length === 0) return;
    const changed = this.services.touchBackends(hosts);
    if (changed.length > 0) this.servicesChanged({ added: [], removed: [], changed });
  }

  /**
   * ClusterIP identities appeared, went or changed backends: claim or release their addresses and
   * patch their entries in every cached endpoint group, as identityChanged does for a pod identity
   * (entries of one identity fold only with each other).
   */
  private servicesChanged(d: ServiceDelta): void {
    for (const v of d.removed) this.ipTable.release(v.cidr.canonical, v.owner);
    for (const v of d.added) this.ipTable.claim(v.cidr.canonical, v.owner, v.key);
    if (this.loading) return;
    const gone = new Set([...d.removed, ...d.changed].map((v) => v.id));
    const fresh = [...d.added, ...d.changed];
    if (gone.size === 0 && fresh.length === 0) return;
    this.groups.patchServices(gone, fresh, this.serviceEmitter);
  }

  /** Whether any pod address lies inside this CIDR. */
  private holdsPodAddress(cidr: Cidr): boolean {
    for (const rec of this.pods.values()) {
      for (const host of rec.hosts) if (cidrContains(cidr, host)) return true;
    }
    return false;
  }

  removePolicy(p: Pick<AnyPolicy, 'kind' | 'name'> & { namespace?: string }): void {
    const k = p.kind === 'NetworkPolicy' || p.kind === 'MultiNetworkPolicy' ? `${p.kind}/${p.namespace ?? ''}/${p.name}` : `${p.kind}/${p.name}`;
    // Without the rebuild, CIDR identities of deleted policies stayed in every node's ipcache
    // until the agent restarted: policy churn filled the map.
    if (this.stillUnused(this.removePolicyByKey(k))) this.load(this.snapshotState());
  }

  /** Whether any of these CIDRs (released by a removal) is still referenced by no policy. */
  private stillUnused(released: readonly string[]): boolean {
    return released.some((c) => this.ids.unusedBlock(c));
  }

  /** Returns the ipBlock CIDRs (canonical) that no policy references any more. */
  private removePolicyByKey(k: string): string[] {
    const p = this.policies.get(k);
    if (p === undefined) return [];
    this.dirtyPolicy(k);
    this.policies.delete(k, p);
    this.groups.forgetPolicy(k);
    this.index.forgetUser(k);
    // The caller rebuilds when a CIDR falls out of use (its identity and ipcache entry go).
    const released: string[] = [];
    for (const c of policyCidrs(p)) if (this.ids.releaseBlock(c.canonical)) released.push(c.canonical);
    return released;
  }

  // ---------------------------------------------------------------- indexes

  /** Returns the CIDR identities that appeared with this policy (none while loading). */
  private addPolicyIndexes(p: AnyPolicy): IdentityInfo[] {
    const k = policyKey(p);
    this.policies.add(k, p);
    this.subjectSelector(p).users.add(k);
    return this.loading ? [] : this.registerBlocks(p);
  }

  /** Adds a policy's ipBlock CIDRs (and excepts) to the CIDR set, each with a CIDR identity; returns the new ones. */
  private registerBlocks(p: AnyPolicy): IdentityInfo[] {
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

  private addPod(pod: Pod): void {
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
  private identityChanged(info: IdentityInfo, added: boolean): void {
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
    this.groups.patchIdentity(info, added, this.peerPorts);
  }

  // ---------------------------------------------------------------- dirtiness

  private dirtyPolicy(k: string): void {
    if (this.loading) return;
    this.compiledPolicies.delete(k);
    this.groups.dropPolicy(k);
    // Endpoints the policy now selects but did not before: found through its subject selector.
    const p = this.policies.get(k);
    if (p === undefined) return;
    for (const pr of this.subjectSelector(p).principals) {
      for (const g of pr.groups) this.groups.delete(g);
      pr.groups.clear();
    }
  }

  // ---------------------------------------------------------------- policy compilation

  private ruleContext(): RuleContext {
    return { index: this.index, classes: this.classes, ids: this.ids, ruleTable: this.ruleTable, identityClasses: this.opts.identityClasses !== false };
  }

  private compiledPolicy(k: string): CompiledPolicy | undefined {
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
  private applicable(rec: PodRecord, ifaceName: string): string[] {
    return this.policies.applicable(rec, ifaceName, (p) => this.subjectSelector(p).principals.has(rec.principal));
  }

  /**
   * The NetworkPolicies / MultiNetworkPolicies that isolate an endpoint in a direction, as
   * "NetworkPolicy ns/name": a default-deny drop names them (`weir observe`, logs), since "default
   * deny" alone does not tell an operator which object to look at.
   */
  isolatingPolicies(key: EndpointKey, direction: Direction): string[] {
    const rec = this.pods.get(podKey(key.namespace, key.pod));
    if (rec === undefined) return [];
    const names: string[] = [];
    for (const k of this.applicable(rec, key.interface)) {
      const p = this.policies.get(k);
      if (p === undefined || !isNamespaced(p) || p.audit === true) continue;
      if (direction === 'ingress' ? p.affectsIngress : p.affectsEgress) names.push(`${p.kind} ${p.namespace}/${p.name}`);
    }
    return names.sort();
  }

  /** One endpoint's desired state, or undefined when the pod or interface is unknown. */
  compileEndpoint(key: EndpointKey): DesiredEndpoint | undefined {
    const rec = this.pods.get(podKey(key.namespace, key.pod));
    const iface = rec?.pod.interfaces.find((i) => i.name === key.interface);
    if (rec === undefined || iface === undefined) return undefined;
    // Everything that decides an endpoint's entries: its principal, and which network the interface is on.
    const groupKey = `${rec.principal.key}\u0000${key.interface === rec.pod.defaultInterface ? '' : iface.network ?? '?'}`;
    const g = this.groups.get(groupKey) ??
      this.groups.build(rec, key.interface, groupKey, {
        applicable: this.applicable(rec, key.interface),
        policy: (k) => this.policies.get(k),
        compiled: (k) => this.compiledPolicy(k),
        ruleTable: this.ruleTable,
        peerPorts: this.peerPorts,
        services: this.services,
        serviceEmitter: this.serviceEmitter,
      });
    return {
      namespace: key.namespace,
      pod: key.pod,
      interface: key.interface,
      isolatedIngress: g.isolatedIngress,
      isolatedEgress: g.isolatedEgress,
      entries: g.entries,
      revision: g.revision,
    };
  }

  /** Every pod IP and ipBlock CIDR with its identity; a pod's claim beats an equal ipBlock's. */
  ipcache(): IpCacheEntry[] {
    return this.ipTable.entries();
  }

  /**
   * Endpoints of the pods on `node`: the default interface and every secondary interface.
   * Ownership: the returned `entries` arrays are shared between endpoints of one workload and are
   * updated in place by later mutations of this compiler (identities appearing or vanishing).
   * Encode, serialize or copy what must be remembered before mutating the compiler again.
   */
  compileNode(node: { name: string }): DesiredNodeState {
    const endpoints: DesiredEndpoint[] = [];
    for (const pk of this.podsByNode.get(node.name) ?? []) {
      const rec = this.pods.get(pk);
      if (rec === undefined) continue;
      for (const iface of rec.pod.interfaces) {
        const ep = this.compileEndpoint({ namespace: rec.pod.namespace, pod: rec.pod.name, interface: iface.name });
        if (ep !== undefined) endpoints.push(ep);
      }
    }
    return { ipcache: this.ipcache(), endpoints, rules: [...this.ruleTable.rules] };
  }

  /** The identity an address resolves to for a known pod IP (diagnostics, `weir explain`). */
  identityOfPod(namespace: string, name: string): number[] {
    const rec = this.pods.get(podKey(namespace, name));
    if (rec === undefined) return [];
    return rec.identityKeys.map((k) => this.allocator.lookup(k)).filter((x): x is number => x !== undefined);
  }

  /** Human description of an identity or class: "ns {labels…}", "cidr 10.0.0.0/8", "every pod of ns". */
  describeIdentity(id: number): string | undefined {
    if (id === CLUSTER_IDENTITY) return 'every pod';
    const ns = this.classes.namespaceOf(id);
    if (ns !== undefined) return `every pod of namespace ${ns}`;
    return this.ids.describe(id) ?? this.services.describe(id);
  }

  /**
   * The backends ("address:port") of one Service port of a ClusterIP, for `weir explain`; 'unknown'
   * when a slice of the Service does not parse; undefined when no Service has that address and port.
   */
  serviceBackends(clusterIP: string, port: number): string[] | 'unknown' | undefined {
    const slot = this.ipTable.at(hostCidr(clusterIP)?.canonical ?? '');
    const vip = slot === undefined ? undefined : this.services.byNumber(slot.identity);
    const p = vip?.ports.find((x) => x.port === port);
    if (p === undefined) return undefined;
    return p.backends === undefined ? 'unknown' : p.backends.map((b) => `${b.host.canonical.replace(/\/\d+$/, '')}:${b.port}`);
  }

  /** "service ns/name" when `ip` is a Service ClusterIP (flow events name the destination so). */
  serviceAt(ip: string): string | undefined {
    if (this.services.size === 0) return undefined;
    const slot = this.ipTable.at(hostCidr(ip)?.canonical ?? '');
    const vip = slot === undefined ? undefined : this.services.byNumber(slot.identity);
    return vip === undefined ? undefined : `service ${vip.service}`;
  }
}

/** One-shot compile of a node's desired state from a full cluster state. */
export function compileNode(input: ClusterState, node: { name: string }): DesiredNodeState {
  return new PolicyCompiler().load(input).compileNode(node);
}

/** One-shot compile of a single endpoint. */
export function compileEndpoint(input: ClusterState, key: EndpointKey): DesiredEndpoint | undefined {
  return new PolicyCompiler().load(input).compileEndpoint(key);
}

