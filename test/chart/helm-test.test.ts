/**
 * `helm test` in the test control plane (issue 16): the chart's test pod cannot be scheduled here
 * (there is no kubelet), so its command runs as it would in the pod: as the test pod's
 * ServiceAccount, with exactly the chart's test Role, against a release whose webhook is the real
 * process under the chart's RBAC and configurations (registered at a loopback URL), and whose agent
 * pod is reached through pods/portforward (the kubelet end is test/support/fake-kubelet.ts, the agent
 * end the agent's real HTTP server). It must pass, and fail once the webhook is gone.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AgentStatus } from '../../agent/src/api.js';
import { FlowHub } from '../../agent/src/flows/hub.js';
import { AuditHistory } from '../../agent/src/flows/audit-history.js';
import { startAgentHttp, type AgentHttpServer } from '../../agent/src/http.js';
import { AgentMetrics } from '../../agent/src/metrics.js';
import { isRecord } from '../../common/src/records.js';
import { tsEntry } from '../../lab/paths.js';
import { freeLoopbackPorts } from '../../harness/controlplane/ports.js';
import { logTail, startDaemon, stopDaemon, type Daemon } from '../../harness/controlplane/procs.js';
import { startFakeKubelet, type FakeKubelet } from '../support/fake-kubelet.js';
import { describeWithApi, ensureNamespace, kubeClients, uniqueName, writeUserKubeconfig } from '../support/kube.js';
import { describeIf } from '../support/privileged.js';
import { asArray, at, find, helmBinary, render, type Manifest } from '../../harness/chart/helm.js';
import { apiRequest, createObject, describeStatus, objectPath, serviceAccount } from './kubeapi.js';
import { chartWebhookEnv, createWebhookConfigs, webhookConfigsAtUrl } from '../../harness/chart/webhook-url.js';

const WEIR = fileURLToPath(new URL('../../bin/weir', import.meta.url));
const describeHelm = describeIf(helmBinary() !== null, 'helm is not built (scripts/build-go-tools.sh)');

function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.KUBECONFIG;
    execFile(WEIR, argv, { env, timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

describeWithApi('helm test (the chart test pod\'s command, as its ServiceAccount)', (adminKubeconfig) => {
  describeHelm('a release with the real webhook and one agent', () => {
    const { kc, core } = kubeClients(adminKubeconfig);
    const namespace = uniqueName('h16-ht');
    const release = 'h16';
    const full = `${release}-weir`;
    const clusterScoped: Manifest[] = [];
    let manifests: Manifest[] = [];
    let webhook: Daemon | undefined;
    let kubelet: FakeKubelet | undefined;
    let agent: AgentHttpServer | undefined;
    let work = '';
    let testKubeconfig = '';
    let command: string[] = [];
    const node = `${namespace}-node`;

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'h16-helm-test-'));
      manifests = await render({ release, namespace, tests: true });
      await ensureNamespace(core, namespace);
      // Everything but the workloads and the webhook configurations (registered below at a URL).
      const skip = new Set(['Deployment', 'DaemonSet', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'Pod']);
      for (const m of manifests.filter((x) => !skip.has(x.kind))) {
        const res = await createObject(kc, m, false);
        if (res.status !== 201) throw new Error(`install ${m.kind}/${m.metadata.name}: ${describeStatus(res)}`);
        if (m.metadata.namespace === undefined) clusterScoped.push(m);
      }
      const [webhookPort = 0, healthPort = 0] = await freeLoopbackPorts(2);
      const configs = webhookConfigsAtUrl(manifests, `https://127.0.0.1:${webhookPort}`);
      // Pod webhooks fail closed: keep them off every namespace so other suites never depend on this one.
      for (const c of configs) {
        for (const w of asArray(c.webhooks, 'webhooks')) {
          if (isRecord(w) && String(w.name).startsWith('pods.')) w.namespaceSelector = { matchLabels: { [`${namespace}-never`]: 'set' } };
        }
      }
      await createWebhookConfigs(kc, configs);
      clusterScoped.unshift(...configs);
      const sa = serviceAccount(namespace, `${full}-webhook`);
      const { command: node_, args } = tsEntry('webhook/src/main.ts');
      webhook = startDaemon(`webhook-${namespace}`, node_, args, join(work, 'webhook.log'), {
        ...process.env,
        ...chartWebhookEnv(manifests, `${full}-webhook`, namespace),
        WEIR_WEBHOOK_PORT: String(webhookPort), WEIR_HEALTH_PORT: String(healthPort), WEIR_LISTEN_HOST: '127.0.0.1',
        KUBECONFIG: await writeUserKubeconfig(adminKubeconfig, sa.user, sa.groups),
      });
      const deadline = Date.now() + 90_000;
      while (!(await fetch(`http://127.0.0.1:${healthPort}/readyz`).then((r) => r.ok, () => false))) {
        if (webhook.hasExited() || Date.now() > deadline) throw new Error(`the webhook did not become ready:\n${logTail(webhook)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      // One agent: the DaemonSet's pod template on a node whose kubelet is the fake one.
      kubelet = await startFakeKubelet();
      const [apiPort = 0] = await freeLoopbackPorts(1);
      const status: AgentStatus = { node, ready: true, unsynced: [], endpoints: [], maps: { ipcache: 0, policy: 0, endpoints: 0 }, pods: 0, malformedIntents: 0 };
      agent = await startAgentHttp({ isReady: true, status: () => status, flows: new FlowHub(), auditHistory: new AuditHistory(), metrics: new AgentMetrics({ counters: () => Promise.resolve([]), endpointName: String }) }, { apiPort, metricsHost: '127.0.0.1', metricsPort: 0 });
      await core.createNode({ body: { metadata: { name: node } } });
      const created = await core.readNode({ name: node });
      created.status = { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } } };
      await core.replaceNodeStatus({ name: node, body: created });
      const labels = at(find(manifests, 'DaemonSet'), 'spec.template.metadata.labels');
      if (!isRecord(labels)) throw new Error('DaemonSet template has no labels');
      const pod = await core.createNamespacedPod({ namespace, body: { metadata: { name: `${full}-agent-x`, labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])) }, spec: { nodeName: node, hostNetwork: true, containers: [{ name: 'agent', image: 'weir-agent:test', ports: [{ name: 'api', containerPort: apiPort }] }] } } });
      pod.status = { phase: 'Running' };
      await core.replaceNamespacedPodStatus({ name: `${full}-agent-x`, namespace, body: pod });
      // The test pod's identity and command, from the rendered hook.
      const testPod = manifests.find((m) => m.kind === 'Pod' && m.metadata.name === `${full}-test`);
      const tsa = serviceAccount(namespace, String(at(testPod, 'spec.serviceAccountName')));
      testKubeconfig = await writeUserKubeconfig(adminKubeconfig, tsa.user, tsa.groups);
      command = asArray(at(testPod, 'spec.containers.0.command'), 'command').map(String);
    }, 180_000);

    afterAll(async () => {
      for (const m of clusterScoped) await apiRequest(kc, 'DELETE', objectPath(m)).catch(() => undefined);
      if (webhook) await stopDaemon(webhook, 5_000);
      await agent?.close();
      await kubelet?.close();
      await core.deleteNode({ name: node }).catch(() => undefined);
      if (work !== '') await rm(work, { recursive: true, force: true });
    });

    it('passes: the webhook refuses the check NAD and the agent answers, ready', async () => {
      expect(command.slice(0, 3)).toEqual(['node', 'dist/cli/src/main.js', 'check']);
      const r = await run([...command.slice(2), '--kubeconfig', testKubeconfig]);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('webhook: answers');
      expect(r.stdout).toContain(`agent on ${node}: ready`);
      expect(r.stdout).toContain('ok: the webhook answers and all 1 agent(s) are ready');
      // A dry run only: nothing was stored.
      const left = await apiRequest(kc, 'GET', `/apis/k8s.cni.cncf.io/v1/namespaces/${namespace}/network-attachment-definitions`);
      expect(at(left.body, 'items')).toEqual([]);
    }, 100_000);

    it('fails, saying so, once the webhook is gone (the NAD webhook fails open, so Weir did not answer)', async () => {
      if (webhook) await stopDaemon(webhook, 5_000);
      const r = await run([...command.slice(2), '--kubeconfig', testKubeconfig]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('webhook: NOT ANSWERING');
      expect(r.stderr).toContain('check failed: webhook');
    }, 100_000);
  });
});
