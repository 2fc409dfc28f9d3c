/**
 * The agent's Prometheus metrics, in a Registry of its own (never the global default one, so two
 * agents in one test process do not share counters). Names: `weir_agent_<what>[_<unit>]` (and the issue-17 name weir_policy_verdicts_total), counters
 * end in `_total`; docs/metrics.md lists every one (test/docs/metrics.test.ts keeps it true). The
 * process entry point adds weir_build_info and the process metrics (common/src/process-metrics.ts).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CounterSample } from './datapath/api.js';
import { DROP_REASONS } from './datapath/codec.js';
import type { PolicyVerdictLabel } from './flows/verdicts.js';

export { DROP_REASONS };

/** counters: read on scrape; endpointName: endpoint id → "ns/pod/if". */
interface ScrapeSources {
  counters: () => Promise<CounterSample[]>;
  endpointName: (id: number) => string;
}

type DatapathCounter = Counter<'endpoint' | 'reason' | 'verdict'>;

/**
 * Counters read from the datapath's per-CPU maps on each scrape: reset, then set to the map's sum
 * (monotonic while the endpoint lives; a deleted endpoint's series disappears, which Prometheus
 * treats as a counter reset). The registry collects metrics concurrently, so each counter has its
 * own collect, and both share one map read per scrape.
 */
function datapathCounters(registers: Registry[], opts: ScrapeSources): { packets: DatapathCounter; bytes: DatapathCounter } {
  let pending: Promise<CounterSample[]> | undefined;
  const readOnce = (): Promise<CounterSample[]> => {
    pending ??= opts.counters().catch(() => []).finally(() => setImmediate(() => { pending = undefined; }));
    return pending;
  };
  const fill = (counter: DatapathCounter, field: 'packets' | 'bytes') => async () => {
    const samples = await readOnce();
    counter.reset();
    for (const s of samples) {
      counter.inc({ endpoint: opts.endpointName(s.endpointId), reason: s.reason, verdict: DROP_REASONS.has(s.reason) ? 'dropped' : 'allowed' }, Number(s[field]));
    }
  };
  const packets: DatapathCounter = new Counter({
    name: 'weir_agent_datapath_packets_total',
    help: 'Packets per endpoint and verdict reason, summed over the per-CPU counters (monotonic while the endpoint lives)',
    labelNames: ['endpoint', 'reason', 'verdict'],
    registers,
    collect: () => fill(packets, 'packets')(),
  });
  const bytes: DatapathCounter = new Counter({
    name: 'weir_agent_datapath_bytes_total',
    help: 'Bytes per endpoint and verdict reason, summed over the per-CPU counters',
    labelNames: ['endpoint', 'reason', 'verdict'],
    registers,
    collect: () => fill(bytes, 'bytes')(),
  });
  return { packets, bytes };
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly flowEvents: Counter<'endpoint' | 'direction' | 'verdict' | 'reason'>;
  /** Fed by agent/src/flows/verdicts.ts (PolicyVerdicts), which also removes deleted policies' series. */
  readonly policyVerdicts: Counter<PolicyVerdictLabel>;
  readonly datapathPackets: DatapathCounter;
  readonly datapathBytes: DatapathCounter;
  readonly mapEntries: Gauge<'map'>;
  readonly mapEntriesUnwritten: Gauge<'map'>;
  readonly policyQuotaEndpoints: Gauge<'level'>;
  readonly policyQuotaMaxRatio: Gauge;
  readonly reconcileSeconds: Histogram<'reason'>;
  readonly reconcileErrors: Counter<'step'>;
  readonly endpoints: Gauge<'shaping'>;
  readonly malformedIntents: Counter;
  readonly parseErrors: Counter<'resource'>;
  readonly reattachments: Counter;
  readonly cniRequests: Counter<'command' | 'result'>;
  readonly cniAddSeconds: Histogram;

  constructor(opts: ScrapeSources) {
    const registers = [this.registry];
    this.flowEvents = new Counter({
      name: 'weir_agent_flow_events_total',
      help: 'Flow verdict events from the datapath ring buffer, per endpoint, direction, verdict and reason',
      labelNames: ['endpoint', 'direction', 'verdict', 'reason'],
      registers,
    });
    // The public name (after hubble_policy_verdicts_total), hence not weir_agent_*.
    this.policyVerdicts = new Counter({
      name: 'weir_policy_verdicts_total',
      help: 'Policy verdicts of new flows from flow events, per policy (kind="default" when no rule decided) and direction; verdict forwarded, dropped, audit_drop or audit_allow',
      labelNames: ['namespace', 'policy', 'kind', 'direction', 'verdict'],
      registers,
    });
    ({ packets: this.datapathPackets, bytes: this.datapathBytes } = datapathCounters(registers, opts));
    this.mapEntries = new Gauge({ name: 'weir_agent_map_entries', help: 'Entries the agent keeps in each BPF map', labelNames: ['map'], registers });
    this.mapEntriesUnwritten = new Gauge({
      name: 'weir_agent_map_entries_unwritten',
      help: 'Entries the agent wanted in a BPF map that the full map refused (ipcache: those addresses are judged as world)',
      labelNames: ['map'],
      registers,
    });
    this.policyQuotaEndpoints = new Gauge({
      name: 'weir_agent_policy_quota_endpoints',
      help: 'Endpoints by how full their policy quota is: ok, high (>= 80%), over (isolated until the policy fits)',
      labelNames: ['level'],
      registers,
    });
    this.policyQuotaMaxRatio = new Gauge({
      name: 'weir_agent_policy_quota_max_ratio',
      help: 'Policy entries of the busiest endpoint divided by its quota (above 1: that endpoint is isolated)',
      registers,
    });
    this.reconcileSeconds = new Histogram({
      name: 'weir_agent_reconcile_duration_seconds',
      help: 'Time of one reconcile run (compile + map diffs)',
      labelNames: ['reason'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.reconcileErrors = new Counter({ name: 'weir_agent_reconcile_errors_total', help: 'Failed reconcile steps', labelNames: ['step'], registers });
    this.endpoints = new Gauge({ name: 'weir_agent_endpoints', help: 'Endpoints enforced on this node, by shaping mode', labelNames: ['shaping'], registers });
    this.malformedIntents = new Counter({ name: 'weir_agent_malformed_intents_total', help: 'Pods whose weir.dev/intent failed validation (safe rule applied)', registers });
    this.parseErrors = new Counter({ name: 'weir_agent_object_parse_errors_total', help: 'Watched objects ignored because they did not parse', labelNames: ['resource'], registers });
    this.reattachments = new Counter({ name: 'weir_agent_reattachments_total', help: 'Endpoints whose tc programs had disappeared and were re-attached', registers });
    this.cniRequests = new Counter({ name: 'weir_agent_cni_requests_total', help: 'CNI requests answered', labelNames: ['command', 'result'], registers });
    this.cniAddSeconds = new Histogram({
      name: 'weir_agent_cni_add_duration_seconds',
      help: 'Agent-side time of a CNI ADD (pod lookup, compile, attach)',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
  }
}
