/**
 * Per-endpoint policy capacity. The node's policy trie is partitioned by quota: its size is
 * WEIR_MAX_ENDPOINTS × WEIR_POLICY_MAX_PER_ENDPOINT (bpf/include/policy.h) and no endpoint may
 * hold more than its quota, so an endpoint under its quota can always be written however busy its
 * neighbours are. One whose policy compiles to more is isolated (fail closed: no entries, both
 * directions default-deny) rather than half-written, and only it.
 */
import type { DesiredEndpoint } from '../datapath/desired.js';

/** Entries one endpoint may hold by default (agent setting WEIR_POLICY_ENTRIES_PER_ENDPOINT). */
export const DEFAULT_POLICY_ENTRIES_PER_ENDPOINT = 16_384;
/** The most the setting may ask for: WEIR_POLICY_MAX_PER_ENDPOINT in bpf/include/policy.h. */
export const MAX_POLICY_ENTRIES_PER_ENDPOINT = 65_536;
/** Occupancy at which the endpoint's pod gets a warning Event. */
export const CAPACITY_WARNING_RATIO = 0.8;

export type CapacityLevel = 'ok' | 'high' | 'over';

export interface Occupancy {
  /** Entries the endpoint's policy compiles to (what it would hold without a quota). */
  entries: number;
  quota: number;
  level: CapacityLevel;
}

export function occupancyOf(entries: number, quota: number): Occupancy {
  const level: CapacityLevel = entries > quota ? 'over' : entries >= CAPACITY_WARNING_RATIO * quota ? 'high' : 'ok';
  return { entries, quota, level };
}

/** What to program for an endpoint: its policy when it fits its quota, else nothing and isolated. */
export function fitToQuota(desired: DesiredEndpoint, quota: number): { program: DesiredEndpoint; occupancy: Occupancy } {
  const occupancy = occupancyOf(desired.entries.length, quota);
  if (occupancy.level !== 'over') return { program: desired, occupancy };
  return { program: { ...desired, isolatedIngress: true, isolatedEgress: true, entries: [] }, occupancy };
}

/** What the endpoint's status says about its occupancy (WeirEndpoint warnings). */
export function occupancyWarnings(o: Occupancy): string[] {
  if (o.level === 'over') return [`policy needs ${o.entries} entries, over its quota of ${o.quota}: the interface is isolated`];
  if (o.level === 'high') return [`policy uses ${o.entries} of its ${o.quota} entries`];
  return [];
}

/** The pod Event for a change of level, or undefined when nothing needs saying. */
export function capacityEvent(ifName: string, before: CapacityLevel | undefined, now: Occupancy): { reason: string; message: string } | undefined {
  const used = `${now.entries.toLocaleString('en-US')} of the ${now.quota.toLocaleString('en-US')} entries one endpoint may hold`;
  if (now.level === 'over' && before !== 'over') {
    return {
      reason: 'WeirPolicyCapacityExceeded',
      message: `interface ${ifName}: its policy needs ${now.entries.toLocaleString('en-US')} entries, over the ${now.quota.toLocaleString('en-US')} one endpoint may hold; ` +
        'the interface is isolated (all its traffic denied) until it fits: select it with fewer rules, ipBlocks or ports, ' +
        'or raise agent.policy.entriesPerEndpoint',
    };
  }
  if (now.level !== 'over' && before === 'over') {
    return { reason: 'WeirPolicyCapacityRestored', message: `interface ${ifName}: its policy fits again (${used}); it is enforced` };
  }
  if (now.level === 'high' && before !== 'high') {
    return {
      reason: 'WeirPolicyCapacityHigh',
      message: `interface ${ifName}: its policy uses ${used} (${Math.round((100 * now.entries) / now.quota)}%); past the limit it is isolated`,
    };
  }
  return undefined;
}
