// The chart's operability features (issue 16), rendered: helm test objects, priority classes,
// webhook.hostNetwork, image digests, Chart.yaml metadata, the bpffs init container, the metrics
// listener, and the optional monitoring objects, whose every metric name must exist (docs/metrics.md,
// itself kept equal to the code by test/docs/metrics.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isRecord } from '../../common/src/records.js';
import { describeWithApi, ensureNamespace, kubeClients, uniqueName } from '../support/kube.js';
import { describeIf } from '../support/privileged.js';
import { asArray, at, chartDir, find, helm, helmBinary, render, templateArgs, type Manifest } from '../../harness/chart/helm.js';
import { createObject, describeStatus } from './kubeapi.js';

const describeHelm = describeIf(helmBinary() !== null, 'helm is not built (scripts/build-go-tools.sh)');
const ROOT = join(chartDir, '../..');
const documentedMetrics = new Set([...readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8').matchAll(/^\| `([a-z0-9_:]+)` \|/gm)].map((m) => m[1]));

function hooksOf(ms: readonly Manifest[]): Manifest[] {
  return ms.filter((m) => isRecord(m.metadata.annotations) && m.metadata.annotations['helm.sh/hook'] === 'test');
}

/** Metric names a PromQL expression or dashboard uses (histogram series mapped to their family). */
function metricNames(text: string): string[] {
  return [...new Set([...text.matchAll(/\b((?:weir|nodejs|process)_[a-z0-9_]+)\b/g)].flatMap((m) => (m[1] === undefined ? [] : [m[1].replace(/_(bucket|sum|count)$/, '')])))];
}

describeHelm('charts/weir: operability (issue 16)', () => {
  let ms: Manifest[] = [];
  beforeAll(async () => {
    ms = await render({ tests: true });
  });

  it('Chart.yaml carries home, sources and maintainers', () => {
    const chart: unknown = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'));
    expect(at(chart, 'home')).toMatch(/^https:\/\//);
    expect(asArray(at(chart, 'sources'), 'sources').length).toBeGreaterThan(0);
    expect(at(chart, 'maintainers.0.name')).toBeTruthy();
  });

  it('priority classes: system-cluster-critical webhook (fails closed), system-node-critical agent', () => {
    expect(at(find(ms, 'Deployment'), 'spec.template.spec.priorityClassName')).toBe('system-cluster-critical');
    expect(at(find(ms, 'DaemonSet'), 'spec.template.spec.priorityClassName')).toBe('system-node-critical');
  });

  it('webhook.hostNetwork puts the webhook in the host network with host DNS', async () => {
    expect(at(find(ms, 'Deployment'), 'spec.template.spec.hostNetwork')).toBeUndefined();
    const pod = at(find(await render({ set: { 'webhook.hostNetwork': 'true' } }), 'Deployment'), 'spec.template.spec');
    expect(at(pod, 'hostNetwork')).toBe(true);
    expect(at(pod, 'dnsPolicy')).toBe('ClusterFirstWithHostNet');
  });

  it('images by digest when one is given, and a malformed digest is refused at install', async () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const r = await render({ set: { 'agent.image.digest': digest, 'webhook.image.digest': digest } });
    expect(at(find(r, 'DaemonSet'), 'spec.template.spec.containers.0.image')).toBe(`ghcr.io/weir-dev/weir-agent:0.1.0@${digest}`);
    expect(at(find(r, 'Deployment'), 'spec.template.spec.containers.0.image')).toBe(`ghcr.io/weir-dev/weir-webhook:0.1.0@${digest}`);
    const bad = await helm([...templateArgs({ set: { 'agent.image.digest': 'latest' } })]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('digest');
  });

  it('bpffs is mounted by an init container with Bidirectional propagation, so pins outlive the agent', () => {
    const pod = at(find(ms, 'DaemonSet'), 'spec.template.spec');
    const init = asArray(at(pod, 'initContainers'), 'initContainers').find((c) => at(c, 'name') === 'mount-bpffs');
    expect(at(init, 'securityContext.privileged')).toBe(true);
    expect(at(init, 'volumeMounts.0')).toEqual({ name: 'bpffs', mountPath: '/sys/fs/bpf', mountPropagation: 'Bidirectional' });
    expect(String(at(init, 'command.2'))).toContain('mount -t bpf bpf /sys/fs/bpf');
    expect(at(pod, 'containers.0.volumeMounts.0')).toMatchObject({ mountPath: '/sys/fs/bpf', mountPropagation: 'HostToContainer' });
  });

  it('agent metrics: the node address by default, an explicit address or none on request; the API port stays unexposed', async () => {
    const c = at(find(ms, 'DaemonSet'), 'spec.template.spec.containers.0');
    const ports = asArray(at(c, 'ports'), 'ports');
    expect(ports).toEqual([{ name: 'api', containerPort: 9962, protocol: 'TCP' }, { name: 'metrics', containerPort: 9963, hostPort: 9963, protocol: 'TCP' }]);
    expect(at(c, 'readinessProbe.httpGet')).toEqual({ host: '127.0.0.1', path: '/readyz', port: 'api' });
    const env = (r: Manifest[]) => new Map(asArray(at(find(r, 'DaemonSet'), 'spec.template.spec.containers.0.env'), 'env').map((e) => [String(at(e, 'name')), at(e, 'value') ?? at(e, 'valueFrom')]));
    expect(env(ms).get('WEIR_METRICS_HOST')).toEqual({ fieldRef: { fieldPath: 'status.hostIP' } });
    expect(env(await render({ set: { 'agent.metrics.address': '0.0.0.0' } })).get('WEIR_METRICS_HOST')).toBe('0.0.0.0');
    const off = await render({ set: { 'agent.metrics.port': '0' } });
    expect(asArray(at(find(off, 'DaemonSet'), 'spec.template.spec.containers.0.ports'), 'ports').map((p) => at(p, 'name'))).toEqual(['api']);
    const refused = await helm(templateArgs({ set: { 'agent.metrics.port': '0', 'monitoring.serviceMonitor.enabled': 'true' } }));
    expect(refused.stderr).toContain('monitoring.serviceMonitor.enabled needs agent.metrics.port');
  });

  it('helm test: a pod that runs weir check in the release namespace, with a Role for exactly that', () => {
    const hooks = hooksOf(ms);
    expect(hooks.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual(['Pod/weir-test', 'Role/weir-test', 'RoleBinding/weir-test', 'ServiceAccount/weir-test']);
    const pod = find(hooks, 'Pod');
    const command = asArray(at(pod, 'spec.containers.0.command'), 'command').map(String);
    expect(command.slice(0, 5)).toEqual(['node', 'dist/cli/src/main.js', 'check', '--namespace', 'weir-system']);
    // The selector it passes selects exactly the DaemonSet's pods.
    const selector = Object.fromEntries((command[6] ?? '').split(',').map((kv): [string, string | undefined] => {
      const [key = '', value] = kv.split('=');
      return [key, value];
    }));
    expect(selector).toEqual(at(find(ms, 'DaemonSet'), 'spec.selector.matchLabels'));
    expect(at(pod, 'spec.restartPolicy')).toBe('Never');
    expect(at(pod, 'spec.serviceAccountName')).toBe('weir-test');
    expect(at(find(hooks, 'Role'), 'rules')).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['pods/portforward'], verbs: ['get', 'create'] },
      { apiGroups: ['k8s.cni.cncf.io'], resources: ['network-attachment-definitions'], verbs: ['create'] },
    ]);
  });

  it('monitoring objects are off by default and complete when enabled', async () => {
    const monitoringKinds = ['ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'ConfigMap'];
    expect(ms.filter((m) => monitoringKinds.includes(m.kind))).toEqual([]);
    const on = await render({ set: { 'monitoring.serviceMonitor.enabled': 'true', 'monitoring.podMonitor.enabled': 'true', 'monitoring.prometheusRule.enabled': 'true', 'monitoring.dashboard.enabled': 'true', 'monitoring.labels.release': 'prom' } });
    const names = on.filter((m) => monitoringKinds.includes(m.kind) || m.metadata.name.endsWith('-metrics')).map((m) => `${m.kind}/${m.metadata.name}`).sort();
    expect(names).toEqual(['ConfigMap/weir-dashboard', 'PodMonitor/weir-agent', 'PodMonitor/weir-webhook', 'PrometheusRule/weir', 'Service/weir-agent-metrics', 'Service/weir-webhook-metrics', 'ServiceMonitor/weir-agent', 'ServiceMonitor/weir-webhook']);
    expect(at(find(on, 'PrometheusRule'), 'metadata.labels.release')).toBe('prom');
    // Every scrape port is a port the pods declare.
    expect(at(find(on, 'ServiceMonitor', 'weir-agent'), 'spec.endpoints.0.port')).toBe('metrics');
    expect(at(find(on, 'PodMonitor', 'weir-webhook'), 'spec.podMetricsEndpoints.0.port')).toBe('health');
    const alerts = asArray(at(find(on, 'PrometheusRule'), 'spec.groups'), 'groups').flatMap((g) => asArray(at(g, 'rules'), 'rules'));
    expect(alerts.map((r) => at(r, 'alert'))).toEqual(expect.arrayContaining(['WeirAgentNotReady', 'WeirAgentMapPressure', 'WeirAgentReattaching', 'WeirWebhookErrors', 'WeirWebhookSlow']));
    const data = at(find(on, 'ConfigMap', 'weir-dashboard'), 'data');
    const shipped: unknown = JSON.parse(isRecord(data) && typeof data['weir.json'] === 'string' ? data['weir.json'] : 'null');
    expect(shipped).toEqual(JSON.parse(readFileSync(join(chartDir, 'files/grafana-dashboard.json'), 'utf8')));
    expect(at(shipped, 'panels.0.type')).toBe('timeseries');
  });

  it('every metric the alerts and the dashboard use is one Weir serves (docs/metrics.md)', async () => {
    const on = await render({ set: { 'monitoring.prometheusRule.enabled': 'true' } });
    const exprs = asArray(at(find(on, 'PrometheusRule'), 'spec.groups'), 'groups').flatMap((g) => asArray(at(g, 'rules'), 'rules').map((r) => String(at(r, 'expr'))));
    const used = [...metricNames(exprs.join('\n')), ...metricNames(readFileSync(join(chartDir, 'files/grafana-dashboard.json'), 'utf8'))];
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((name) => !documentedMetrics.has(name))).toEqual([]);
  });

  it('the map capacities the pressure alert uses are the ones compiled into the BPF maps', () => {
    const headers = ['policy.h', 'weir_shared.h'].map((f) => readFileSync(join(ROOT, 'bpf/include', f), 'utf8')).join('\n');
    const define = (name: string) => Number(new RegExp(`#define ${name} (\\d+)`).exec(headers)?.[1]);
    const values: unknown = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
    expect(at(values, 'monitoring.mapCapacity')).toEqual({
      ipcache: define('WEIR_IPCACHE_MAX_ENTRIES'),
      endpoints: define('WEIR_MAX_ENDPOINTS'),
    });
    // The policy map is partitioned per endpoint: the chart's quota may not exceed a slot.
    expect(at(values, 'agent.policy.entriesPerEndpoint')).toBeLessThanOrEqual(define('WEIR_POLICY_MAX_PER_ENDPOINT'));
    expect(headers).toMatch(/#define WEIR_POLICY_MAX_ENTRIES \(WEIR_MAX_ENDPOINTS \* WEIR_POLICY_MAX_PER_ENDPOINT\)/);
  });
});

describeWithApi('charts/weir: helm test and monitoring objects on the real kube-apiserver', (kubeconfig) => {
  describeHelm('server-side dry run', () => {
    it('accepts the helm test hooks, the metrics Services and the dashboard ConfigMap, strictly', async () => {
      const { kc, core } = kubeClients(kubeconfig);
      const namespace = uniqueName('h16-chart');
      await ensureNamespace(core, namespace);
      const on = await render({ namespace, tests: true, set: { 'monitoring.serviceMonitor.enabled': 'true', 'monitoring.dashboard.enabled': 'true' } });
      const objects = [...hooksOf(on), ...on.filter((m) => m.metadata.name.endsWith('-metrics') || m.kind === 'ConfigMap')];
      expect(objects).toHaveLength(7);
      for (const m of objects) {
        const res = await createObject(kc, m, true);
        expect(res.status, `${m.kind}/${m.metadata.name}: ${describeStatus(res)}`).toBe(201);
      }
    }, 60_000);
  });
});
