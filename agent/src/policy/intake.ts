/**
 * Policy objects from the watch into the compiler, failing closed when one does not parse.
 *
 * Dropping an unreadable policy would fail open: a Deny rule, or the isolation a NetworkPolicy
 * gives, would vanish because of one bad field. So an object that does not parse:
 *   1. keeps its last good version (the one this agent last read from it), if there was one;
 *   2. otherwise isolates its subjects: a policy of the same kind and name that selects what the
 *      object selects and allows nothing (NetworkPolicy/MultiNetworkPolicy: default deny in its
 *      directions; AdminNetworkPolicy/Baseline: a Deny of every peer at its priority). When the
 *      podSelector of a namespaced policy cannot be read, every pod of its namespace is isolated;
 *   3. only when not even the subject can be bound is it not enforced: an AdminNetworkPolicy whose
 *      subject does not parse (isolating the whole cluster for a typo would be worse), or a
 *      MultiNetworkPolicy whose policy-for annotation does not (no interface to apply it to).
 * Every case is a Warning Event on the object naming the fields to fix, a log line, a count in
 * weir_agent_object_parse_errors_total, and the object in weir_agent_policy_parse_fallbacks until fixed.
 * A tenant's policy that parses but would take its namespace over the ipBlock CIDR budget
 * (namespace-budget.ts) falls back the same way, with a WeirNamespaceLimitExceeded Event and a count
 * in weir_agent_policy_namespace_limit_refusals.
 *
 * "Last good" lives in memory: an agent (re)started while an object is broken isolates its subjects.
 */
import { Gauge, type Counter, type Registry } from 'prom-client';
import { isRecord, metaOf } from '../../../common/src/records.js';
import type { ObjectEventSink, ObjectRef } from '../events.js';
import { cnpIntakeKind } from './cnp-intake.js';
import type { PolicyCompiler } from './compile.js';
import {
  parseAdminNetworkPolicy,
  parseBaselineAdminNetworkPolicy,
  parseMultiNetworkPolicy,
  parseNetworkPolicy,
  type AdminNetworkPolicy,
  type AdminRule,
  type NetworkPolicy,
  type Parsed,
} from './model.js';
import { formatFieldErrors } from '../../../common/src/field-errors.js';
import { DEFAULT_IPBLOCK_CIDRS_PER_NAMESPACE, NamespaceCidrBudget, ipBlockCidrs } from './namespace-budget.js';

type AnyPolicy = Parameters<PolicyCompiler['upsertPolicy']>[0];
type PolicyRef = Parameters<PolicyCompiler['removePolicy']>[0];

/** The part of the compiler the intake drives (PolicyCompiler satisfies it). */
export interface PolicyTarget {
  upsertPolicy(p: AnyPolicy): void;
  removePolicy(ref: PolicyRef): void;
}

export interface PolicyKindSpec {
  kind: AnyPolicy['kind'];
  apiVersion: string;
  namespaced: boolean;
  parse(v: unknown): Parsed<AnyPolicy>;
  /** A policy that selects what `v` selects and allows nothing; undefined when the subject is unreadable. */
  isolation(v: unknown): Isolation | undefined;
}

/** An isolation policy and what it does, in words for the Event. */
export interface Isolation {
  policy: AnyPolicy;
  what: string;
}

export const POLICY_KINDS = {
  networkpolicy: {
    kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', namespaced: true,
    parse: parseNetworkPolicy, isolation: (v) => isolateNetworkPolicyLike(v, parseNetworkPolicy),
  },
  multinetworkpolicy: {
    kind: 'MultiNetworkPolicy', apiVersion: 'k8s.cni.cncf.io/v1beta1', namespaced: true,
    parse: parseMultiNetworkPolicy, isolation: (v) => isolateNetworkPolicyLike(v, parseMultiNetworkPolicy),
  },
  adminnetworkpolicy: {
    kind: 'AdminNetworkPolicy', apiVersion: 'policy.networking.k8s.io/v1alpha1', namespaced: false,
    parse: parseAdminNetworkPolicy, isolation: (v) => isolateAdmin(v, parseAdminNetworkPolicy),
  },
  baselineadminnetworkpolicy: {
    kind: 'BaselineAdminNetworkPolicy', apiVersion: 'policy.networking.k8s.io/v1alpha1', namespaced: false,
    parse: parseBaselineAdminNetworkPolicy, isolation: (v) => isolateAdmin(v, parseBaselineAdminNetworkPolicy),
  },
  /** policy.networking.k8s.io/v1beta1; agent/src/policy/cnp-intake.ts. */
  clusternetworkpolicy: cnpIntakeKind,
} satisfies Record<string, PolicyKindSpec>;

