/**
 * One reconcile: compile the node, sync the ipcache, then bring every registered endpoint to what
 * the compiler wants (EndpointPrograms.program diffs against what was written). An endpoint whose
 * pod is gone is detached; one the compiler does not know keeps its programs (fail closed).
 */
import { errorMessage } from '../../common/src/errors.js';
import type { ClusterIntake } from './cluster-intake.js';
import type { DatapathApi } from './datapath/api.js';
import type { DesiredEndpoint, RuleOrigin } from './datapath/desired.js';
import { podKey, type EndpointPrograms } from './endpoint-programs.js';
import { defaultInterfaceOf } from './endpoints/intent.js';
import { endpointKeyOf, type EndpointRecord, type EndpointRegistry } from './endpoints/registry.js';
import type { Log } from './log.js';
import type { AgentMetrics } from './metrics.js';
import type { RunReason } from './reconcile/runner.js';

export interface ReconcilerOptions {
  nodeName: string;
  cluster: ClusterIntake;
  programs: EndpointPrograms;
  datapath: Pick<DatapathApi, 'syncIpCache'>;
  registry: EndpointRegistry;
  log: Log;
  metrics: AgentMetrics;
  /** False before the first sync and after stop: a run then does nothing. */
  active(): boolean;
}

export class Reconciler {
  private ruleOrigins: RuleOrigin[] = [];

  constructor(private readonly o: ReconcilerOptions) {}

  /** The policy rules of the last compile, by the rule id flow events carry. */
  get rules(): readonly RuleOrigin[] {
    return this.ruleOrigins;
  }

  run(reason: RunReason): Promise<void> {
    return this.o.programs.withLock(async () => {
      if (!this.o.active()) return;
      const { datapath, registry, log, nodeName, cluster, programs } = this.o;
      const desired = cluster.compiler.compileNode({ name: nodeName });
      this.ruleOrigins = desired.rules;
      try {
        programs.noteIpCache(await datapath.syncIpCache(desired.ipcache), desired.ipcache.length);
      } catch (e) {
        this.o.metrics.reconcileErrors.inc({ step: 'ipcache' });
        log.error({ err: errorMessage(e) }, 'ipcache sync failed');
      }
      const byKey = new Map(desired.endpoints.map((e) => [`${e.namespace}/${e.pod}/${e.interface}`, e]));
      for (const rec of registry.list()) await this.reconcileEndpoint(rec, byKey, reason);
      programs.updateGauges();
    });
  }

  /** One registered endpoint against the compile; caller holds the lock. */
  private async reconcileEndpoint(rec: EndpointRecord, byKey: ReadonlyMap<string, DesiredEndpoint>, reason: RunReason): Promise<void> {
    const { log, cluster, programs } = this.o;
    const key = endpointKeyOf(rec);
    const entry = cluster.intake.entry(podKey(rec.namespace, rec.pod));
    if (entry === undefined || (rec.podUid !== '' && entry.uid !== '' && rec.podUid !== entry.uid)) {
      log.info({ endpoint: key, reason }, 'pod is gone; detaching its endpoint');
      await programs.forget(rec);
      return;
    }
    const compiled = byKey.get(key) ?? cluster.compiler.compileEndpoint({ namespace: rec.namespace, pod: rec.pod, interface: rec.ifName });
    const want = compiled === undefined ? undefined : cluster.enforcement.apply(compiled);
    if (want === undefined) {
      // Keep what is programmed (fail closed) until the compiler knows the interface again.
      log.warn({ endpoint: key }, 'no desired state for a registered endpoint; keeping its current programs');
      return;
    }
    const bandwidth = rec.ifName === defaultInterfaceOf(entry.view) ? entry.view.bandwidth : undefined;
    try {
      await programs.program(rec, want, bandwidth);
      programs.publish(podKey(rec.namespace, rec.pod), rec.podUid);
    } catch (e) {
      this.o.metrics.reconcileErrors.inc({ step: 'endpoint' });
      log.error({ endpoint: key, err: errorMessage(e) }, 'programming endpoint failed');
    }
  }
}
