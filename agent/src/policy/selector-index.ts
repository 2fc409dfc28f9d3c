/**
 * Principals (pods interchangeable to every selector: same security labels, same named ports) and
 * the cached results of label selectors over them. A selector is tested only against candidate
 * principals, found by namespace or by a label posting, which is what keeps a compile over 10,000
 * pods cheap. Part of the policy compiler (compile.ts), which replaces the whole index when
 * namespace labels change.
 */
import { labelSetKey, securityLabels } from '../identity/labels.js';
import type { Principal, SelectorEntry } from './compile-types.js';
import type { LabelSelector, NamespaceScope, Peer, Pod } from './model.js';
import { matchesSelector, selectorKey } from './selector.js';

const scopeKey = (s: NamespaceScope): string => (s.kind === 'name' ? `ns=${s.name}` : `nssel=${selectorKey(s.selector)}`);

export class SelectorIndex {
  /** Namespace name → labels, as the cluster has them. */
  readonly namespaces = new Map<string, Record<string, string>>();
  private readonly principals = new Map<string, Principal>();
  private readonly principalsByNs = new Map<string, Set<Principal>>();
  private readonly postings = new Map<string, Set<Principal>>();
  private readonly selectors = new Map<string, SelectorEntry>();
  /** Namespace selector (selectorKey) → the namespaces it matches (namespacesOf). */
  private readonly scopeNamespaces = new Map<string, string[]>();
  /** Peer object → its selector entry, so hot paths skip building selector keys. */
  private readonly peerSelectors = new WeakMap<Peer, SelectorEntry>();

  /** The principal of a pod, created (and entered into every selector that matches it) on first use. */
  principalFor(pod: Pod): Principal {
    const nsLabels = this.namespaces.get(pod.namespace) ?? { 'kubernetes.io/metadata.name': pod.namespace };
    const ports = [...pod.containerPorts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.port - b.port));
    const portSig = ports.map((p) => `${p.name}:${p.protocol}:${p.port}`).join(',');
    const key = `${labelSetKey(securityLabels(pod.namespace, nsLabels, pod.labels))}|${portSig}`;
    let pr = this.principals.get(key);
    if (pr !== undefined) return pr;
    pr = { key, namespace: pod.namespace, podLabels: pod.labels, namedPorts: ports, pods: new Set(), groups: new Set(), identities: new Set() };
    this.principals.set(key, pr);
    let byNs = this.principalsByNs.get(pod.namespace);
    if (byNs === undefined) this.principalsByNs.set(pod.namespace, (byNs = new Set()));
    byNs.add(pr);
    for (const [lk, lv] of Object.entries(pod.labels)) {
      const pk = `${lk}=${lv}`;
      let post = this.postings.get(pk);
      if (post === undefined) this.postings.set(pk, (post = new Set()));
      post.add(pr);
    }
    // A principal without identities contributes no peers, and its pods' endpoints are new:
    // joining selector sets dirties nothing (identities are patched in as they appear).
    for (const sel of this.selectors.values()) if (this.selectorMatches(sel, pr)) sel.principals.add(pr);
    return pr;
  }

  /** Removes a principal whose last pod went. */
  forget(pr: Principal): void {
    this.principals.delete(pr.key);
    this.principalsByNs.get(pr.namespace)?.delete(pr);
    for (const [lk, lv] of Object.entries(pr.podLabels)) this.postings.get(`${lk}=${lv}`)?.delete(pr);
    for (const sel of this.selectors.values()) sel.principals.delete(pr);
  }

  /** A policy that no longer uses any selector. */
  forgetUser(policyKey: string): void {
    for (const sel of this.selectors.values()) sel.users.delete(policyKey);
  }

  peerSelector(peer: Peer & { kind: 'pods' }): SelectorEntry {
    let sel = this.peerSelectors.get(peer);
    if (sel === undefined) {
      sel = this.selectorFor(peer.namespaces, peer.pods);
      this.peerSelectors.set(peer, sel);
    }
    return sel;
  }

  selectorFor(scope: NamespaceScope, pods: LabelSelector | undefined): SelectorEntry {
    const key = `${scopeKey(scope)}::${pods === undefined ? '*' : selectorKey(pods)}`;
    let sel = this.selectors.get(key);
    if (sel !== undefined) return sel;
    sel = { key, scope, pods, principals: new Set(), users: new Set() };
    this.selectors.set(key, sel);
    for (const pr of this.candidates(scope, pods)) if (this.selectorMatches(sel, pr)) sel.principals.add(pr);
    return sel;
  }

  /** Narrows the principals a selector must be tested against, using the namespace and posting indexes. */
  private candidates(scope: NamespaceScope, pods: LabelSelector | undefined): Iterable<Principal> {
    if (scope.kind === 'name') return this.principalsByNs.get(scope.name) ?? [];
    let best: Set<Principal> | undefined;
    for (const [k, v] of Object.entries(pods?.matchLabels ?? {})) {
      const post = this.postings.get(`${k}=${v}`) ?? new Set<Principal>();
      if (best === undefined || post.size < best.size) best = post;
    }
    if (best !== undefined) return best;
    const out: Principal[] = [];
    for (const [ns, labels] of this.namespaces) {
      if (matchesSelector(scope.selector, labels)) out.push(...(this.principalsByNs.get(ns) ?? []));
    }
    return out;
  }

  /** Whether a pod peer selects a principal, without caching a selector entry for it (service-emit.ts). */
  peerMatches(peer: Peer & { kind: 'pods' }, pr: Principal): boolean {
    return this.selectorMatches({ scope: peer.namespaces, pods: peer.pods }, pr);
  }

  /**
   * The namespaces a scope covers: by name, or every known namespace its selector matches (cached
   * by selector: namespace labels change only through a new index, compile.ts load).
   */
  namespacesOf(scope: NamespaceScope): string[] {
    if (scope.kind === 'name') return [scope.name];
    const key = selectorKey(scope.selector);
    let hit = this.scopeNamespaces.get(key);
    if (hit === undefined) {
      hit = [...this.namespaces].filter(([, labels]) => matchesSelector(scope.selector, labels)).map(([ns]) => ns);
      this.scopeNamespaces.set(key, hit);
    }
    return hit;
  }

  private selectorMatches(sel: Pick<SelectorEntry, 'scope' | 'pods'>, pr: Principal): boolean {
    if (sel.scope.kind === 'name') {
      if (pr.namespace !== sel.scope.name) return false;
    } else {
      const nsLabels = this.namespaces.get(pr.namespace);
      if (nsLabels === undefined || !matchesSelector(sel.scope.selector, nsLabels)) return false;
    }
    return sel.pods === undefined || matchesSelector(sel.pods, pr.podLabels);
  }
}