export type PolicyResource = keyof typeof POLICY_KINDS;
export type Fallback = 'last-good' | 'isolated' | 'not-enforced';

// ---------------------------------------------------------------- isolation policies

const specOf = (v: unknown): Record<string, unknown> => (isRecord(v) && isRecord(v['spec']) ? v['spec'] : {});

/** The directions the object declares, or both when its policyTypes cannot be read. */
function declaredDirections(spec: Record<string, unknown>): { ingress: boolean; egress: boolean } {
  const types = spec['policyTypes'];
  if (types === undefined || types === null || (Array.isArray(types) && types.length === 0)) {
    // The API's defaulting: Ingress always, Egress when there are egress rules.
    return { ingress: true, egress: spec['egress'] !== undefined && spec['egress'] !== null };
  }
  if (Array.isArray(types) && types.every((t) => t === 'Ingress' || t === 'Egress')) {
    return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  }
  return { ingress: true, egress: true };
}

function isolateNetworkPolicyLike<P extends NetworkPolicy>(v: unknown, parse: (v: unknown) => Parsed<P>): { policy: P; what: string } | undefined {
  const metadata = isRecord(v) ? v['metadata'] : undefined;
  const spec = specOf(v);
  // Its own podSelector if that reads, else every pod of the namespace.
  let subject = parse({ metadata, spec: { podSelector: spec['podSelector'] ?? {} } });
  let whom = 'the pods it selects';
  if (!subject.ok) {
    subject = parse({ metadata, spec: { podSelector: {} } });
    if (!subject.ok) return undefined;
    whom = `every pod of namespace ${subject.value.namespace} (its spec.podSelector cannot be read)`;
  }
  const d = declaredDirections(spec);
  const directions = d.ingress && d.egress ? 'ingress and egress' : d.ingress ? 'ingress' : 'egress';
  return {
    policy: { ...subject.value, affectsIngress: d.ingress, affectsEgress: d.egress, ingress: [], egress: [] },
    what: `isolates ${whom}: default deny for ${directions}`,
  };
}

const DENY_ALL: AdminRule = { name: 'weir-unreadable-policy-deny-all', action: 'Deny', peers: [{ kind: 'all' }], ports: 'all' };

function isolateAdmin(v: unknown, parse: (v: unknown) => Parsed<AdminNetworkPolicy>): { policy: AdminNetworkPolicy; what: string } | undefined {
  const metadata = isRecord(v) ? v['metadata'] : undefined;
  const spec = specOf(v);
  const pr = spec['priority'];
  // An unreadable priority takes the strongest one.
  const priority = typeof pr === 'number' && Number.isInteger(pr) && pr >= 0 && pr <= 1000 ? pr : 0;
  const p = parse({ metadata, spec: { priority, subject: spec['subject'] } });
  if (!p.ok) return undefined;
  const tier = p.value.kind === 'AdminNetworkPolicy' ? `at priority ${priority}` : 'in the baseline tier';
  return { policy: { ...p.value, ingress: [DENY_ALL], egress: [DENY_ALL] }, what: `isolates its subjects: Deny of every peer, ingress and egress, ${tier}` };
}

