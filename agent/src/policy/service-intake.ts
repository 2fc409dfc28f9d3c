/**
 * Services and EndpointSlices from the watch into the policy compiler (services.ts).
 *
 * Failing closed: an EndpointSlice that does not parse but names its Service (label
 * kubernetes.io/service-name) makes that Service's backends unknown, so no allow rule matches its
 * ClusterIP until the slice reads again; one that names no Service is ignored, as kube-proxy ignores
 * it. A Service that does not parse is forgotten: its ClusterIP is then an address like any other,
 * matched only by rules that allow every peer or an ipBlock holding it, as before ClusterIPs had
 * identities. Either case is logged and counted by the agent (parseFailed).
 */
import { metaOf } from '../../../common/src/records.js';
import type { FieldError } from './model.js';
import { parseEndpointSlice, parseService, sliceServiceName, type EndpointSlice, type Service } from './service-model.js';

/** The part of the compiler this intake drives (PolicyCompiler satisfies it). */
export interface ServiceTarget {
  upsertService(s: Service): void;
  removeService(namespace: string, name: string): void;
  upsertEndpointSlice(sl: EndpointSlice): void;
  brokenEndpointSlice(namespace: string, name: string, service: string): void;
  removeEndpointSlice(namespace: string, name: string): void;
}

export type ServiceResource = 'service' | 'endpointslice';

export class ServiceIntake {
  constructor(
    private readonly target: ServiceTarget,
    private readonly parseFailed: (resource: ServiceResource, object: unknown, errors: readonly FieldError[]) => void,
  ) {}

  apply(resource: ServiceResource, type: 'upsert' | 'delete', object: unknown): void {
    const m = metaOf(object);
    if (resource === 'service') {
      if (type === 'delete') return this.target.removeService(m.namespace, m.name);
      const s = parseService(object);
      if (s.ok) return this.target.upsertService(s.value);
      this.target.removeService(m.namespace, m.name);
      return this.parseFailed(resource, object, s.errors);
    }
    if (type === 'delete') return this.target.removeEndpointSlice(m.namespace, m.name);
    const sl = parseEndpointSlice(object);
    if (sl.ok) return this.target.upsertEndpointSlice(sl.value);
    const service = sliceServiceName(object);
    if (service !== '' && m.namespace !== '' && m.name !== '') this.target.brokenEndpointSlice(m.namespace, m.name, service);
    else this.target.removeEndpointSlice(m.namespace, m.name);
    this.parseFailed(resource, object, sl.errors);
  }
}
