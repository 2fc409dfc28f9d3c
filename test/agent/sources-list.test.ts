/**
 * Regression: after an agent restart, denied flows passed (two-node e2e). Root cause: the
 * restarted agent learns every NetworkPolicy from the initial LIST, and the list was read through
 * client-node's typed models, which rename a peer list's `from` to `_from`. The parser (reading
 * API JSON) then saw no `from`, i.e. "allow from every peer", and the agent wrote an ANY-identity
 * allow for the isolated pod. The first agent had learned the policy from a WATCH event (wire
 * JSON), so the bug only showed after a restart.
 *
 * Here: a policy that exists before the sources start (the restart case) must reach the agent in
 * the same shape, and parse to the same rules, as one created afterwards (delivered by the watch).
 */
import { KubeConfig, NetworkingV1Api, type V1NetworkPolicy } from '@kubernetes/client-node';
import { afterAll, expect, it } from 'vitest';
import { KubeSources, type SourceChange } from '../../agent/src/kube/sources.js';
import { parseNetworkPolicy } from '../../agent/src/policy/model.js';
import { describeWithApi, ensureNamespace, kubeClients, uniqueName } from '../support/kube.js';

const spec = (name: string, namespace: string): V1NetworkPolicy => ({
  metadata: { name, namespace },
  spec: {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ _from: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ protocol: 'TCP', port: 80 }] }],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'z' } } }] }],
  },
});

describeWithApi('agent sources: a NetworkPolicy from the initial list equals one from the watch', (kubeconfigPath) => {
  const { core } = kubeClients(kubeconfigPath);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const net = kc.makeApiClient(NetworkingV1Api);
  const namespace = uniqueName('h16src');
  let sources: KubeSources | undefined;

  afterAll(async () => {
    await sources?.stop();
  });

  it('peers survive the list (no "_from"): the policy isolates to pod=b, not to everyone', async () => {
    await ensureNamespace(core, namespace);
    // Created through the typed client: it serialises `_from` back to `from` on the wire.
    await net.createNamespacedNetworkPolicy({ namespace, body: spec('listed', namespace) });

    const seen = new Map<string, unknown>();
    const changes: SourceChange[] = [];
    sources = new KubeSources(kc);
    await sources.start((c) => {
      changes.push(c);
      if (c.resource !== 'networkpolicy' || c.type !== 'upsert') return;
      const o = c.object as { metadata?: { namespace?: string; name?: string } };
      if (o.metadata?.namespace === namespace && o.metadata.name !== undefined) seen.set(o.metadata.name, c.object);
    }, 30_000);
    expect(seen.has('listed')).toBe(true);

    await net.createNamespacedNetworkPolicy({ namespace, body: spec('watched', namespace) });
    const deadline = Date.now() + 10_000;
    while (!seen.has('watched') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(seen.has('watched')).toBe(true);

    const parsed = (name: string) => {
      const p = parseNetworkPolicy(seen.get(name));
      if (!p.ok) throw new Error(`${name}: ${JSON.stringify(p.errors)}`);
      return { ...p.value, name: 'x' };
    };
    const listed = parsed('listed');
    expect(listed.ingress[0]?.peers).not.toBe('all');
    expect(listed.ingress[0]?.peers).toEqual([expect.objectContaining({ kind: 'pods' })]);
    expect(listed.egress[0]?.peers).toEqual([expect.objectContaining({ kind: 'pods' })]);
    expect(listed).toEqual(parsed('watched'));
    // The raw object has the API's field names, as a watch event does.
    expect(seen.get('listed')).toMatchObject({ spec: { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] } });
    expect(JSON.stringify(seen.get('listed'))).not.toContain('_from');
  });
});