/** The policy an unreadable object stands for when there is no last good version (also `weir explain`). */
export const isolateNetworkPolicy = (v: unknown): NetworkPolicy | undefined => isolateNetworkPolicyLike(v, parseNetworkPolicy)?.policy;
export const isolateMultiNetworkPolicy = (v: unknown): NetworkPolicy | undefined => isolateNetworkPolicyLike(v, parseMultiNetworkPolicy)?.policy;
export const isolateAdminNetworkPolicy = (v: unknown): AdminNetworkPolicy | undefined => isolateAdmin(v, parseAdminNetworkPolicy)?.policy;
export const isolateBaselineAdminNetworkPolicy = (v: unknown): AdminNetworkPolicy | undefined => isolateAdmin(v, parseBaselineAdminNetworkPolicy)?.policy;

// ---------------------------------------------------------------- intake

export interface IntakeLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PolicyIntakeOptions {
  target: PolicyTarget;
  log: IntakeLog;
  events?: ObjectEventSink;
  /** weir_agent_object_parse_errors_total (one count per unreadable version seen). */
  parseErrors: Counter<'resource'>;
  /** Where weir_agent_policy_parse_fallbacks is registered. */
  registry: Registry;
  /** Distinct ipBlock CIDRs one namespace's policies may name (default DEFAULT_IPBLOCK_CIDRS_PER_NAMESPACE). */
  ipBlockCidrsPerNamespace?: number;
}

/** Why an object is held at a fallback: it does not parse, or its namespace's budget refused it. */
type Cause = 'unreadable' | 'namespace-limit';

interface Degraded {
  resource: PolicyResource;
  fallback: Fallback;
  cause: Cause;
  namespace: string;
  report: string;
  /** A namespace-limit refusal keeps the object, to admit it once its namespace has room. */
  object?: unknown;
}


export class PolicyIntake {
  private readonly lastGood = new Map<string, AnyPolicy>();
  /** "kind\0namespace\0name" → the object's reference (Events about it: flows/audit-events.ts). */
  private readonly refs = new Map<string, ObjectRef>();
  private readonly degraded = new Map<string, Degraded>();
  private readonly budget: NamespaceCidrBudget;

  constructor(private readonly o: PolicyIntakeOptions) {
    this.budget = new NamespaceCidrBudget(o.ipBlockCidrsPerNamespace ?? DEFAULT_IPBLOCK_CIDRS_PER_NAMESPACE);
    const refusals = new Gauge({
      name: 'weir_agent_policy_namespace_limit_refusals',
      help: 'Policies refused because their namespace would name more ipBlock CIDRs than agent.policy.ipBlockCidrsPerNamespace',
      labelNames: ['namespace'],
      registers: [o.registry],
      collect: () => {
        refusals.reset();
        for (const d of this.degraded.values()) if (d.cause === 'namespace-limit') refusals.inc({ namespace: d.namespace });
      },
    });
    const gauge = new Gauge({
      name: 'weir_agent_policy_parse_fallbacks',
      help: 'Policy objects that do not parse, by what is enforced instead (last-good, isolated, not-enforced)',
      labelNames: ['resource', 'fallback'],
      registers: [o.registry],
      collect: () => {
        gauge.reset();
        for (const d of this.degraded.values()) gauge.inc({ resource: d.resource, fallback: d.fallback });
      },
    });
  }

  /** The objects currently held at a fallback, "kind ns/name" → fallback (status, tests). */
  fallbacks(): Map<string, Fallback> {
    return new Map([...this.degraded].map(([k, d]) => [k, d.fallback]));
  }

  /** The reference of a policy object the intake holds (namespace '' for cluster-scoped kinds). */
  objectRef(kind: string, namespace: string, name: string): ObjectRef | undefined {
    return this.refs.get(`${kind}\u0000${namespace}\u0000${name}`);
  }

