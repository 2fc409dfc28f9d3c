import { describe, expect, it } from 'vitest';
import { annotationsOf } from '../../../common/src/records.js';
import { podIntentView } from '../endpoints/intent.js';
import { parseNetworkPolicy, parsePod } from '../policy/model.js';
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
});
