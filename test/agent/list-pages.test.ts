/**
 * Issue 16 item 7: the informers' lists ask resourceVersion=0 (the API server's watch cache, not a
 * quorum read of etcd) with pagination (limit/continue), against the real kube-apiserver. This
 * kube-apiserver answers resourceVersion=0 from its watch cache in one piece, whatever the limit;
 * the paging path (continue, an expired token) is covered by common/src/kube/kube-source.test.ts.
 */
import { afterAll, expect, it } from 'vitest';
import { rawList } from '../../common/src/kube/kube-source.js';
import { describeWithApi, ensureNamespace, kubeClients, uniqueName } from '../support/kube.js';

describeWithApi('rawList: resourceVersion=0, limit and continue', (kubeconfigPath) => {
  const { kc, core } = kubeClients(kubeconfigPath);
  const namespace = uniqueName('h16pages');
  const names = Array.from({ length: 7 }, (_, i) => `cm-${i}`);

  afterAll(async () => {
    for (const name of names) await core.deleteNamespacedConfigMap({ namespace, name }).catch(() => undefined);
  });

  it('every object arrives, page by page', async () => {
    await ensureNamespace(core, namespace);
    for (const name of names) await core.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data: { k: name } } });
    const urls: URL[] = [];
    const listed = await rawList(kc, `/api/v1/namespaces/${namespace}/configmaps`, { pageSize: 3, onRequest: (u) => urls.push(u) })({});
    const got = (listed?.items ?? []).map((o) => (o as { metadata: { name: string } }).metadata.name).sort();
    expect(got).toEqual(names);
    expect(listed?.resourceVersion).toMatch(/^\d+$/);
    expect(urls[0]?.searchParams.get('resourceVersion')).toBe('0');
    expect(urls[0]?.searchParams.get('limit')).toBe('3');
    // Any further page follows a continue token and must not repeat resourceVersion.
    for (const u of urls.slice(1)) expect([u.searchParams.has('continue'), u.searchParams.has('resourceVersion')]).toEqual([true, false]);
  });
});
