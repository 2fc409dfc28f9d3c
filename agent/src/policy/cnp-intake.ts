/**
 * ClusterNetworkPolicy between the watch and the compiler.
 *
 * Parsing, and what happens when an object does not parse (last good version, else its subjects
 * isolated), is the common policy intake's (intake.ts); this module gives it the ClusterNetworkPolicy
 * kind (`cnpIntakeKind`). What is particular to ClusterNetworkPolicy sits between that intake and the
 * compiler (ClusterPolicyIntake, a PolicyTarget): it keeps every policy as written and every Node,
 * resolves `nodes` peers again when a Node's labels or addresses change (heartbeat-only updates
 * change nothing), and reports what a policy asks that Weir does not enforce (cnp-resolve.ts) once
 * per change of that text, not on every resync.
 */
import { isRecord } from '../../../common/src/records.js';
import { parseClusterNetworkPolicy, type ClusterNetworkPolicy, type ClusterNetworkPolicySpec, type CnpRule } from './cnp.js';
import { resolveClusterNetworkPolicy, sameNode, usesNodes, type NodeInfo } from './cnp-resolve.js';
import type { PolicyCompiler } from './compile.js';
import type { Parsed } from './model.js';

type CompilerPolicy = Parameters<PolicyCompiler['upsertPolicy']>[0];
type CompilerRef = Parameters<PolicyCompiler['removePolicy']>[0];

/** What the compiler takes for a parsed object: resolved against no Node yet, the spec kept for ClusterPolicyIntake. */
const forIntake = (spec: ClusterNetworkPolicySpec): ClusterNetworkPolicy => ({ ...resolveClusterNetworkPolicy(spec, []).policy, spec });

export function parseClusterNetworkPolicyForIntake(v: unknown): Parsed<ClusterNetworkPolicy> {
  const p = parseClusterNetworkPolicy(v);
  return p.ok ? { ok: true, value: forIntake(p.value) } : p;
}

const DENY_ALL: CnpRule = { name: 'weir-unreadable-policy-deny-all', action: 'Deny', peers: [{ kind: 'all' }], ports: 'all' };

/**
 * An unreadable ClusterNetworkPolicy's isolation: Deny everything, both directions, for the subjects
 * it selects, in its tier at its priority (the Admin tier and priority 0 when those do not read);
 * undefined when its subject or its policy-for annotation cannot be read.
 */
export function isolateClusterNetworkPolicy(v: unknown): { policy: ClusterNetworkPolicy; what: string } | undefined {
  const metadata = isRecord(v) ? v['metadata'] : undefined;
  const spec = isRecord(v) && isRecord(v['spec']) ? v['spec'] : {};
  const pr = spec['priority'];
  const priority = typeof pr === 'number' && Number.isInteger(pr) && pr >= 0 && pr <= 1000 ? pr : 0;
  const tier = spec['tier'] === 'Baseline' ? 'Baseline' : 'Admin';
  const p = parseClusterNetworkPolicy({ metadata, spec: { tier, priority, subject: spec['subject'] } });
  // No `spec`: nothing to resolve again, so ClusterPolicyIntake hands it to the compiler as it is.
  if (!p.ok) return undefined;
  return {
    policy: { ...resolveClusterNetworkPolicy(p.value, []).policy, ingress: [DENY_ALL], egress: [DENY_ALL] },
    what: `denies all traffic of the subjects it selects, in the ${tier} tier at priority ${priority}`,
  };
}

/** The ClusterNetworkPolicy entry of intake.ts's POLICY_KINDS. */
export const cnpIntakeKind = {
  kind: 'ClusterNetworkPolicy',
  apiVersion: 'policy.networking.k8s.io/v1beta1',
  namespaced: false,
  parse: parseClusterNetworkPolicyForIntake,
  isolation: isolateClusterNetworkPolicy,
} as const;

/** Called when a policy's not-enforced notes appear or change (never for an empty list). */
export type CnpNotesListener = (policy: { name: string; uid: string }, notes: string[]) => void;

/** Stands between the policy intake and the compiler; every kind but ClusterNetworkPolicy passes straight through. */
export class ClusterPolicyIntake {
  private readonly specs = new Map<string, ClusterNetworkPolicySpec>();
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly reported = new Map<string, string>();
  private readonly current = new Map<string, string[]>();

  constructor(
    private readonly compiler: { upsertPolicy(p: CompilerPolicy): void; removePolicy(ref: CompilerRef): void },
    private readonly onNotes: CnpNotesListener,
  ) {}

  upsertPolicy(p: CompilerPolicy): void {
    if (p.kind !== 'ClusterNetworkPolicy' || p.spec === undefined) return this.compiler.upsertPolicy(p);
    this.specs.set(p.name, p.spec);
    this.push(p.name);
  }

  removePolicy(ref: CompilerRef): void {
    if (ref.kind === 'ClusterNetworkPolicy') {
      this.specs.delete(ref.name);
      this.reported.delete(ref.name);
      this.current.delete(ref.name);
    }
    this.compiler.removePolicy(ref);
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
    for (const [name, spec] of this.specs) if (usesNodes(spec)) this.push(name);
  }

  private push(name: string): void {
    const spec = this.specs.get(name);
    if (spec === undefined) return;
    const { policy, notes } = resolveClusterNetworkPolicy(spec, this.nodes.values());
    this.compiler.upsertPolicy(policy);
    if (notes.length === 0) this.current.delete(name);
    else this.current.set(name, notes);
    const text = `${spec.uid}\u0000${notes.join('\n')}`;
    if (this.reported.get(name) === text) return;
    this.reported.set(name, text);
    if (notes.length > 0) this.onNotes({ name, uid: spec.uid }, notes);
  }
}
