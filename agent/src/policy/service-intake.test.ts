import { describe, expect, it } from 'vitest';
import { ServiceIntake, type ServiceTarget } from './service-intake.js';
import { rawService, rawSlice } from './testkit.js';

/** Records what the intake asks of the compiler. */
function recorder(): { target: ServiceTarget; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    target: {
      upsertService: (s) => calls.push(`upsertService ${s.namespace}/${s.name}`),
      removeService: (ns, name) => calls.push(`removeService ${ns}/${name}`),
      upsertEndpointSlice: (sl) => calls.push(`upsertSlice ${sl.namespace}/${sl.name} -> ${sl.service}`),
      brokenEndpointSlice: (ns, name, svc) => calls.push(`brokenSlice ${ns}/${name} -> ${svc}`),
      removeEndpointSlice: (ns, name) => calls.push(`removeSlice ${ns}/${name}`),
    },
  };
}

describe('ServiceIntake', () => {
  it('hands parsed objects over and deletes by name', () => {
    const { target, calls } = recorder();
    const intake = new ServiceIntake(target, () => { throw new Error('nothing here fails to parse'); });
    intake.apply('service', 'upsert', rawService('x', 'web', ['10.96.0.10'], [['http', 80]]));
    intake.apply('endpointslice', 'upsert', rawSlice('x', 'web-1', 'web', ['10.1.0.1'], [['http', 8080]]));
    intake.apply('endpointslice', 'delete', { metadata: { namespace: 'x', name: 'web-1' } });
    intake.apply('service', 'delete', { metadata: { namespace: 'x', name: 'web' } });
    expect(calls).toEqual(['upsertService x/web', 'upsertSlice x/web-1 -> web', 'removeSlice x/web-1', 'removeService x/web']);
  });

  it('fails closed on a slice that does not parse but names its Service, and reports every failure', () => {
    const { target, calls } = recorder();
    const failures: string[] = [];
    const intake = new ServiceIntake(target, (resource, _o, errors) => failures.push(`${resource}: ${errors.map((e) => e.path).join(',')}`));
    const labelled = { metadata: { namespace: 'x', name: 'web-2', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [{ addresses: ['nope'] }] };
    intake.apply('endpointslice', 'upsert', labelled);
    // No Service named: kube-proxy ignores it too.
    intake.apply('endpointslice', 'upsert', { ...labelled, metadata: { namespace: 'x', name: 'orphan' } });
    // A Service that does not parse is forgotten (its address is then judged as any other).
    intake.apply('service', 'upsert', { metadata: { namespace: 'x', name: 'bad' }, spec: { clusterIPs: ['10.96.0.999'] } });
    expect(calls).toEqual(['brokenSlice x/web-2 -> web', 'removeSlice x/orphan', 'removeService x/bad']);
    expect(failures).toEqual(['endpointslice: endpoints[0].addresses[0]', 'endpointslice: endpoints[0].addresses[0]', 'service: spec.clusterIPs[0]']);
  });
});
