/**
 * What the agent's caches keep of an API object. The agent watches every pod of the cluster, and a
 * pod as the API server sends it is mostly fields no network decision reads: managedFields (often
 * half the object), kubectl's last-applied copy, volumes, env, probes, container statuses. Dropping
 * them as each object arrives keeps the cache's memory in proportion to what the agent uses
 * (bench/informer-memory.ts measures it on 10,000 pods).
 *
 * The list is of fields dropped, not of fields kept: a field a parser starts reading later is not
 * lost by accident. Everything here is unread by agent/src/policy/model.ts,
 * agent/src/endpoints/intent.ts and agent/src/endpoints/pod-intake.ts; ports, labels, annotations,
 * nodeName, hostNetwork, security contexts, phase, startTime and IPs stay.
 */
import { isList, isRecord } from '../../../common/src/records.js';
import type { Resource } from './sources.js';

const DROP_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration'];
const DROP_POD_SPEC = ['volumes', 'tolerations', 'affinity', 'topologySpreadConstraints', 'imagePullSecrets', 'readinessGates'];
const DROP_CONTAINER = [
  'env', 'envFrom', 'volumeMounts', 'volumeDevices', 'command', 'args', 'livenessProbe', 'readinessProbe', 'startupProbe',
  'lifecycle', 'resources', 'resizePolicy', 'terminationMessagePath', 'terminationMessagePolicy', 'workingDir', 'imagePullPolicy',
];
const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'];
const DROP_POD_STATUS = ['conditions', 'containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses', 'resourceClaimStatuses'];
/** Of a Service, agent/src/policy/service-model.ts reads type, clusterIP(s) and ports only. */
const DROP_SERVICE_SPEC = [
  'selector', 'externalIPs', 'loadBalancerIP', 'loadBalancerSourceRanges', 'loadBalancerClass', 'sessionAffinity', 'sessionAffinityConfig',
  'externalTrafficPolicy', 'internalTrafficPolicy', 'healthCheckNodePort', 'publishNotReadyAddresses', 'ipFamilies', 'ipFamilyPolicy',
  'allocateLoadBalancerNodePorts', 'trafficDistribution',
];
/** Of an EndpointSlice endpoint, only its addresses (every endpoint counts, whatever its conditions). */
const DROP_SLICE_ENDPOINT = ['conditions', 'hostname', 'targetRef', 'nodeName', 'zone', 'hints', 'deprecatedTopology'];

function without(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  if (!keys.some((k) => k in o)) return o;
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

function slimMetadata(meta: Record<string, unknown>): Record<string, unknown> {
  const out = without(meta, ['managedFields']);
  const annotations = out['annotations'];
  return isRecord(annotations) && DROP_ANNOTATIONS.some((k) => k in annotations)
    ? { ...out, annotations: without(annotations, DROP_ANNOTATIONS) }
    : out;
}

function slimPodSpec(spec: Record<string, unknown>): Record<string, unknown> {
  const out = without(spec, DROP_POD_SPEC);
  for (const list of CONTAINER_LISTS) {
    const containers = out[list];
    if (isList(containers)) out[list] = containers.map((c) => (isRecord(c) ? without(c, DROP_CONTAINER) : c));
  }
  return out;
}

/** A copy of `object` without what the agent never reads (the input is not modified). */
export function slimObject(resource: Resource, object: unknown): unknown {
  if (!isRecord(object)) return object;
  const out: Record<string, unknown> = { ...object };
  if (isRecord(out['metadata'])) out['metadata'] = slimMetadata(out['metadata']);
  if (resource === 'pod') {
    if (isRecord(out['spec'])) out['spec'] = slimPodSpec({ ...out['spec'] });
    if (isRecord(out['status'])) out['status'] = without(out['status'], DROP_POD_STATUS);
  }
  if (resource === 'service') {
    if (isRecord(out['spec'])) out['spec'] = without(out['spec'], DROP_SERVICE_SPEC);
    delete out['status'];
  }
  if (resource === 'endpointslice') {
    const eps = out['endpoints'];
    if (isList(eps)) out['endpoints'] = eps.map((e) => (isRecord(e) ? without(e, DROP_SLICE_ENDPOINT) : e));
  }
  return out;
}
