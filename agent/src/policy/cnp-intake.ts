/**
 * The agent's ClusterNetworkPolicy bookkeeping between the watch and the compiler: keeps every
 * parsed policy and every Node, resolves `nodes` peers again when a Node's labels or addresses
 * change (heartbeat-only updates change nothing), and reports what a policy asks that Weir does
 * not enforce (cnp-resolve.ts) once per change of that text, not on every resync.
 */
import type { ClusterNetworkPolicy, ClusterNetworkPolicySpec } from './cnp.js';
import { resolveClusterNetworkPolicy, sameNode, usesNodes, type NodeInfo } from './cnp-resolve.js';

export interface CnpTarget {
  upsertPolicy(p: ClusterNetworkPolicy): void;
  removePolicy(p: { kind: 'ClusterNetworkPolicy'; name: string }): void;
}

/** Called when a policy's not-enforced notes appear or change (never for an empty list). */
export type CnpNotesListener = (policy: { name: string; uid: string }, notes: string[]) => void;

export class ClusterPolicyIntake {
  private readonly specs = new Map<string, { spec: ClusterNetworkPolicySpec; uid: string }>();
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly reported = new Map<string, string>();
  private readonly current = new Map<string, string[]>();

  constructor(
    private readonly target: CnpTarget,
    private readonly onNotes: CnpNotesListener,
  ) {}

  upsertPolicy(spec: ClusterNetworkPolicySpec, uid: string): void {
    this.specs.set(spec.name, { spec, uid });
    this.push(spec.name);
  }

  removePolicy(name: string): void {
    this.specs.delete(name);
    this.reported.delete(name);
    this.current.delete(name);
    this.target.removePolicy({ kind: 'ClusterNetworkPolicy', name });
  }

  upsertNode(node: NodeInfo): void {
    const before = this.nodes.get(node.name);
    this.nodes.set(node.name, node);
    if (before === undefined || !sameNode(before, node)) this.nodesChanged();
  }

  removeNode(name: string): void {
    if (this.nodes.delete(name)) this.nodesChanged();
  }

  /** What each policy asks that Weir does not enforce, by policy name (empty lists omitted). */
  notEnforced(): ReadonlyMap<string, readonly string[]> {
    return this.current;
  }

  private nodesChanged(): void {
    for (const [name, { spec }] of this.specs) if (usesNodes(spec)) this.push(name);
  }

  private push(name: string): void {
    const entry = this.specs.get(name);
    if (entry === undefined) return;
    const { policy, notes } = resolveClusterNetworkPolicy(entry.spec, this.nodes.values());
    this.target.upsertPolicy(policy);
    if (notes.length === 0) this.current.delete(name);
    else this.current.set(name, notes);
    const text = `${entry.uid}\u0000${notes.join('\n')}`;
    if (this.reported.get(name) === text) return;
    this.reported.set(name, text);
    if (notes.length > 0) this.onNotes({ name, uid: entry.uid }, notes);
  }
}
