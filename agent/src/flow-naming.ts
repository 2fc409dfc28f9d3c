/**
 * Flow events from the datapath, named and counted: endpoint ids become pods, rule ids the policy
 * rules of the last compile, addresses their pods. Each record is counted (metrics, per-policy
 * verdicts, audit summaries and history), drops are logged (rate-limited, flows/drop-log.ts) and every record
 * goes to the flow hub (`weir flows`).
 */
import { errorMessage } from '../../common/src/errors.js';
import type { ClusterIntake } from './cluster-intake.js';
import type { FlowEvent } from './datapath/codec.js';
import type { RuleOrigin } from './datapath/desired.js';
import { podKey } from './endpoint-programs.js';
import { defaultInterfaceOf } from './endpoints/intent.js';
import type { EndpointRegistry } from './endpoints/registry.js';
import { AuditHistory } from './flows/audit-history.js';
import { DropLog } from './flows/drop-log.js';
import { formatFlow, toFlowRecord, type FlowNames, type FlowRecord } from './flows/format.js';
import { FlowHub } from './flows/hub.js';
import type { Log } from './log.js';
import type { AgentMetrics } from './metrics.js';

export interface FlowNamingOptions {
  nodeName: string;
  registry: EndpointRegistry;
  cluster: ClusterIntake;
  log: Log;
  metrics: AgentMetrics;
  /** The policy rules of the last compile (Reconciler.rules). */
  rules(): readonly RuleOrigin[];
}

export class FlowNaming {
  readonly hub = new FlowHub();
  /** The distinct audited flows of the last day (`weir audit report --since`; GET /v1/audit). */
  readonly auditHistory = new AuditHistory();
  private readonly dropLog: DropLog;

  constructor(private readonly o: FlowNamingOptions) {
    this.dropLog = new DropLog((fields, message) => o.log.info(fields, message));
  }

  /** `namespace/pod` for a pod's default interface, `namespace/pod/interface` for another one. */
  endpointName(id: number): string | undefined {
    const rec = this.o.registry.list().find((r) => r.endpointId === id);
    if (rec === undefined) return undefined;
    const entry = this.o.cluster.intake.entry(podKey(rec.namespace, rec.pod));
    const isDefault = entry === undefined || rec.ifName === defaultInterfaceOf(entry.view);
    return isDefault ? `${rec.namespace}/${rec.pod}` : `${rec.namespace}/${rec.pod}/${rec.ifName}`;
  }

  flowNames(): FlowNames {
    const { registry, cluster } = this.o;
    return {
      node: this.o.nodeName,
      endpoint: (id) => this.endpointName(id),
      podByIp: (ip) => cluster.intake.ownerOf(ip) ?? cluster.compiler.serviceAt(ip),
      rule: (id) => this.o.rules()[id],
      isolatedBy: (id, direction) => {
        const rec = registry.list().find((r) => r.endpointId === id);
        return rec === undefined ? [] : cluster.compiler.isolatingPolicies({ namespace: rec.namespace, pod: rec.pod, interface: rec.ifName }, direction);
      },
    };
  }

  onFlowEvent(e: FlowEvent): void {
    let record: FlowRecord;
    try {
      record = toFlowRecord(e, this.flowNames());
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err) }, 'undecodable flow event');
      return;
    }
    this.o.metrics.flowEvents.inc({ endpoint: record.endpoint, direction: record.direction, verdict: record.verdict.toLowerCase(), reason: record.reason });
    const rec = this.o.registry.list().find((r) => r.endpointId === e.endpointId);
    const origin = e.ruleId === undefined ? undefined : this.o.rules()[e.ruleId];
    this.o.cluster.verdicts.count(e, origin, rec?.namespace ?? '');
    this.o.cluster.auditEvents?.add(e, origin, record);
    this.auditHistory.add(record, Date.now());
    if (record.verdict !== 'ALLOWED') this.dropLog.add(record);
    else this.o.log.debug({ flow: record }, formatFlow(record));
    this.hub.publish(record);
  }
}
