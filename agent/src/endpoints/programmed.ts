/**
 * What the agent process has programmed for an endpoint: the "current" side of every diff the
 * agent makes (agent/src/endpoint-programs.ts), read by the attach check (attach-check.ts) to re-attach it.
 */
import type { DesiredEndpoint } from '../datapath/desired.js';
import type { Bandwidth, ShapingMode } from '../datapath/shaping.js';
import type { Occupancy } from './capacity.js';
import type { EndpointRecord } from './registry.js';

/**
 * What identifies a desired endpoint's content. With the compiler's revision (never reused) the
 * key is a few characters; serialising every endpoint's entries on every reconcile was a third to
 * half of the agent's CPU under pod churn (bench/churn.ts). Without a revision: the content itself.
 */
export function contentKey(d: DesiredEndpoint): string {
  if (d.revision === undefined) return JSON.stringify(d);
  return `r${d.revision} ${d.isolatedIngress ? 'I' : '-'}${d.isolatedEgress ? 'E' : '-'}${d.audit === true ? 'A' : '-'} ${d.entries.length}`;
}

export interface Programmed {
  record: EndpointRecord;
  /** What is programmed: the compiled policy, or nothing and isolated when it is over quota. */
  desired: DesiredEndpoint;
  /** The compiled policy's size against the endpoint's quota (capacity.ts). */
  occupancy: Occupancy;
  /** contentKey(desired) when it was programmed: equal keys, nothing to write. */
  desiredKey: string;
  bandwidth: Bandwidth | undefined;
  bandwidthJson: string;
  shaping: ShapingMode;
}
