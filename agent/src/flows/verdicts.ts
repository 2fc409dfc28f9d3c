/**
 * weir_policy_verdicts_total: flow events counted per policy (issue 17). The rule id of each event
 * names its policy through the compiler's rule table; events no rule decided (default allow, default
 * deny) count as kind="default" with policy="" in the endpoint's namespace. Labels are per policy
 * and direction, never per pod or address, so the series stay bounded by the policies that exist;
 * deleting a policy removes its series.
 *
 * Only policy verdicts of new flows are counted (reasons policy-allow, default-allow, policy-deny,
 * default-deny, and audit events: audit_drop "would drop", audit_allow "would allow", counted
 * under the audit policy that would decide); conntrack, revocation and non-policy drops (spoofed, malformed,
 * ...) are in weir_agent_datapath_packets_total. Allowed flows are reported only while the agent
 * asks the datapath for allow events (AgentOptions.flowEvents, on by default).
 */
import type { Counter } from 'prom-client';
import type { FlowEvent, Reason } from '../datapath/codec.js';
import type { RuleOrigin } from '../datapath/desired.js';

export type PolicyVerdictLabel = 'namespace' | 'policy' | 'kind' | 'direction' | 'verdict';
export type PolicyVerdictLabels = Record<PolicyVerdictLabel, string>;

const POLICY_REASONS: ReadonlySet<Reason> = new Set<Reason>(['policy-allow', 'default-allow', 'policy-deny', 'default-deny']);

/** namespace, policy and kind of the rule that decided (or of the default). */
export function policyOf(origin: RuleOrigin | undefined, endpointNamespace: string): Pick<PolicyVerdictLabels, 'namespace' | 'policy' | 'kind'> {
  if (origin === undefined || origin.kind === 'DefaultDeny') return { namespace: endpointNamespace, policy: '', kind: 'default' };
  switch (origin.kind) {
    case 'NetworkPolicy':
    case 'MultiNetworkPolicy': {
      // The compiler names namespaced rules "namespace/name" (agent/src/policy/compile.ts).
      const slash = origin.policy.indexOf('/');
      return { namespace: origin.policy.slice(0, slash), policy: origin.policy.slice(slash + 1), kind: origin.kind };
    }
    case 'ClusterNetworkPolicy':
      return { namespace: '', policy: origin.cnp?.name ?? origin.policy, kind: origin.kind };
    case 'AdminNetworkPolicy':
    case 'BaselineAdminNetworkPolicy':
      return { namespace: '', policy: origin.policy, kind: origin.kind };
  }
}

/** The labels an event counts under, or undefined when it is not a policy verdict. */
export function verdictLabels(event: FlowEvent, origin: RuleOrigin | undefined, endpointNamespace: string): PolicyVerdictLabels | undefined {
  let verdict: string;
  if (event.verdict === 'audit') verdict = 'audit_drop';
  else if (event.verdict === 'audit-allow') verdict = 'audit_allow';
  else if (!POLICY_REASONS.has(event.reason)) return undefined;
  else verdict = event.verdict === 'allow' ? 'forwarded' : 'dropped';
  return { ...policyOf(origin, endpointNamespace), direction: event.direction, verdict };
}

const policyKey = (kind: string, namespace: string, policy: string): string => `${kind}\u0000${namespace}\u0000${policy}`;

export class PolicyVerdicts {
  /** policy key → the label sets it has series under (to remove them with the policy). */
  private readonly series = new Map<string, Map<string, PolicyVerdictLabels>>();

  constructor(private readonly counter: Counter<PolicyVerdictLabel>) {}

  count(event: FlowEvent, origin: RuleOrigin | undefined, endpointNamespace: string): void {
    const labels = verdictLabels(event, origin, endpointNamespace);
    if (labels === undefined) return;
    const key = policyKey(labels.kind, labels.namespace, labels.policy);
    let sets = this.series.get(key);
    if (sets === undefined) this.series.set(key, (sets = new Map<string, PolicyVerdictLabels>()));
    sets.set(`${labels.direction}\u0000${labels.verdict}`, labels);
    this.counter.inc(labels);
  }

  /** A deleted policy: its series go away (namespace '' for cluster-scoped kinds). */
  removePolicy(kind: string, namespace: string, policy: string): void {
    const key = policyKey(kind, namespace, policy);
    for (const labels of this.series.get(key)?.values() ?? []) this.counter.remove(labels);
    this.series.delete(key);
  }
}
