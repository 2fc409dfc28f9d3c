/**
 * Cluster intake: every watched change (ClusterSource) goes to the part of the agent that owns its
 * kind: pods, WeirEndpoints, NADs and namespaces to the pod intake (endpoints/pod-intake.ts),
 * policy objects to the policy intake, nodes to the ClusterNetworkPolicy intake, Services and
 * EndpointSlices to the service intake (policy/service-intake.ts), and all of them,
 * in the end, to the one policy compiler. Objects that do not parse are counted and logged here.
 */
import { errorMessage } from '../../common/src/errors.js';
import { formatFieldErrors } from '../../common/src/field-errors.js';
import { metaOf } from '../../common/src/records.js';
import { PodIntake } from './endpoints/pod-intake.js';
import type { ObjectEventSink, PodEventSink } from './events.js';
import { AuditPolicyEvents } from './flows/audit-events.js';
import { PolicyVerdicts } from './flows/verdicts.js';
import type { Resource, SourceChange } from './kube/sources.js';
import type { Log } from './log.js';
import type { AgentMetrics } from './metrics.js';
import { ClusterPolicyIntake } from './policy/cnp-intake.js';
import { parseNode } from './policy/cnp-resolve.js';
import { PolicyCompiler } from './policy/compile.js';
import { NamespaceEnforcement } from './policy/enforcement.js';
import { POLICY_KINDS, PolicyIntake } from './policy/intake.js';
import { parseNamespace, type FieldError } from './policy/model.js';
import { ServiceIntake } from './policy/service-intake.js';

export interface ClusterIntakeOptions {
  nodeName: string;
  log: Log;
  metrics: AgentMetrics;
  /** Pod Events (identity conflicts, malformed intents). */
  events?: PodEventSink;
  /** Warning Events about policy objects (agent/src/policy/intake.ts); audit summaries need them. */
  policyEvents?: ObjectEventSink;
  /** agent.policy.ipBlockCidrsPerNamespace (policy/namespace-budget.ts). */
  ipBlockCidrsPerNamespace?: number;
  now(): number;
}

export class ClusterIntake {
  readonly compiler = new PolicyCompiler();
  /** Namespaces in audit mode (weir.dev/enforcement); applied to every desired endpoint. */
  readonly enforcement = new NamespaceEnforcement();
  readonly verdicts: PolicyVerdicts;
  /** Events on audit policies summarising their would-drops (issue 17); with policyEvents only. */
  readonly auditEvents: AuditPolicyEvents | undefined;
  private readonly policies: PolicyIntake;
  /** Between the intake and the compiler: ClusterNetworkPolicy `nodes` peers and what is not enforced. */
  private readonly cnps = new ClusterPolicyIntake(this.compiler, (p, notes) => this.reportNotEnforced(p, notes));
  /** Services and EndpointSlices: egress to a ClusterIP (agent/src/policy/services.ts). */
  private readonly services = new ServiceIntake(this.compiler, (r, o, e) => this.parseFailed(r, o, e));
  readonly intake: PodIntake;

  constructor(private readonly o: ClusterIntakeOptions) {
    const { log, metrics } = o;
    this.verdicts = new PolicyVerdicts(metrics.policyVerdicts);
    this.policies = new PolicyIntake({
      target: this.cnps, log, parseErrors: metrics.parseErrors, registry: metrics.registry,
      ...(o.policyEvents === undefined ? {} : { events: o.policyEvents }),
      ...(o.ipBlockCidrsPerNamespace === undefined ? {} : { ipBlockCidrsPerNamespace: o.ipBlockCidrsPerNamespace }),
    });
    this.auditEvents = o.policyEvents && new AuditPolicyEvents(o.policyEvents, (kind, ns, name) => this.policies.objectRef(kind, ns, name), () => o.now());
    this.intake = new PodIntake({
      sink: this.compiler, log, events: o.events, node: o.nodeName, onMalformedIntent: () => metrics.malformedIntents.inc(),
    });
  }

  /** Applies one watched change to the compiler. Bad objects are logged and ignored. */
  applyChange(change: SourceChange): void {
    try {
      this.applyChangeUnsafe(change);
    } catch (e) {
      this.o.log.error({ resource: change.resource, err: errorMessage(e) }, 'could not apply a cluster change');
    }
  }

  private parseFailed(resource: Resource, object: unknown, errors: readonly FieldError[]): void {
    const m = metaOf(object);
    this.o.metrics.parseErrors.inc({ resource });
    this.o.log.warn({ resource, object: m.namespace ? `${m.namespace}/${m.name}` : m.name, errors: formatFieldErrors(errors) }, `ignoring ${resource} that does not parse`);
  }

  private applyChangeUnsafe(change: SourceChange): void {
    const { object } = change;
    const m = metaOf(object);
    const c = this.compiler;
    switch (change.resource) {
      case 'namespace': {
        if (change.type === 'delete') {
          this.intake.removeNamespace(m.name);
          this.enforcement.remove(m.name);
          this.verdicts.removePolicy('default', m.name, '');
          return c.removeNamespace(m.name);
        }
        const p = parseNamespace(object);
        if (!p.ok) return this.parseFailed('namespace', object, p.errors);
        const warning = this.enforcement.upsert(object);
        if (warning !== undefined) this.o.log.warn({ namespace: m.name }, warning);
        c.upsertNamespace(p.value);
        return this.intake.upsertNamespace(object);
      }
      case 'pod': {
        if (change.type === 'delete') return void this.intake.removePod(m.namespace, m.name, m.uid);
        const errors = this.intake.upsertPod(object);
        return errors === undefined ? undefined : this.parseFailed('pod', object, errors);
      }
      case 'weirendpoint': {
        if (change.type === 'delete') return this.intake.removeEndpoint(object);
        const errors = this.intake.upsertEndpoint(object);
        return errors === undefined ? undefined : this.parseFailed('weirendpoint', object, errors);
      }
      case 'networkpolicy':
      case 'multinetworkpolicy':
      case 'adminnetworkpolicy':
      case 'baselineadminnetworkpolicy':
      case 'clusternetworkpolicy': {
        const spec = POLICY_KINDS[change.resource];
        if (change.type === 'delete') {
          this.verdicts.removePolicy(spec.kind, spec.namespaced ? m.namespace : '', m.name);
          this.auditEvents?.remove(spec.kind, spec.namespaced ? m.namespace : '', m.name);
        }
        return this.policies.apply(change.resource, change.type, object);
      }
      case 'node': {
        if (change.type === 'delete') return this.cnps.removeNode(m.name);
        const n = parseNode(object);
        return n.ok ? this.cnps.upsertNode(n.value) : this.parseFailed('node', object, n.errors);
      }
      case 'nad':
        return change.type === 'delete' ? this.intake.removeNad(object) : this.intake.upsertNad(object);
      case 'service':
      case 'endpointslice':
        return this.services.apply(change.resource, change.type, object);
    }
  }

  private reportNotEnforced(policy: { name: string; uid: string }, notes: string[]): void {
    const message = `ClusterNetworkPolicy ${policy.name} is not enforced as written: ${notes.join('; ')}`;
    this.o.log.warn({ policy: `ClusterNetworkPolicy ${policy.name}`, notes }, message);
    this.o.policyEvents?.warning(
      { apiVersion: 'policy.networking.k8s.io/v1beta1', kind: 'ClusterNetworkPolicy', namespace: undefined, name: policy.name, uid: policy.uid },
      'WeirRuleNotEnforced',
      message,
    );
  }
}
