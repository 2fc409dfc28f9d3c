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
import { hostCidr } from '../../../common/src/ip.js';
import { labelSetKey } from '../identity/labels.js';
import { NamespaceClasses } from './classes.js';
import { CompileState, podKey } from './compile-state.js';
import { GroupCache } from './group-cache.js';
import type { ClusterState, Pod } from './model.js';
import { isNamespaced, policyKey, type AnyPolicy } from './policy-set.js';
import { RuleTable } from './rules.js';
import { ServiceEmitter } from './service-emit.js';
import type { EndpointSlice, Service } from './service-model.js';
import { ServiceTable, type ServiceDelta } from './services.js';

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
      const slot = this.state.ipTable.at(host.canonical);
      return slot === undefined ? undefined : this.state.ids.byNumber(slot.identity)?.principal;
    },
    peerMatches: (peer, pr) => this.state.index.peerMatches(peer, pr),
    namespacesOf: (scope) => this.state.index.namespacesOf(scope),
  });

  /**
   * Compiled endpoint state shared by every endpoint with the same principal and network: their
   * policies, named ports and therefore entries are identical (replicas of one workload).
   */
  private readonly groups = new GroupCache();
  /** The current generation of cluster state and indexes; `load` constructs a fresh one. */
  private state: CompileState;

  /**
   * `identityClasses: false` names every peer pod one by one, as before classes existed: the
   * baseline bench/capacity.ts measures beside them. The agent always uses classes.
   */
  constructor(private readonly opts: { identityClasses?: boolean } = {}) {
    this.state = this.freshState();
  }

  private freshState(): CompileState {
    return new CompileState({
      allocator: this.allocator, classes: this.classes, services: this.services, groups: this.groups, ruleTable: this.ruleTable,
      identityClasses: this.opts.identityClasses !== false,
    });
  }

  // ---------------------------------------------------------------- loading

  /** Replaces the whole state. Identities of keys present before and after keep their ids. */
  load(state: ClusterState): this {
    const held = this.state.heldKeys();
    this.state = this.freshState();
    this.services.replace(state.services ?? [], state.endpointSlices ?? []);
    for (const v of this.services.vips()) this.state.ipTable.claim(v.cidr.canonical, v.owner, v.key);
    this.groups.clear();

    for (const ns of state.namespaces) this.state.index.namespaces.set(ns.name, ns.labels);
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
    this.state.loading = true;
    try {
      for (const p of all) this.state.registerBlocks(p);
      for (const pod of state.pods) this.state.addPod(pod);
      for (const p of all) this.state.addPolicyIndexes(p);
    } finally {
      this.state.loading = false;
    }
    // Release the previous generation's references only now, so surviving keys kept their ids.
    for (const k of held) this.allocator.release(k);
    this.classes.retain(new Set([...this.state.index.namespaces.keys(), ...[...this.state.pods.values()].map((r) => r.pod.namespace)]));
    return this;
  }

  private snapshotState(): ClusterState {
    return { ...this.state.snapshot(), ...this.services.snapshot() };
  }

  // ---------------------------------------------------------------- incremental mutations

  upsertNamespace(ns: { name: string; labels: Record<string, string> }): void {
    const cur = this.state.index.namespaces.get(ns.name);
    if (cur !== undefined && labelSetKey(cur) === labelSetKey(ns.labels)) return;
    // Namespace labels are part of every principal in it: rebuild (rare; ids stay stable).
    const s = this.snapshotState();
    this.load({ ...s, namespaces: [...s.namespaces.filter((n) => n.name !== ns.name), ns] });
  }

  removeNamespace(name: string): void {
    if (!this.state.index.namespaces.has(name)) return;
    const s = this.snapshotState();
    this.load({ ...s, namespaces: s.namespaces.filter((n) => n.name !== name) });
  }

  upsertPod(pod: Pod): void {
    const k = podKey(pod.namespace, pod.name);
    const old = this.state.pods.get(k);
    const before = { ips: old?.ips ?? [], principal: old?.principal.key };
    if (old !== undefined) this.state.dropPod(pod.namespace, pod.name);
    this.state.addPod(pod);
    const now = this.state.pods.get(k);
    // Most pod updates (status, annotations) change neither: ClusterIPs need no second look then.
    if (now !== undefined && now.principal.key === before.principal && now.ips.join() === before.ips.join()) return;
    this.backendsChanged([...before.ips, ...(now?.ips ?? [])]);
  }

  removePod(namespace: string, name: string): void {
    const before = this.state.pods.get(podKey(namespace, name))?.ips ?? [];
    this.state.dropPod(namespace, name);
    this.backendsChanged(before);
  }

  upsertPolicy(p: AnyPolicy): void {
    const k = policyKey(p);
    const released = this.state.removePolicyByKey(k);
    const added = this.state.addPolicyIndexes(p);
    if (this.state.stillUnused(released) || added.some((info) => info.cidr !== undefined && this.state.holdsPodAddress(info.cidr))) {
      // An ipBlock CIDR that appears or goes changes the identity of every pod IP inside it:
      // rebuild (ids stay stable).
      this.load(this.snapshotState());
      return;
    }
    // New CIDRs that hold no pod address change no pod's identity: each is one new identity,
    // patched into the cached rules whose ipBlocks contain it, as a new pod identity is. (A
    // rebuild per new CIDR made an agent's first list of 100 namespaces' ipBlock policies cost
    // 100 full loads: bench/churn.ts.)
    for (const info of added) this.state.identityChanged(info, true);
    this.state.dirtyPolicy(k);
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
    for (const v of d.removed) this.state.ipTable.release(v.cidr.canonical, v.owner);
    for (const v of d.added) this.state.ipTable.claim(v.cidr.canonical, v.owner, v.key);
    if (this.state.loading) return;
    const gone = new Set([...d.removed, ...d.changed].map((v) => v.id));
    const fresh = [...d.added, ...d.changed];
    if (gone.size === 0 && fresh.length === 0) return;
    this.groups.patchServices(gone, fresh, this.serviceEmitter);
  }

  removePolicy(p: Pick<AnyPolicy, 'kind' | 'name'> & { namespace?: string }): void {
    const k = p.kind === 'NetworkPolicy' || p.kind === 'MultiNetworkPolicy' ? `${p.kind}/${p.namespace ?? ''}/${p.name}` : `${p.kind}/${p.name}`;
    // Without the rebuild, CIDR identities of deleted policies stayed in every node's ipcache
    // until the agent restarted: policy churn filled the map.
    if (this.state.stillUnused(this.state.removePolicyByKey(k))) this.load(this.snapshotState());
  }

  /**
   * The NetworkPolicies / MultiNetworkPolicies that isolate an endpoint in a direction, as
   * "NetworkPolicy ns/name": a default-deny drop names them (`weir observe`, logs), since "default
   * deny" alone does not tell an operator which object to look at.
   */
  isolatingPolicies(key: EndpointKey, direction: Direction): string[] {
    const rec = this.state.pods.get(podKey(key.namespace, key.pod));
    if (rec === undefined) return [];
    const names: string[] = [];
    for (const k of this.state.applicable(rec, key.interface)) {
      const p = this.state.policies.get(k);
      if (p === undefined || !isNamespaced(p) || p.audit === true) continue;
      if (direction === 'ingress' ? p.affectsIngress : p.affectsEgress) names.push(`${p.kind} ${p.namespace}/${p.name}`);
    }
    return names.sort();
  }

  /** One endpoint's desired state, or undefined when the pod or interface is unknown. */
  compileEndpoint(key: EndpointKey): DesiredEndpoint | undefined {
    const rec = this.state.pods.get(podKey(key.namespace, key.pod));
    const iface = rec?.pod.interfaces.find((i) => i.name === key.interface);
    if (rec === undefined || iface === undefined) return undefined;
    // Everything that decides an endpoint's entries: its principal, and which network the interface is on.
    const groupKey = `${rec.principal.key}\u0000${key.interface === rec.pod.defaultInterface ? '' : iface.network ?? '?'}`;
    const g = this.groups.get(groupKey) ??
      this.groups.build(rec, key.interface, groupKey, {
        applicable: this.state.applicable(rec, key.interface),
        policy: (k) => this.state.policies.get(k),
        compiled: (k) => this.state.compiledPolicy(k),
        ruleTable: this.ruleTable,
        peerPorts: this.state.peerPorts,
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
    return this.state.ipTable.entries();
  }

  /**
   * Endpoints of the pods on `node`: the default interface and every secondary interface.
   * Ownership: the returned `entries` arrays are shared between endpoints of one workload and are
   * updated in place by later mutations of this compiler (identities appearing or vanishing).
   * Encode, serialize or copy what must be remembered before mutating the compiler again.
   */
  compileNode(node: { name: string }): DesiredNodeState {
    const endpoints: DesiredEndpoint[] = [];
    for (const pk of this.state.podsByNode.get(node.name) ?? []) {
      const rec = this.state.pods.get(pk);
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
    const rec = this.state.pods.get(podKey(namespace, name));
    if (rec === undefined) return [];
    return rec.identityKeys.map((k) => this.allocator.lookup(k)).filter((x): x is number => x !== undefined);
  }

  /** Human description of an identity or class: "ns {labels…}", "cidr 10.0.0.0/8", "every pod of ns". */
  describeIdentity(id: number): string | undefined {
    if (id === CLUSTER_IDENTITY) return 'every pod';
    const ns = this.classes.namespaceOf(id);
    if (ns !== undefined) return `every pod of namespace ${ns}`;
    return this.state.ids.describe(id) ?? this.services.describe(id);
  }

  /**
   * The backends ("address:port") of one Service port of a ClusterIP, for `weir explain`; 'unknown'
   * when a slice of the Service does not parse; undefined when no Service has that address and port.
   */
  serviceBackends(clusterIP: string, port: number): string[] | 'unknown' | undefined {
    const slot = this.state.ipTable.at(hostCidr(clusterIP)?.canonical ?? '');
    const vip = slot === undefined ? undefined : this.services.byNumber(slot.identity);
    const p = vip?.ports.find((x) => x.port === port);
    if (p === undefined) return undefined;
    return p.backends === undefined ? 'unknown' : p.backends.map((b) => `${b.host.canonical.replace(/\/\d+$/, '')}:${b.port}`);
  }

  /** "service ns/name" when `ip` is a Service ClusterIP (flow events name the destination so). */
  serviceAt(ip: string): string | undefined {
    if (this.services.size === 0) return undefined;
    const slot = this.state.ipTable.at(hostCidr(ip)?.canonical ?? '');
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

