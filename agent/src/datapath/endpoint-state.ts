/**
 * What the driver (driver.ts) keeps per endpoint, and how an endpoint's config (endpoint-config.ts)
 * follows an attach or an update: the generation moves whenever what judges established flows
 * changes (entries, isolation, audit mode), so they are re-checked; it stays when nothing did.
 */
import type { AttachRequest, UpdateRequest } from './api.js';
import { SKIP_MASK, hasAuditEntries, policySkipFlags, type EndpointConfig } from './codec.js';
import type { MapContents } from './entries.js';
import type { ShapedEndpoint } from './shapers.js';

export interface EndpointState extends ShapedEndpoint {
  policy: MapContents;
  /** Links a later chained plugin added that carry this endpoint's programs (enforceLinks). */
  adoptedLinks: Set<string>;
}

/**
 * The config an attach writes. `previous`: the live (or adopted) config, whose generation moves
 * only when the policy changed; `policyChanged`: the entry diff was not empty.
 */
export function attachConfig(req: AttachRequest, previous: EndpointConfig | undefined, policyChanged: boolean, conntrackQuota: number | undefined): EndpointConfig {
  const config: EndpointConfig = {
    // Absent addresses keep what the endpoint had (a re-attach, an adopted endpoint).
    addresses: req.addresses ?? previous?.addresses,
    conntrackQuota,
    // A re-attach over live state moves the generation only when the policy changed.
    generation: previous === undefined ? 1 : previous.generation + (policyChanged ? 1 : 0),
    ifbIfindex: previous?.ifbIfindex ?? 0,
    // Kept until applyBandwidth has rebuilt the shapers they refer to.
    ...(previous?.flowClassesIngress === true ? { flowClassesIngress: true } : {}),
    ...(previous?.flowClassesEgress === true ? { flowClassesEgress: true } : {}),
    isolatedIngress: req.desired.isolatedIngress,
    isolatedEgress: req.desired.isolatedEgress,
    eventsIngress: req.flowEvents?.ingress ?? false,
    eventsEgress: req.flowEvents?.egress ?? false,
    ...(req.desired.audit === true ? { audit: true } : {}),
    ...(hasAuditEntries(req.desired.entries) ? { auditPolicies: true } : {}),
    skips: policySkipFlags(req.desired.entries),
  };
  if (previous !== undefined && (previous.isolatedIngress !== config.isolatedIngress || previous.isolatedEgress !== config.isolatedEgress ||
    (previous.audit === true) !== (config.audit === true))) {
    config.generation = previous.generation + 1;
  }
  return config;
}

/**
 * The config an update writes, or undefined when nothing changed (a recompile that produced the
 * same policy): the generation then stays, so established flows are not re-checked for nothing.
 */
export function updateConfig(c: EndpointConfig, req: UpdateRequest, policyChanged: boolean): EndpointConfig | undefined {
  const unchanged = !policyChanged && c.isolatedIngress === req.desired.isolatedIngress &&
    c.isolatedEgress === req.desired.isolatedEgress && (c.audit === true) === (req.desired.audit === true) &&
    c.eventsIngress === (req.flowEvents?.ingress ?? c.eventsIngress) && c.eventsEgress === (req.flowEvents?.egress ?? c.eventsEgress);
  if (unchanged) return undefined;
  return {
    ...c,
    generation: (c.generation + 1) >>> 0,
    isolatedIngress: req.desired.isolatedIngress,
    isolatedEgress: req.desired.isolatedEgress,
    eventsIngress: req.flowEvents?.ingress ?? c.eventsIngress,
    eventsEgress: req.flowEvents?.egress ?? c.eventsEgress,
    // Leaving audit mode moves the generation (as every update does): flows the policy denies are revoked.
    audit: req.desired.audit === true,
    auditPolicies: hasAuditEntries(req.desired.entries),
    // Written after the entries (the driver's applyDiff): a slice becomes visible to the programs
    // only once its entries exist, and a new flow in between is judged by the old policy.
    skips: policySkipFlags(req.desired.entries),
  };
}

/**
 * A policy write that hit a full map: the config skips every slice and isolates both directions
 * (new flows default-deny, established ones are re-checked and revoked), so a half-written
 * policy is never enforced.
 */
export function isolatedConfig(c: EndpointConfig): EndpointConfig {
  return { ...c, generation: (c.generation + 1) >>> 0, isolatedIngress: true, isolatedEgress: true, auditPolicies: false, skips: SKIP_MASK };
}
