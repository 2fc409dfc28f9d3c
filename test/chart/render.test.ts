// The chart as text: helm lint, helm template over the value combinations users will try, and the
// schema refusing wrong values at install time. No cluster needed (see apiserver.test.ts for that).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { readAgentConfig } from '../../agent/src/config.js';
import { LOG_LEVELS } from '../../common/src/log-levels.js';
import { catchUpFor } from '../../webhook/src/server/catch-up.js';
import { parseConfig } from '../../webhook/src/server/config.js';
import { describeIf } from '../support/privileged.js';
import { asArray, at, chartDir, find, helm, helmBinary, render, templateArgs, type Manifest } from '../../harness/chart/helm.js';

const describeHelm = describeIf(helmBinary() !== null, 'helm is not built (scripts/build-go-tools.sh)');

function env(container: unknown): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const e of asArray(at(container, 'env'), 'env')) m.set(String(at(e, 'name')), at(e, 'value') ?? at(e, 'valueFrom'));
  return m;
}

function kinds(ms: readonly Manifest[]): string[] {
  return ms.map((m) => `${m.kind}/${m.metadata.name}`).sort();
}

describeHelm('charts/weir: helm lint', () => {
  it.each([
    ['default values', []],
    ['cert-manager', ['--set', 'tls.mode=cert-manager']],
  ])('is clean with --strict (%s)', async (_name, extra) => {
    const res = await helm(['lint', '--strict', '--namespace', 'weir-system', chartDir, ...extra]);
    expect(res.stderr + res.stdout).toContain('0 chart(s) failed');
    expect(res.code).toBe(0);
  });
});

