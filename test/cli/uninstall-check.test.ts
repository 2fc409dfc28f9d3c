/**
 * `weir uninstall --check` against the real API server: it names the NADs that chain weir (which
 * would fail closed after an uninstall), and the opted-in namespaces, and exits 1; a NAD without weir
 * is not named; once they are fixed they are no longer listed. The shared control plane holds other
 * suites' objects, so only this suite's are asserted on.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { findDependents } from '../../cli/src/uninstall.js';
import { describeWithApi, ensureNamespace, kubeClients, uniqueName } from '../support/kube.js';

const WEIR = fileURLToPath(new URL('../../bin/weir', import.meta.url));

describeWithApi('weir uninstall --check', (kubeconfig) => {
  const { kc, core } = kubeClients(kubeconfig);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const ns = uniqueName('h16-un');
  const nad = (name: string, plugins: object[], annotations: Record<string, string> = {}) => custom.createNamespacedCustomObject({
    group: 'k8s.cni.cncf.io', version: 'v1', namespace: ns, plural: 'network-attachment-definitions',
    body: { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name, annotations }, spec: { config: JSON.stringify({ cniVersion: '1.0.0', name, plugins }) } },
  });
  const macvlan = { type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'host-local', subnet: '10.99.0.0/24' } };

  beforeAll(async () => {
    await ensureNamespace(core, ns, { labels: { 'weir.dev/inject': 'enabled' } });
    await nad('chained', [macvlan, { type: 'weir' }]);
    await nad('plain', [macvlan]);
  }, 30_000);

  it('names the NAD that chains weir and the opted-in namespace, not the plain NAD, and exits 1', async () => {
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(WEIR, ['uninstall', '--check', '--kubeconfig', kubeconfig], { timeout: 60_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout, r.stderr).toContain(`NetworkAttachmentDefinition ${ns}/chained: chains weir`);
    expect(r.stdout).not.toContain(`${ns}/plain`);
    expect(r.stdout).toContain(`Namespace ${ns}: opted in`);
    expect(r.stderr).toMatch(/object\(s\) still depend on Weir/);
  }, 70_000);

  it('no longer names them once weir is out of the chain and the namespace is opted out', async () => {
    await custom.patchNamespacedCustomObject({
      group: 'k8s.cni.cncf.io', version: 'v1', namespace: ns, plural: 'network-attachment-definitions', name: 'chained',
      body: [{ op: 'replace', path: '/spec/config', value: JSON.stringify({ cniVersion: '1.0.0', name: 'chained', plugins: [macvlan] }) }],
    });
    await core.patchNamespace({ name: ns, body: [{ op: 'remove', path: '/metadata/labels/weir.dev~1inject' }] });
    const d = await findDependents({ kc, namespace: 'default' });
    expect(d.nads.filter((n) => n.startsWith(`${ns}/`))).toEqual([]);
    expect(d.namespaces).not.toContain(ns);
  }, 30_000);
});
