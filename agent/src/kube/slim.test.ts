import { describe, expect, it } from 'vitest';
import { annotationsOf } from '../../../common/src/records.js';
import { podIntentView } from '../endpoints/intent.js';
import { parseNetworkPolicy, parsePod } from '../policy/model.js';
import { parseEndpointSlice, parseService } from '../policy/service-model.js';
import { fatPod } from './testkit.js';
import { slimObject } from './slim.js';

describe('slimObject', () => {
  it('a pod keeps everything the agent reads, and loses most of its bytes', () => {
    const pod = fatPod(7);
    const before = JSON.stringify(pod);
    const slim = slimObject('pod', pod);
    expect(JSON.stringify(pod)).toBe(before); // the input is not modified
    expect(parsePod(slim)).toEqual(parsePod(pod));
    const p = parsePod(slim);
    expect(p.ok && p.value.containerPorts.length).toBe(4);
    expect(podIntentView(annotationsOf(slim), 'shop', true)).toEqual(podIntentView(annotationsOf(pod), 'shop', true));
    expect(slim).toMatchObject({
      metadata: { uid: '0b3a00000007-aaaa-bbbb-cccc-dddddddddddd', labels: { app: 'web' }, ownerReferences: [{ kind: 'ReplicaSet' }] },
      spec: { nodeName: 'node-7', containers: [{ securityContext: { capabilities: { drop: ['ALL'] } } }, {}] },
      status: { phase: 'Running', podIPs: [{ ip: '10.0.0.7' }] },
    });
    const text = JSON.stringify(slim);
    for (const gone of ['managedFields', 'last-applied-configuration', 'APP_SETTING', 'livenessProbe', 'containerStatuses', 'volumes', 'tolerations']) {
      expect(text).not.toContain(gone);
    }
    expect(text.length).toBeLessThan(before.length / 3);
  });

  it('policies lose only managedFields and the last-applied copy; other input passes through', () => {
    const np = {
      metadata: { namespace: 'x', name: 'p', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', keep: 'me' }, managedFields: [{ manager: 'kubectl' }] },
      spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { a: 'b' } } }] }] },
    };
    const slim = slimObject('networkpolicy', np);
    expect(slim).toEqual({ metadata: { namespace: 'x', name: 'p', annotations: { keep: 'me' } }, spec: np.spec });
    expect(parseNetworkPolicy(slim)).toEqual(parseNetworkPolicy(np));
    for (const odd of [null, 'text', [1], { metadata: 'x' }]) expect(slimObject('pod', odd)).toEqual(odd);
  });

  it('Services and EndpointSlices keep what the policy compiler reads', () => {
    const svc = {
      metadata: { namespace: 'x', name: 'web', managedFields: [{ manager: 'kubectl' }] },
      spec: {
        type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::10'], selector: { app: 'web' }, sessionAffinity: 'None',
        ipFamilies: ['IPv4', 'IPv6'], ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      },
      status: { loadBalancer: {} },
    };
    const slimSvc = slimObject('service', svc);
    expect(parseService(slimSvc)).toEqual(parseService(svc));
    expect(JSON.stringify(slimSvc)).not.toMatch(/selector|sessionAffinity|loadBalancer|managedFields/);
    const slice = {
      metadata: { namespace: 'x', name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.0.0.5'], conditions: { ready: true }, nodeName: 'n1', zone: 'a', targetRef: { kind: 'Pod', name: 'web-1' } },
        { addresses: ['10.0.0.6'], conditions: { ready: false, serving: true, terminating: true }, hints: { forZones: [] } },
      ],
    };
    const slimSlice = slimObject('endpointslice', slice);
    expect(parseEndpointSlice(slimSlice)).toEqual(parseEndpointSlice(slice));
    const parsed = parseEndpointSlice(slimSlice);
    expect(parsed.ok && parsed.value.addresses.map((a) => a.canonical)).toEqual(['10.0.0.5/32', '10.0.0.6/32']);
    expect(JSON.stringify(slimSlice)).not.toMatch(/targetRef|nodeName|zone|hints|conditions/);
  });
});