describeHelm('charts/weir: default values (self-signed TLS)', () => {
  let ms: Manifest[] = [];
  beforeAll(async () => {
    ms = await render();
  });

  it('renders exactly the expected objects', () => {
    expect(kinds(ms)).toEqual([
      'ClusterRole/weir-agent',
      'ClusterRole/weir-webhook',
      'ClusterRoleBinding/weir-agent',
      'ClusterRoleBinding/weir-webhook',
      'DaemonSet/weir-agent',
      'Deployment/weir-webhook',
      'Job/weir-uninstall',
      'MutatingWebhookConfiguration/weir',
      'PodDisruptionBudget/weir-webhook',
      'Role/weir-uninstall',
      'Role/weir-webhook',
      'RoleBinding/weir-uninstall',
      'RoleBinding/weir-webhook',
      'Secret/weir-webhook-tls',
      'Service/weir-webhook',
      'ServiceAccount/weir-agent',
      'ServiceAccount/weir-uninstall',
      'ServiceAccount/weir-webhook',
      'ValidatingWebhookConfiguration/weir',
    ]);
    for (const m of ms) {
      if (!m.kind.startsWith('Cluster') && !m.kind.endsWith('WebhookConfiguration')) {
        expect(m.metadata.namespace, `${m.kind}/${m.metadata.name}`).toBe('weir-system');
      }
    }
  });

  it('webhook Deployment: 2 replicas, spread, probes on the health port, hardened, env per contract', () => {
    const d = find(ms, 'Deployment');
    expect(at(d, 'spec.replicas')).toBe(2);
    expect(at(d, 'spec.strategy.rollingUpdate.maxUnavailable')).toBe(0);
    const pod = at(d, 'spec.template.spec');
    expect(at(pod, 'serviceAccountName')).toBe('weir-webhook');
    expect(at(pod, 'affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.podAffinityTerm.topologyKey')).toBe(
      'kubernetes.io/hostname',
    );
    expect(at(pod, 'affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.podAffinityTerm.labelSelector.matchLabels')).toEqual(
      at(d, 'spec.selector.matchLabels'),
    );
    const c = at(pod, 'containers.0');
    expect(at(c, 'image')).toBe('ghcr.io/weir-dev/weir-webhook:0.1.0');
    expect(at(c, 'readinessProbe.httpGet')).toEqual({ path: '/readyz', port: 'health' });
    expect(at(c, 'livenessProbe.httpGet')).toEqual({ path: '/healthz', port: 'health' });
    expect(at(c, 'ports')).toEqual([
      { name: 'webhook', containerPort: 9443, protocol: 'TCP' },
      { name: 'health', containerPort: 8080, protocol: 'TCP' },
    ]);
    expect(at(c, 'resources.requests')).toBeDefined();
    expect(at(c, 'securityContext')).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(Object.fromEntries(env(c))).toEqual({
      WEIR_WEBHOOK_PORT: '9443',
      WEIR_HEALTH_PORT: '8080',
      WEIR_TLS_MODE: 'self-signed',
      WEIR_TLS_SECRET: 'weir-webhook-tls',
      WEIR_CERT_DIR: '/etc/weir/tls',
      WEIR_NAMESPACE: { fieldRef: { fieldPath: 'metadata.namespace' } },
      WEIR_SERVICE_NAME: 'weir-webhook',
      WEIR_MUTATING_WEBHOOK: 'weir',
      WEIR_VALIDATING_WEBHOOK: 'weir',
      WEIR_COORDINATOR_NAME: 'default',
      WEIR_LOG_LEVEL: 'info',
      WEIR_ADMISSION_TIMEOUT_SECONDS: '5',
    });
    // Self-signed: no certificate volume (the webhook reads its Secret through the API).
    expect(asArray(at(pod, 'volumes'), 'volumes').map((v) => at(v, 'name'))).toEqual(['tmp']);
  });

  it('PodDisruptionBudget keeps one webhook replica', () => {
    const pdb = find(ms, 'PodDisruptionBudget');
    expect(at(pdb, 'spec.minAvailable')).toBe(1);
    expect(at(pdb, 'spec.selector.matchLabels')).toEqual(at(find(ms, 'Deployment'), 'spec.selector.matchLabels'));
  });

  it('Service routes 443 to the webhook port of the webhook pods', () => {
    const s = find(ms, 'Service');
    expect(at(s, 'spec.selector')).toEqual(at(find(ms, 'Deployment'), 'spec.selector.matchLabels'));
    expect(at(s, 'spec.ports.0')).toMatchObject({ name: 'https', port: 443, targetPort: 'webhook' });
  });

  it('agent DaemonSet: privileged host-network agent with the host mounts, CNI installer and all tolerations', () => {
    const ds = find(ms, 'DaemonSet');
    const pod = at(ds, 'spec.template.spec');
    expect(at(pod, 'hostNetwork')).toBe(true);
    expect(at(pod, 'hostPID')).toBe(false);
    expect(at(pod, 'dnsPolicy')).toBe('ClusterFirstWithHostNet');
    expect(at(pod, 'tolerations')).toEqual([{ operator: 'Exists' }]);
    expect(at(pod, 'serviceAccountName')).toBe('weir-agent');
    const c = at(pod, 'containers.0');
    expect(at(c, 'securityContext.privileged')).toBe(true);
    const e = env(c);
    expect(e.get('WEIR_NODE_NAME')).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    expect(e.get('WEIR_PIN_ROOT')).toBe('/sys/fs/bpf/weir/$(WEIR_NODE_NAME)');
    expect(e.get('WEIR_CNI_SOCKET')).toBe('/run/weir/cni.sock');
    expect(e.get('WEIR_API_PORT')).toBe('9962');
    expect(e.get('WEIR_METRICS_HOST')).toEqual({ fieldRef: { fieldPath: 'status.hostIP' } });
    expect(e.get('WEIR_METRICS_PORT')).toBe('9963');
    expect(e.get('WEIR_BPF_OBJECT')).toBe('/opt/weir/build/bpf');
    expect(e.get('WEIR_NETNS_DIR')).toBe('/var/run/netns');
    // $(WEIR_NODE_NAME) only expands if it is defined before WEIR_PIN_ROOT.
    expect([...e.keys()].indexOf('WEIR_NODE_NAME')).toBeLessThan([...e.keys()].indexOf('WEIR_PIN_ROOT'));
    const mounts = new Map(asArray(at(c, 'volumeMounts'), 'mounts').map((m) => [String(at(m, 'mountPath')), at(m, 'mountPropagation')]));
    expect(mounts.get('/sys/fs/bpf')).toBe('HostToContainer');
    expect(mounts.get('/var/run/netns')).toBe('HostToContainer');
    expect(mounts.has('/run/weir')).toBe(true);
    const hostPaths = asArray(at(pod, 'volumes'), 'volumes').flatMap((v) => {
      const p = at(v, 'hostPath.path');
      return typeof p === 'string' ? [p] : [];
    });
    expect(hostPaths.sort()).toEqual(['/opt/cni/bin', '/run/netns', '/run/weir', '/sys/fs/bpf']);
    const init = at(pod, 'initContainers.0');
    expect(at(init, 'name')).toBe('install-cni');
    expect(at(init, 'image')).toBe(at(c, 'image'));
    expect(String(at(init, 'command.2'))).toContain('mv -f /host/cni-bin/.weir.tmp /host/cni-bin/weir');
    expect(at(init, 'volumeMounts')).toEqual([{ name: 'cni-bin', mountPath: '/host/cni-bin' }]);
  });

  it('webhook configurations: pods fail closed, NADs fail open, opt-in selector, service paths, empty caBundle', () => {
    const mwc = find(ms, 'MutatingWebhookConfiguration');
    const vwc = find(ms, 'ValidatingWebhookConfiguration');
    expect(at(mwc, 'metadata.annotations')).toBeUndefined();
    const hooks = [...asArray(at(mwc, 'webhooks'), 'mutating'), ...asArray(at(vwc, 'webhooks'), 'validating')];
    expect(hooks.map((h) => [at(h, 'name'), at(h, 'clientConfig.service.path'), at(h, 'failurePolicy')])).toEqual([
      ['pods.mutate.weir.dev', '/mutate-pods', 'Fail'],
      ['nads.mutate.weir.dev', '/mutate-nads', 'Ignore'],
      ['pods.validate.weir.dev', '/validate-pods', 'Fail'],
      ['nads.validate.weir.dev', '/validate-nads', 'Ignore'],
    ]);
    for (const h of hooks) {
      expect(at(h, 'clientConfig.service')).toMatchObject({ name: 'weir-webhook', namespace: 'weir-system', port: 443 });
      expect(at(h, 'clientConfig.caBundle')).toBe('');
      expect(at(h, 'sideEffects')).toBe('None');
      expect(at(h, 'timeoutSeconds')).toBe(5);
      expect(at(h, 'matchPolicy')).toBe('Equivalent');
      expect(at(h, 'admissionReviewVersions')).toEqual(['v1']);
      expect(at(h, 'objectSelector')).toBeUndefined();
      expect(at(h, 'rules.0.operations')).toEqual(['CREATE', 'UPDATE']);
    }
    expect(at(hooks[0], 'reinvocationPolicy')).toBe('IfNeeded');
    for (const h of [hooks[0], hooks[2]]) {
      // Ephemeral containers (kubectl debug) get the same capability checks as the pod's own.
      expect(at(h, 'rules.0.resources')).toEqual(['pods', 'pods/ephemeralcontainers']);
      expect(at(h, 'namespaceSelector.matchExpressions')).toEqual([
        { key: 'weir.dev/inject', operator: 'In', values: ['enabled'] },
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'weir-system'] },
      ]);
    }
    for (const h of [hooks[1], hooks[3]]) {
      expect(at(h, 'rules.0')).toMatchObject({ apiGroups: ['k8s.cni.cncf.io'], resources: ['network-attachment-definitions'] });
    }
  });

  it('RBAC: the webhook may touch only its own configurations and Secret; the agent only reads, but creates pod Events', () => {
    const whRules = asArray(at(find(ms, 'ClusterRole', 'weir-webhook'), 'rules'), 'rules');
    const cfg = whRules.find((r) => asArray(at(r, 'apiGroups'), 'groups').includes('admissionregistration.k8s.io'));
    expect(at(cfg, 'resourceNames')).toEqual(['weir']);
    expect(at(cfg, 'verbs')).toEqual(['get', 'patch', 'update']);
    for (const r of whRules) {
      if (r === cfg) continue;
      expect(at(r, 'verbs'), JSON.stringify(r)).toEqual(['get', 'list', 'watch']);
      expect(at(r, 'resources')).not.toContain('pods');
    }
    const role = find(ms, 'Role', 'weir-webhook');
    expect(at(role, 'rules')).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['weir-webhook-tls'], verbs: ['get', 'update', 'patch'] },
    ]);
    const secret = find(ms, 'Secret');
    expect(at(secret, 'data')).toBeUndefined();
    expect(at(secret, 'metadata.annotations')).toEqual({ 'helm.sh/resource-policy': 'keep' });
    // The agent's writes: Warning Events on pods (agent/src/kube/events.ts), create only, and the
    // WeirEndpoints it publishes (agent/src/endpoints/weirendpoint-publish.ts).
    const agentRules = asArray(at(find(ms, 'ClusterRole', 'weir-agent'), 'rules'), 'rules');
    const events = agentRules.filter((r) => asArray(at(r, 'resources'), 'resources').includes('events'));
    expect(events).toEqual([{ apiGroups: [''], resources: ['events'], verbs: ['create'] }]);
    const endpoints = agentRules.filter((r) => asArray(at(r, 'apiGroups'), 'apiGroups').includes('weir.dev'));
    expect(endpoints).toEqual([{ apiGroups: ['weir.dev'], resources: ['weirendpoints'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] }]);
    // Nothing is aggregated into the built-in admin/edit/view roles: tenants get no weir.dev verbs.
    expect(ms.filter((m) => Object.keys(m.metadata.labels ?? {}).some((l) => l.startsWith('rbac.authorization.k8s.io/aggregate-to-')))).toEqual([]);
    for (const r of agentRules) {
      if (events.includes(r) || endpoints.includes(r)) continue;
      for (const v of asArray(at(r, 'verbs'), 'verbs')) expect(['get', 'list', 'watch']).toContain(v);
    }
  });
});

