/**
 * What the agent reports about its endpoints: the /v1/status lines (`weir status`) and the
 * WeirEndpoint each pod gets (`weir endpoints`, the webhook's and other agents' view of what is
 * enforced). Pure: from the registry's records and what the agent programmed.
 */
import type { EndpointStatus } from './api.js';
import { occupancyWarnings } from './endpoints/capacity.js';
import type { Programmed } from './endpoints/programmed.js';
import type { EndpointRecord } from './endpoints/registry.js';
import type { BoundInterface, WeirEndpoint } from './endpoints/weirendpoint.js';

/** One status line per registered endpoint, by endpoint id. */
export function endpointStatuses(records: readonly EndpointRecord[], programmed: ReadonlyMap<number, Programmed>): EndpointStatus[] {
  return records
    .map((rec): EndpointStatus => {
      const p = programmed.get(rec.endpointId);
      return {
        endpointId: rec.endpointId,
        pod: `${rec.namespace}/${rec.pod}`,
        interface: rec.ifName,
        containerId: rec.containerId,
        netnsPath: rec.netnsPath,
        programmed: p !== undefined,
        shaping: p?.shaping ?? 'unknown',
        bandwidth: p?.bandwidth ?? null,
        policyEntries: p?.occupancy.entries ?? 0,
        ...(p === undefined ? {} : { policyQuota: p.occupancy.quota }),
        isolation: { ingress: p?.desired.isolatedIngress ?? false, egress: p?.desired.isolatedEgress ?? false },
        ...(p?.desired.audit === true ? { audit: true } : {}),
      };
    })
    .sort((a, b) => a.endpointId - b.endpointId);
}

/** The WeirEndpoint of one pod (`records` are its interfaces on this node); undefined without any. */
export function weirEndpointOf(
  node: string, records: readonly EndpointRecord[], bound: readonly BoundInterface[], programmed: ReadonlyMap<number, Programmed>,
): WeirEndpoint | undefined {
  const first = records[0];
  if (first === undefined) return undefined;
  const byName = new Map(bound.map((i) => [i.name, i]));
  return {
    namespace: first.namespace, name: first.pod, podUid: first.podUid, node,
    interfaces: records.map((r) => byName.get(r.ifName) ?? { name: r.ifName, network: undefined, isDefault: false, mac: undefined, ips: [], containerId: r.containerId, attachedAtMs: 0 }),
    enforcement: records.map((r) => {
      const p = programmed.get(r.endpointId);
      return {
        name: r.ifName, endpointId: r.endpointId, enforced: p !== undefined,
        isolatedIngress: p?.desired.isolatedIngress ?? false, isolatedEgress: p?.desired.isolatedEgress ?? false,
        policyEntries: p?.occupancy.entries ?? 0, ...(p === undefined ? {} : { policyQuota: p.occupancy.quota }), shaping: p?.shaping ?? 'unknown',
        ingressBitsPerSecond: p?.bandwidth?.ingressBitsPerSecond, egressBitsPerSecond: p?.bandwidth?.egressBitsPerSecond,
        warnings: p === undefined ? ['not programmed by this agent process yet'] : occupancyWarnings(p.occupancy),
      };
    }),
  };
}
