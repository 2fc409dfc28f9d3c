/**
 * `weir uninstall --prepare` (the chart's pre-delete hook) against the real API server: it finds the
 * agent pods by the release's selector in Weir's namespace, runs `weir-agent --arm-uninstall` in
 * each running one, names every node it could not arm, and exits non-zero then (helm uninstall stops
 * with that message). The test control plane has no kubelet that speaks exec, so the exec itself is
 * a recording fake here, except for the refusal: RBAC answers before any kubelet is involved, and
 * that path is the real client-node exec.
 */
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { beforeAll, expect, it } from 'vitest';
import { ARM_COMMAND, kubeExec, prepareUninstallCommand, type ExecInPod } from '../../cli/src/uninstall-prepare.js';
import { loadCluster } from '../../cli/src/kube.js';
import { describeWithApi, ensureNamespace, kubeClients, uniqueName, writeUserKubeconfig } from '../support/kube.js';

describeWithApi('weir uninstall --prepare', (adminKubeconfig) => {
  const { kc, core } = kubeClients(adminKubeconfig);
  const id = uniqueName('h16-prep');
  const ns = id;
  const selector = `app.kubernetes.io/name=weir,app.kubernetes.io/component=agent,app.kubernetes.io/instance=${id}`;
  let noExec = '';

  async function agentPod(name: string, node: string, phase: string): Promise<void> {
    const labels = { 'app.kubernetes.io/name': 'weir', 'app.kubernetes.io/component': 'agent', 'app.kubernetes.io/instance': id };
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name, labels }, spec: { nodeName: node, hostNetwork: true, containers: [{ name: 'agent', image: 'weir-agent:test' }] } },
    });
    await core.replaceNamespacedPodStatus({ name, namespace: ns, body: { metadata: pod.metadata, spec: pod.spec, status: { phase } } });
  }

  beforeAll(async () => {
    await ensureNamespace(core, ns);
    await agentPod('weir-agent-a', `${id}-node-a`, 'Running');
    await agentPod('weir-agent-b', `${id}-node-b`, 'Running');
    // An agent of another release in the same namespace must not be touched.
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'other-agent', labels: { 'app.kubernetes.io/name': 'weir', 'app.kubernetes.io/component': 'agent', 'app.kubernetes.io/instance': 'other' } }, spec: { containers: [{ name: 'agent', image: 'x' }] } },
    });
    const user = `${id}-lister`;
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: user }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] } });
    await rbac.createNamespacedRoleBinding({ namespace: ns, body: { metadata: { name: user }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: user }, subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }] } });
    noExec = await writeUserKubeconfig(adminKubeconfig, user);
  }, 60_000);

  function recorder(fail: Record<string, string> = {}): { exec: ExecInPod; calls: string[] } {
    const calls: string[] = [];
    const exec: ExecInPod = (namespace, pod, command) => {
      calls.push(`${namespace}/${pod}: ${command.join(' ')}`);
      const reason = fail[pod];
      return Promise.resolve(reason === undefined ? { ok: true, output: 'armed' } : { ok: false, reason });
    };
    return { exec, calls };
  }

  it('arms every running agent of the release, and only those', async () => {
    const cluster = await loadCluster({ kubeconfig: adminKubeconfig });
    const { exec, calls } = recorder();
    const lines: string[] = [];
    const code = await prepareUninstallCommand(cluster, selector, ns, (l) => lines.push(l), exec);
    expect(code).toBe(0);
    expect(calls.sort()).toEqual([`${ns}/weir-agent-a: ${ARM_COMMAND.join(' ')}`, `${ns}/weir-agent-b: ${ARM_COMMAND.join(' ')}`]);
    expect(lines).toContain(`${id}-node-a: armed (${ns}/weir-agent-a): the agent cleans the node up when helm deletes it`);
    expect(lines.at(-1)).toBe('All 2 agent(s) armed: helm uninstall now removes Weir from every node.');
  }, 30_000);

  it('names the nodes it could not arm (a failed exec, an agent not running) and fails', async () => {
    await agentPod('weir-agent-c', `${id}-node-c`, 'Pending');
    const cluster = await loadCluster({ kubeconfig: adminKubeconfig });
    const { exec, calls } = recorder({ 'weir-agent-b': 'container not found ("agent")' });
    const lines: string[] = [];
    const run = prepareUninstallCommand(cluster, selector, ns, (l) => lines.push(l), exec);
    await expect(run).rejects.toThrow(new RegExp(`2 of 3 agent\\(s\\) not armed \\(${id}-node-b, ${id}-node-c\\).*helm uninstall --no-hooks`));
    expect(calls).toHaveLength(2); // the Pending pod is not exec'd into
    expect(lines).toContain(`${id}-node-b: NOT armed (${ns}/weir-agent-b): container not found ("agent")`);
    expect(lines).toContain(`${id}-node-c: NOT armed (${ns}/weir-agent-c): agent pod ${ns}/weir-agent-c is Pending`);
    await core.deleteNamespacedPod({ name: 'weir-agent-c', namespace: ns, gracePeriodSeconds: 0 });
  }, 30_000);

  it('without pods/exec the real exec is refused by RBAC, and the message names the permission', async () => {
    const cluster = await loadCluster({ kubeconfig: noExec });
    const lines: string[] = [];
    await expect(prepareUninstallCommand(cluster, selector, ns, (l) => lines.push(l), kubeExec(cluster.kc, 'agent', 20_000))).rejects.toThrow(/not armed/);
    expect(lines.join('\n')).toMatch(/pods\/exec on .*weir-agent-a is forbidden \(HTTP 403\): the caller needs "get" and "create" on pods\/exec/);
  }, 60_000);
});