describeHelm('charts/weir: cert-manager TLS', () => {
  it('adds a self-signed Issuer and a Certificate, injects the CA by annotation, mounts the Secret, drops Secret RBAC', async () => {
    const ms = await render({ set: { 'tls.mode': 'cert-manager' } });
    const cert = find(ms, 'Certificate');
    expect(at(cert, 'metadata.name')).toBe('weir-webhook');
    expect(at(cert, 'spec.secretName')).toBe('weir-webhook-tls');
    expect(at(cert, 'spec.dnsNames')).toEqual([
      'weir-webhook',
      'weir-webhook.weir-system',
      'weir-webhook.weir-system.svc',
      'weir-webhook.weir-system.svc.cluster.local',
    ]);
    const issuer = find(ms, 'Issuer');
    expect(at(issuer, 'spec.selfSigned')).toEqual({});
    expect(at(cert, 'spec.issuerRef')).toEqual({ name: at(issuer, 'metadata.name'), kind: 'Issuer', group: 'cert-manager.io' });
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      const wc = find(ms, kind);
      expect(at(wc, 'metadata.annotations')).toEqual({ 'cert-manager.io/inject-ca-from': 'weir-system/weir-webhook' });
      for (const h of asArray(at(wc, 'webhooks'), kind)) expect(at(h, 'clientConfig.caBundle')).toBeUndefined();
    }
    // cert-manager owns the Secret; the webhook reads the mounted files and needs no Secret access.
    // (The uninstall hook's Role is about agent pods: templates/uninstall-hook.yaml, test/chart/uninstall-hook.test.ts.)
    expect(ms.filter((m) => (m.kind === 'Secret' || m.kind === 'Role' || m.kind === 'RoleBinding') && m.metadata.name !== 'weir-uninstall')).toEqual([]);
    const whRules = asArray(at(find(ms, 'ClusterRole', 'weir-webhook'), 'rules'), 'rules');
    expect(JSON.stringify(whRules)).not.toContain('admissionregistration');
    const pod = at(find(ms, 'Deployment'), 'spec.template.spec');
    expect(at(pod, 'volumes.1')).toEqual({ name: 'tls', secret: { secretName: 'weir-webhook-tls' } });
    expect(at(pod, 'containers.0.volumeMounts.1')).toEqual({ name: 'tls', mountPath: '/etc/weir/tls', readOnly: true });
    expect(env(at(pod, 'containers.0')).get('WEIR_TLS_MODE')).toBe('cert-manager');
  });

  it('uses a given ClusterIssuer instead of creating one', async () => {
    const ms = await render({
      set: { 'tls.mode': 'cert-manager', 'tls.certManager.issuerRef.name': 'corp-ca', 'tls.certManager.issuerRef.kind': 'ClusterIssuer' },
    });
    expect(ms.filter((m) => m.kind === 'Issuer')).toEqual([]);
    expect(at(find(ms, 'Certificate'), 'spec.issuerRef')).toEqual({ name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
  });
});

describeHelm('charts/weir: custom release, namespace, CNI dir, replicas, timeouts', () => {
  it('follows the release name and namespace everywhere, and the value overrides', async () => {
    const ms = await render({
      release: 'edge',
      namespace: 'net-ops',
      set: {
        'agent.cniBinDir': '/var/lib/cni/bin',
        'webhook.replicas': '3',
        'webhook.timeoutSeconds': '10',
        'webhook.excludedNamespaces[0]': 'spiderpool',
        'webhook.excludedNamespaces[1]': 'kube-system',
        'webhook.podDisruptionBudget.minAvailable': '2',
      },
    });
    const d = find(ms, 'Deployment', 'edge-weir-webhook');
    expect(at(d, 'spec.replicas')).toBe(3);
    expect(at(find(ms, 'PodDisruptionBudget'), 'spec.minAvailable')).toBe(2);
    const e = env(at(d, 'spec.template.spec.containers.0'));
    expect(e.get('WEIR_SERVICE_NAME')).toBe('edge-weir-webhook');
    expect(e.get('WEIR_TLS_SECRET')).toBe('edge-weir-webhook-tls');
    expect(e.get('WEIR_MUTATING_WEBHOOK')).toBe('edge-weir');
    const mwc = find(ms, 'MutatingWebhookConfiguration', 'edge-weir');
    const pods = at(mwc, 'webhooks.0');
    expect(at(pods, 'timeoutSeconds')).toBe(10);
    expect(at(pods, 'clientConfig.service')).toMatchObject({ name: 'edge-weir-webhook', namespace: 'net-ops' });
    expect(at(pods, 'namespaceSelector.matchExpressions.1.values')).toEqual(['kube-system', 'net-ops', 'spiderpool']);
    expect(at(find(ms, 'ClusterRole', 'edge-weir-webhook'), 'rules.3.resourceNames')).toEqual(['edge-weir']);
    expect(at(find(ms, 'Role', 'edge-weir-webhook'), 'rules.0.resourceNames')).toEqual(['edge-weir-webhook-tls']);
    const ds = find(ms, 'DaemonSet', 'edge-weir-agent');
    const cni = asArray(at(ds, 'spec.template.spec.volumes'), 'volumes').find((v) => at(v, 'name') === 'cni-bin');
    expect(at(cni, 'hostPath.path')).toBe('/var/lib/cni/bin');
    for (const m of ms) if (m.metadata.namespace !== undefined) expect(m.metadata.namespace).toBe('net-ops');
  });

  it('a release named like the chart is not stuttered (weir-weir)', async () => {
    const ms = await render({ release: 'weir-prod' });
    expect(find(ms, 'Deployment').metadata.name).toBe('weir-prod-webhook');
  });
});

describeHelm('charts/weir: values.schema.json refuses wrong values at install', () => {
  it.each([
    ['tls.mode=bogus', { set: { 'tls.mode': 'bogus' } }, "at '/tls/mode': value must be one of 'self-signed', 'cert-manager'"],
    ['webhook.replicas="two"', { setString: { 'webhook.replicas': 'two' } }, "at '/webhook/replicas': got string, want integer"],
    ['webhook.replicas=0', { set: { 'webhook.replicas': '0' } }, "at '/webhook/replicas'"],
    ['webhook.timeoutSeconds=31', { set: { 'webhook.timeoutSeconds': '31' } }, "at '/webhook/timeoutSeconds'"],
    ['agent.cniBinDir relative', { set: { 'agent.cniBinDir': 'opt/cni/bin' } }, "at '/agent/cniBinDir'"],
    ['unknown top-level key', { set: { replicas: '2' } }, "additional properties 'replicas' not allowed"],
    ['misspelt nested key', { set: { 'webhook.replica': '2' } }, "additional properties 'replica' not allowed"],
    ['logLevel=loud', { set: { logLevel: 'loud' } }, "at '/logLevel'"],
  ] as const)('%s', async (_name, opts, message) => {
    const res = await helm(templateArgs(opts));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("values don't meet the specifications of the schema");
    expect(res.stderr).toContain(message);
  });
});

describeHelm('charts/weir: logLevel (issue 16: --set logLevel=trace crash-looped the agent)', () => {
  it('the schema offers exactly the levels both processes accept (common/src/log-levels.ts)', () => {
    const schema: unknown = JSON.parse(readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8'));
    expect(at(schema, 'properties.logLevel.enum')).toEqual([...LOG_LEVELS]);
  });

  it.each(LOG_LEVELS.map((l) => [l]))('--set logLevel=%s renders, and the agent and webhook accept what the chart passes', async (level) => {
    const ms = await render({ set: { logLevel: level } });
    const agentEnv = env(at(find(ms, 'DaemonSet'), 'spec.template.spec.containers.0'));
    const webhookEnv = env(at(find(ms, 'Deployment'), 'spec.template.spec.containers.0'));
    expect(agentEnv.get('WEIR_LOG_LEVEL')).toBe(level);
    expect(webhookEnv.get('WEIR_LOG_LEVEL')).toBe(level);
    const agent = readAgentConfig({ WEIR_NODE_NAME: 'node-a', WEIR_LOG_LEVEL: String(agentEnv.get('WEIR_LOG_LEVEL')) }, '/opt/weir/build/bpf');
    expect(agent.ok && agent.config.logLevel, JSON.stringify(agent)).toBe(level);
    const webhook = parseConfig({ WEIR_NAMESPACE: 'weir-system', WEIR_LOG_LEVEL: String(webhookEnv.get('WEIR_LOG_LEVEL')) });
    expect(webhook.ok && webhook.config.logLevel, JSON.stringify(webhook)).toBe(level);
  });
});

describeHelm('charts/weir: the webhook\'s wait for its caches fits inside webhook.timeoutSeconds', () => {
  it.each([[1], [5], [30]])('webhook.timeoutSeconds=%i reaches the webhook, whose wait is shorter than the API server\'s timeout', async (seconds) => {
    const ms = await render({ set: { 'webhook.timeoutSeconds': String(seconds) } });
    const webhookEnv = env(at(find(ms, 'Deployment'), 'spec.template.spec.containers.0'));
    const timeouts = ms
      .filter((m) => m.kind.endsWith('WebhookConfiguration'))
      .flatMap((m) => asArray(at(m, 'webhooks'), 'webhooks').map((h) => at(h, 'timeoutSeconds')));
    expect(new Set(timeouts)).toEqual(new Set([seconds]));
    const parsed = parseConfig({ WEIR_NAMESPACE: 'weir-system', WEIR_ADMISSION_TIMEOUT_SECONDS: String(webhookEnv.get('WEIR_ADMISSION_TIMEOUT_SECONDS')) });
    expect(parsed.ok && parsed.config.admissionTimeoutSeconds, JSON.stringify(parsed)).toBe(seconds);
    if (parsed.ok) expect(catchUpFor(parsed.config.admissionTimeoutSeconds).timeoutMs).toBeLessThan(seconds * 1_000);
  });
});

describeHelm('charts/weir: a PodDisruptionBudget that would block every drain is refused', () => {
  it.each([
    ['minAvailable == replicas', { set: { 'webhook.podDisruptionBudget.minAvailable': '2' } }, true],
    ['replicas 1 with the default budget', { set: { 'webhook.replicas': '1' } }, true],
    ['replicas 1 without a budget', { set: { 'webhook.replicas': '1', 'webhook.podDisruptionBudget.enabled': 'false' } }, false],
    ['a percentage is left to the user', { setString: { 'webhook.podDisruptionBudget.minAvailable': '50%' } }, false],
  ] as const)('%s', async (_name, opts, refused) => {
    const res = await helm(templateArgs(opts));
    if (refused) {
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain('must be below webhook.replicas');
    } else {
      expect(res.code, res.stderr).toBe(0);
    }
  });
});
