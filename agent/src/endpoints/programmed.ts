/**
 * What the agent process has programmed for an endpoint: the "current" side of every diff the
 * agent makes (agent/src/agent.ts), read by the attach check (attach-check.ts) to re-attach it.
 */
import type { DesiredEndpoint } from '../datapath/desired.js';
import type { Bandwidth, ShapingMode } from '../datapath/shaping.js';
import type { Occupancy } from './capacity.js';
import type { EndpointRecord } from './registry.js';

export interface Programmed {
  record: EndpointRecord;
  /** What is programmed: the compiled policy, or nothing and isolated when it is over quota. */
  desired: DesiredEndpoint;
  /** The compiled policy's size against the endpoint's quota (capacity.ts). */
  occupancy: Occupancy;
  desiredJson: string;
  bandwidth: Bandwidth | undefined;
  bandwidthJson: string;
  shaping: ShapingMode;
}
