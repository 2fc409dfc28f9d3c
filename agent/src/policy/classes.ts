/**
 * Identity classes (bpf/include/weir_shared.h, "identities"): a peer that selects every pod of a
 * namespace, or every pod of the cluster, compiles to ONE policy entry per rule keyed by a class,
 * not one per pod identity it covers. The ipcache gives each pod address its namespace's class
 * next to its identity, and the datapath looks the class up too (bpf/include/policy.h).
 * Without classes, `from: namespaceSelector: {}` on 500 endpoints of a 10,000-pod cluster was
 * hundreds of thousands of entries, more than the node's policy map holds.
 */
import { CLUSTER_IDENTITY, NAMESPACE_CLASS_BIT } from '../datapath/desired.js';
import { IdentityAllocator, MAX_IDENTITY } from '../identity/allocator.js';
import type { LabelSelector, Peer } from './model.js';
import { matchesSelector } from './selector.js';

export const selectsEverything = (s: LabelSelector): boolean =>
  Object.keys(s.matchLabels).length === 0 && s.matchExpressions.length === 0;

/** A `pods` peer with an empty pod selector: all pods of its namespaces, so a class can stand for it. */
export const isWidePeer = (peer: Peer): peer is Peer & { kind: 'pods' } => peer.kind === 'pods' && selectsEverything(peer.pods);

/** Namespace name ↔ class id. Ids derive from the name (IdentityAllocator), so a restart keeps them. */
export class NamespaceClasses {
  private readonly allocator = new IdentityAllocator(NAMESPACE_CLASS_BIT, MAX_IDENTITY);
  private readonly names = new Map<number, string>();

  /** The class of a namespace, allocated on first use. */
  of(namespace: string): number {
    const known = this.allocator.lookup(namespace);
    if (known !== undefined) return known;
    const id = this.allocator.acquire(namespace);
    this.names.set(id, namespace);
    return id;
  }

  namespaceOf(id: number): string | undefined {
    return this.names.get(id);
  }

  /** Forgets every namespace not in `live` (after a rebuild of the compiler's state). */
  retain(live: ReadonlySet<string>): void {
    for (const [id, ns] of [...this.names]) {
      if (live.has(ns)) continue;
      this.allocator.release(ns);
      this.names.delete(id);
    }
  }

  /**
   * The classes standing for a wide peer: its own namespace, the cluster class when every
   * namespace is selected, else one class per namespace whose labels match now (namespace label
   * changes rebuild the compiler, so this list stays true between rebuilds).
   */
  forPeer(peer: Peer & { kind: 'pods' }, namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>): number[] {
    const scope = peer.namespaces;
    if (scope.kind === 'name') return [this.of(scope.name)];
    if (selectsEverything(scope.selector)) return [CLUSTER_IDENTITY];
    const out: number[] = [];
    for (const [ns, labels] of namespaces) if (matchesSelector(scope.selector, labels)) out.push(this.of(ns));
    return out;
  }
}
