/**
 * Prometheus metrics of one server instance. A private Registry (not prom-client's global one) so
 * two servers in one process (tests, the benchmark) never share or collide on counters.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { registerProcessMetrics } from '../../../common/src/process-metrics.js';

export interface WebhookMetrics {
  registry: Registry;
  reviews: Counter<'resource' | 'operation' | 'verdict' | 'reason'>;
  refusals: Counter<'resource' | 'reason'>;
  duration: Histogram<'resource' | 'phase'>;
  badRequests: Counter<'cause'>;
}

/** processMetrics: also weir_build_info and the process metrics (common/src/process-metrics.ts); the
 * process entry point asks for them once, tests that start many servers do not. */
export function createMetrics(opts: { processMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (opts.processMetrics === true) registerProcessMetrics(registry, 'webhook');
  return {
    registry,
    reviews: new Counter({
      name: 'weir_webhook_reviews_total',
      help: 'AdmissionReviews answered, by resource, operation, verdict and reason code (first refusal, or why nothing was decided)',
      labelNames: ['resource', 'operation', 'verdict', 'reason'],
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'weir_webhook_refusals_total',
      help: 'Individual refusals inside denied AdmissionReviews, by reason code',
      labelNames: ['resource', 'reason'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'weir_webhook_review_duration_seconds',
      help: 'Time from a parsed AdmissionReview to its encoded response',
      labelNames: ['resource', 'phase'],
      // Decisions are in-memory; anything above 50 ms means trouble, the API server gives up at 10 s.
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    badRequests: new Counter({
      name: 'weir_webhook_bad_requests_total',
      help: 'Requests that were not a usable AdmissionReview, by cause',
      labelNames: ['cause'],
      registers: [registry],
    }),
  };
}
