/**
 * `weir status` and `weir observe` against a cluster through the kubeconfig, with no --agent (issue
 * 16): the CLI lists the agent pods through the real kube-apiserver and reaches each one's loopback
 * API through pods/portforward, as an ordinary user whose RBAC allows exactly that. The kubelet end
 * of the port-forward is test/support/fake-kubelet.ts (the test control plane has no nodes); the
 * agent end is the agent's real HTTP server on 127.0.0.1, which is all a hostNetwork agent pod's
 * loopback is. A user without pods/portforward is refused with a message naming the permission, and
 * an agent that cannot be reached makes `weir status` exit 1.
 */
import { RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AgentStatus, FlowRecord } from '../../agent/src/api.js';
import { startAgentHttp, type AgentHttpServer } from '../../agent/src/http.js';
import { AgentMetrics } from '../../agent/src/metrics.js';
import { FlowHub } from '../../agent/src/flows/hub.js';
import { AuditHistory } from '../../agent/src/flows/audit-history.js';
import { freeLoopbackPorts } from '../../harness/controlplane/ports.js';
import { startFakeKubelet, type FakeKubelet } from '../support/fake-kubelet.js';
import { describeWithApi, ensureNamespace, kubeClients, uniqueName, writeUserKubeconfig } from '../support/kube.js';
import { runWeir, WEIR_BIN } from '../support/weir-cli.js';

const weir = (argv: string[]) => runWeir(argv);