  apply(resource: PolicyResource, type: 'upsert' | 'delete', object: unknown): void {
    const spec: PolicyKindSpec = POLICY_KINDS[resource];
    const m = metaOf(object);
    const ref: PolicyRef = { kind: spec.kind, name: m.name, ...(spec.namespaced ? { namespace: m.namespace } : {}) };
    const key = spec.namespaced ? `${spec.kind} ${m.namespace}/${m.name}` : `${spec.kind} ${m.name}`;
    const refKey = `${spec.kind}\u0000${spec.namespaced ? m.namespace : ''}\u0000${m.name}`;
    if (type === 'delete') this.refs.delete(refKey);
    else this.refs.set(refKey, { apiVersion: spec.apiVersion, kind: spec.kind, namespace: spec.namespaced ? m.namespace : undefined, name: m.name, uid: m.uid });
    if (type === 'delete') {
      this.lastGood.delete(key);
      this.budget.remove(m.namespace, key);
      if (this.degraded.delete(key)) this.o.log.info({ policy: key }, 'unreadable policy deleted; its fallback is gone with it');
      this.o.target.removePolicy(ref);
      this.retryRefused(m.namespace);
      return;
    }
    const parsed = spec.parse(object);
    let problems: string;
    let cause: Cause = 'unreadable';
    if (parsed.ok) {
      const refusal = this.overBudget(key, parsed.value);
      if (refusal === undefined) {
        this.lastGood.set(key, parsed.value);
        if (this.degraded.delete(key)) this.o.log.info({ policy: key }, 'policy accepted again; enforcing it as written');
        this.o.target.upsertPolicy(parsed.value);
        this.retryRefused(m.namespace, key);
        return;
      }
      problems = refusal;
      cause = 'namespace-limit';
    } else {
      this.o.parseErrors.inc({ resource });
      problems = formatFieldErrors(parsed.errors);
    }
    let fallback: Fallback;
    let consequence: string;
    if (this.lastGood.has(key)) {
      // The compiler still holds the last good version (and the budget still counts it): leave it there.
      fallback = 'last-good';
      consequence = 'Weir keeps enforcing its last good version';
    } else {
      this.budget.remove(m.namespace, key);
      const isolation = spec.isolation(object);
      if (isolation !== undefined) {
        this.o.target.upsertPolicy(isolation.policy);
        fallback = 'isolated';
        consequence = `Weir ${isolation.what},`;
      } else {
        this.o.target.removePolicy(ref);
        fallback = 'not-enforced';
        consequence = 'Weir cannot tell what it selects, so it is NOT enforced';
      }
    }
    const report = cause === 'unreadable'
      ? `${key} does not parse (${problems}); ${consequence} until these fields are fixed`
      : `${key} is refused: ${problems}; ${consequence} until the namespace's policies fit`;
    if (this.degraded.get(key)?.report === report) return;
    this.degraded.set(key, { resource, fallback, cause, namespace: spec.namespaced ? m.namespace : '', report, ...(cause === 'namespace-limit' ? { object } : {}) });
    this.o.log.warn({ policy: key, fallback, errors: problems }, report);
    this.o.events?.warning(
      { apiVersion: spec.apiVersion, kind: spec.kind, namespace: spec.namespaced ? m.namespace : undefined, name: m.name, uid: m.uid },
      cause === 'unreadable' ? 'WeirPolicyUnreadable' : 'WeirNamespaceLimitExceeded',
      report,
    );
  }

  /**
   * Offers the namespace's refused policies their place again (a policy there was deleted or
   * changed, so the budget may have room), oldest refusal first; `except` is the one just applied.
   */
  private retryRefused(namespace: string, except?: string): void {
    const waiting = [...this.degraded].filter(([k, d]) => k !== except && d.cause === 'namespace-limit' && d.namespace === namespace);
    for (const [, d] of waiting) this.apply(d.resource, 'upsert', d.object);
  }

  /** Why a tenant's policy does not fit its namespace's ipBlock budget; undefined when it fits (or has no budget). */
  private overBudget(key: string, p: AnyPolicy): string | undefined {
    if (p.kind !== 'NetworkPolicy' && p.kind !== 'MultiNetworkPolicy') return undefined;
    const verdict = this.budget.admit(p.namespace, key, ipBlockCidrs(p));
    if (verdict.ok) return undefined;
    return `namespace ${p.namespace}'s policies would name ${verdict.total} distinct ipBlock CIDRs (this policy ${verdict.own}), `
      + `over the limit of ${this.budget.limit} per namespace (agent.policy.ipBlockCidrsPerNamespace): merge CIDRs into wider prefixes, `
      + 'or ask the cluster administrator to raise the limit';
  }
}