describeWithApi('weir status / observe through the kubeconfig and pods/portforward', (adminKubeconfig) => {
  const { kc, core } = kubeClients(adminKubeconfig);
  const id = uniqueName('wcli');
  const ns = id;
  const node = `${id}-node`;
  const selector = `app.kubernetes.io/name=weir,app.kubernetes.io/component=agent,app.kubernetes.io/instance=${id}`;
  const flows = new FlowHub();
  const auditHistory = new AuditHistory();
  let kubelet: FakeKubelet;
  let agent: AgentHttpServer;
  let deadPort = 0;
  let viewer = '';
  let outsider = '';
  const status: AgentStatus = {
    node, ready: true, unsynced: [], pods: 2, malformedIntents: 0, maps: { ipcache: 2, policy: 3, endpoints: 1 },
    endpoints: [{ endpointId: 1, pod: 'shop/web', interface: 'eth0', containerId: 'c1', netnsPath: '/var/run/netns/cni-1', programmed: true, shaping: 'tbf', bandwidth: { egressBitsPerSecond: 50_000_000 }, policyEntries: 3, isolation: { ingress: true, egress: false } }],
  };

  async function agentPod(name: string, apiPort: number): Promise<void> {
    const labels = { 'app.kubernetes.io/name': 'weir', 'app.kubernetes.io/component': 'agent', 'app.kubernetes.io/instance': id };
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name, labels },
        spec: { nodeName: node, hostNetwork: true, containers: [{ name: 'agent', image: 'weir-agent:test', ports: [{ name: 'api', containerPort: apiPort }] }] },
      },
    });
    pod.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };
    await core.replaceNamespacedPodStatus({ name, namespace: ns, body: pod });
  }

  async function rbac(client: KubeConfig, user: string, portforward: boolean): Promise<void> {
    const r = client.makeApiClient(RbacAuthorizationV1Api);
    await r.createClusterRole({ body: { metadata: { name: user }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] } });
    await r.createClusterRoleBinding({ body: { metadata: { name: user }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: user }, subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }] } });
    if (!portforward) return;
    await r.createNamespacedRole({ namespace: ns, body: { metadata: { name: user }, rules: [{ apiGroups: [''], resources: ['pods/portforward'], verbs: ['get', 'create'] }] } });
    await r.createNamespacedRoleBinding({ namespace: ns, body: { metadata: { name: user }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: user }, subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }] } });
  }

  beforeAll(async () => {
    kubelet = await startFakeKubelet();
    const [apiPort = 0, dead = 0] = await freeLoopbackPorts(2);
    deadPort = dead;
    const metrics = new AgentMetrics({ counters: () => Promise.resolve([]), endpointName: String });
    agent = await startAgentHttp({ isReady: true, status: () => status, flows, auditHistory, metrics }, { apiPort, metricsHost: '127.0.0.1', metricsPort: 0 });
    await core.createNode({ body: { metadata: { name: node } } });
    const created = await core.readNode({ name: node });
    created.status = { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } } };
    await core.replaceNodeStatus({ name: node, body: created });
    await ensureNamespace(core, ns);
    await agentPod('weir-agent-a', agent.apiPort);
    const users = { viewer: `${id}-viewer`, outsider: `${id}-outsider` };
    await rbac(kc, users.viewer, true);
    await rbac(kc, users.outsider, false);
    viewer = await writeUserKubeconfig(adminKubeconfig, users.viewer);
    outsider = await writeUserKubeconfig(adminKubeconfig, users.outsider);
  }, 60_000);

  afterAll(async () => {
    // Unset when beforeAll failed first.
    await (agent as typeof agent | undefined)?.close();
    await (kubelet as typeof kubelet | undefined)?.close();
    await core.deleteNode({ name: node }).catch(() => undefined);
  });

  it('weir status finds the agent pod and reads its status through a port-forward', async () => {
    const r = await weir(['status', '--kubeconfig', viewer, '--selector', selector]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`node ${node}: ready; 1 endpoint(s)`);
    expect(r.stdout).toMatch(/shop\/web\/eth0\s+#1\s+programmed\s+shaping tbf/);
    expect(kubelet.forwards).toContain(`${ns}/weir-agent-a:${agent.apiPort}`);
  }, 70_000);

  it('-o json and -o yaml print the same list', async () => {
    const json = await weir(['status', '--kubeconfig', viewer, '-l', selector, '-o', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const parsed: unknown = JSON.parse(json.stdout);
    expect(parsed).toEqual({ kind: 'AgentStatusList', items: [{ node, source: `${ns}/weir-agent-a`, status }] });
    const yaml = await weir(['status', '--kubeconfig', viewer, '-l', selector, '-o', 'yaml']);
    expect(yaml.stdout).toContain('kind: "AgentStatusList"');
    expect(yaml.stdout).toContain(`  - node: "${node}"`);
  }, 70_000);

  it('weir observe streams the agent\'s flows through the port-forward', async () => {
    const child = spawn(WEIR_BIN, ['observe', '--kubeconfig', viewer, '-l', selector, '-o', 'json', '--verdict', 'dropped'], { env: { ...process.env, KUBECONFIG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    try {
      const deadline = Date.now() + 45_000;
      while (flows.size === 0) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`weir observe never subscribed: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const record: FlowRecord = {
        time: '2026-01-01T00:00:00.000Z', node, endpoint: 'shop/web', direction: 'ingress', verdict: 'DROPPED', reason: 'default-deny',
        protocol: 'TCP', source: 'shop/client:40312', destination: 'shop/web:80', policy: 'NetworkPolicy shop/deny-all (default deny)', remoteIdentity: 300,
      };
      flows.publish({ ...record, verdict: 'ALLOWED', reason: 'policy-allow' }); // filtered out by --verdict dropped
      flows.publish(record);
      while (!stdout.includes('\n')) {
        if (Date.now() > deadline) throw new Error(`no flow printed: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(JSON.parse(stdout.split('\n')[0] ?? '')).toEqual(record);
    } finally {
      child.kill('SIGINT');
    }
  }, 70_000);

  it('weir audit report --since reads what the agent kept through the port-forward', async () => {
    const audit: FlowRecord = {
      time: '2026-01-01T00:00:00.000Z', node, endpoint: 'shop/web-7d4b9c8f5d-x2k9q', direction: 'ingress', verdict: 'AUDIT', reason: 'default-deny',
      protocol: 'TCP', source: 'shop/client-6f7c9d8b4-bcdfg:40312', destination: 'shop/web-7d4b9c8f5d-x2k9q:80', policy: 'shop/deny-all (audit policy)', remoteIdentity: 300,
    };
    const now = Date.now();
    auditHistory.add({ ...audit, endpoint: 'bank/api', destination: 'bank/api:443', policy: 'bank/deny (audit policy)' }, now - 2 * 3600_000); // before the window
    auditHistory.add(audit, now - 60_000);
    auditHistory.add({ ...audit, source: 'shop/client-6f7c9d8b4-zzzzz:41000' }, now - 30_000); // another replica: the same flow
    const r = await weir(['audit', 'report', '--kubeconfig', viewer, '-l', selector, '--since', '1h']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([
      'shop/deny-all (audit policy): would drop 1 distinct flow (from shop/client)',
      '  shop/client -> shop/web 80/TCP  (2 events)',
    ]);
    const day = await weir(['audit', 'report', '--kubeconfig', viewer, '-l', selector, '--since', '3h', '-o', 'json']);
    expect(day.code, day.stderr).toBe(0);
    const policies: unknown = JSON.parse(day.stdout);
    expect(Array.isArray(policies) ? policies.map((p: { policy: string }) => p.policy) : policies).toEqual(['bank/deny (audit policy)', 'shop/deny-all (audit policy)']);
    const outsiderRun = await weir(['audit', 'report', '--kubeconfig', outsider, '-l', selector]);
    expect(outsiderRun.code).toBe(1);
    expect(outsiderRun.stderr).toContain('no agent could be read');
  }, 70_000);

  it('without pods/portforward the user is told which permission is missing, and status exits 1', async () => {
    const r = await weir(['status', '--kubeconfig', outsider, '-l', selector]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`node ${node}: NOT REACHABLE`);
    expect(r.stdout).toContain('pods/portforward');
    expect(r.stdout).toContain('403');
    expect(r.stderr).toContain('1 of 1 agent(s) not reachable');
  }, 70_000);

  it('an agent that does not answer makes weir status exit 1, naming it, while the others are shown', async () => {
    await agentPod('weir-agent-dead', deadPort);
    const r = await weir(['status', '--kubeconfig', viewer, '-l', selector]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`node ${node}: ready; 1 endpoint(s)`);
    expect(r.stdout).toMatch(new RegExp(`node ${node}: NOT REACHABLE \\(${ns}/weir-agent-dead\\)`));
    expect(r.stderr).toContain('1 of 2 agent(s) not reachable');
  }, 70_000);

  it('--context names the contexts the kubeconfig has when it has no such one', async () => {
    const r = await weir(['status', '--kubeconfig', viewer, '--context', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--context nope: no such context \(the kubeconfig has: .+\)/);
  }, 70_000);
});
