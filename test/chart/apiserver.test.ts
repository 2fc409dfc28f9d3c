// The chart against the real kube-apiserver: every rendered manifest passes a server-side dry run
// with strict field validation, and the chart's RBAC, installed for real, gives its ServiceAccounts
// exactly the access the design grants (SubjectAccessReview, then real requests under impersonation).
//
// Phase 2 (not here yet): run the actual webhook and agent processes against this API server with
// a kubeconfig that impersonates their ServiceAccounts, and check that they start, sync and work
// under exactly these rules.
import { randomBytes } from 'node:crypto';
import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithApi, kubeClients } from '../support/kube.js';
import { describeIf } from '../support/privileged.js';
import { certManagerCrds } from './cert-manager-crds.js';
import { helmBinary, render, type Manifest, type RenderOptions } from '../../harness/chart/helm.js';
import { apiRequest, createObject, describeStatus, objectPath, serviceAccount, type Impersonation } from './kubeapi.js';

// Set when the shared control plane hands this file its admin kubeconfig (describeWithApi).
let kc: KubeConfig | null = null;
const describeHelm = describeIf(helmBinary() !== null, 'helm is not built (scripts/build-go-tools.sh)');

const suffix = randomBytes(3).toString('hex');
const ns = `h6-chart-${suffix}`;

function requireKc(): KubeConfig {
  if (kc === null) throw new Error('unreachable: suite runs only with a kubeconfig');
  return kc;
}

async function ensureCreated(m: Manifest): Promise<void> {
  const res = await createObject(requireKc(), m, false);
  if (res.status !== 201 && res.status !== 409) throw new Error(`${m.kind}/${m.metadata.name}: ${describeStatus(res)}`);
}

async function waitEstablished(name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const res = await apiRequest(requireKc(), 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    const conds = (res.body as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
    if (conds.some((c) => c.type === 'Established' && c.status === 'True')) {
      // Discovery lags Established a little; a served resource answers a list.
      const list = await apiRequest(requireKc(), 'GET', `/apis/cert-manager.io/v1/${name.split('.')[0] ?? ''}`);
      if (list.status === 200) return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`CRD ${name} not established within 30s`);
}

describeWithApi('charts/weir on the real kube-apiserver', (kubeconfigPath) => {
  kc = kubeClients(kubeconfigPath).kc;
  describeHelm('rendered by helm', () => {
    chartSuite();
  });
});

function chartSuite(): void {
  beforeAll(async () => {
    await ensureCreated({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    // cert-manager is not installed in the test control plane: minimal CRDs stand in for it.
    for (const crd of certManagerCrds) await ensureCreated(crd);
    for (const crd of certManagerCrds) await waitEstablished(crd.metadata.name);
  });

  afterAll(async () => {
    if (kc === null) return;
    // The namespace takes its namespaced objects with it. The cert-manager stand-in CRDs stay:
    // another suite may be using them, and they are identical whoever created them.
    await apiRequest(kc, 'DELETE', `/api/v1/namespaces/${ns}`);
  });

  const combos: readonly [string, RenderOptions][] = [
    ['default values', {}],
    ['cert-manager with a self-signed Issuer', { set: { 'tls.mode': 'cert-manager' } }],
    ['cert-manager with a ClusterIssuer', { set: { 'tls.mode': 'cert-manager', 'tls.certManager.issuerRef.name': 'corp', 'tls.certManager.issuerRef.kind': 'ClusterIssuer' } }],
    [
      'custom release, CNI dir, replicas, exclusions',
      {
        release: `edge-${suffix}`,
        set: { 'agent.cniBinDir': '/var/lib/cni/bin', 'webhook.replicas': '3', 'webhook.excludedNamespaces[0]': 'spiderpool', 'webhook.priorityClassName': 'system-cluster-critical' },
      },
    ],
  ];

  it.each(combos)('server-side dry run accepts every manifest (%s), with no warnings', async (_name, opts) => {
    const ms = await render({ release: `dry-${suffix}`, ...opts, namespace: ns });
    expect(ms.length).toBeGreaterThan(10);
    const failures: string[] = [];
    for (const m of ms) {
      const res = await createObject(requireKc(), m, true);
      if (res.status !== 201) {
        // The agent must be privileged; every cluster that runs CNI DaemonSets allows it, but a bare
        // kube-apiserver refuses it unless started with --allow-privileged=true.
        const hint = JSON.stringify(res.body).includes('privileged: Forbidden')
          ? ' (start the test kube-apiserver with --allow-privileged=true)'
          : '';
        failures.push(`${m.kind}/${m.metadata.name}: ${describeStatus(res)}${hint}`);
      }
      else if (res.warnings.length > 0) failures.push(`${m.kind}/${m.metadata.name}: warnings ${res.warnings.join(' | ')}`);
    }
    expect(failures).toEqual([]);
  });

  it('server-side dry run refuses a broken manifest (the check has teeth)', async () => {
    const [svc] = (await render({ namespace: ns })).filter((m) => m.kind === 'Service');
    if (svc === undefined) throw new Error('no Service rendered');
    const broken: Manifest = { ...svc, spec: { ...(svc.spec as object), portz: [] } };
    const res = await createObject(requireKc(), broken, true);
    expect(res.status, describeStatus(res)).toBe(400);
    expect(JSON.stringify(res.body)).toContain('portz');
  });

  describe('RBAC, installed for real (default self-signed mode)', () => {
    const release = `rbac-${suffix}`;
    const full = `${release}-weir`;
    const webhookSa = serviceAccount(ns, `${full}-webhook`);
    const agentSa = serviceAccount(ns, `${full}-agent`);
    const decoy = `decoy-${suffix}`;
    const created: Manifest[] = [];

    const decoyHook = {
      name: 'decoy.weir.dev',
      clientConfig: { url: 'https://127.0.0.1:1/decoy' },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
      namespaceSelector: { matchLabels: { [`decoy-${suffix}`]: 'never-set' } },
      failurePolicy: 'Ignore',
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
    };

    beforeAll(async () => {
      const ms = await render({ release, namespace: ns });
      // The workloads are irrelevant to RBAC and would only sit Pending without a scheduler.
      for (const m of ms.filter((x) => x.kind !== 'Deployment' && x.kind !== 'DaemonSet')) {
        const res = await createObject(requireKc(), m, false);
        if (res.status !== 201) throw new Error(`install ${m.kind}/${m.metadata.name}: ${describeStatus(res)}`);
        created.push(m);
      }
      // Someone else's webhook configuration and Secret, which the webhook must not touch.
      const decoys: Manifest[] = [
        { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: decoy }, webhooks: [decoyHook] },
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: decoy, namespace: ns }, type: 'Opaque', data: { k: 'dg==' } },
      ];
      for (const m of decoys) {
        const res = await createObject(requireKc(), m, false);
        if (res.status !== 201) throw new Error(`decoy ${m.kind}: ${describeStatus(res)}`);
        created.push(m);
      }
    });

    afterAll(async () => {
      if (kc === null) return;
      for (const m of created) if (m.metadata.namespace === undefined) await apiRequest(kc, 'DELETE', objectPath(m));
    });

    interface Access {
      readonly verb: string;
      readonly resource: string;
      readonly group?: string;
      readonly namespace?: string;
      readonly name?: string;
    }

    async function allowed(who: Impersonation, a: Access): Promise<boolean> {
      const api = requireKc().makeApiClient(AuthorizationV1Api);
      const review = await api.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: who.user,
            groups: [...who.groups],
            resourceAttributes: { verb: a.verb, resource: a.resource, group: a.group ?? '', namespace: a.namespace, name: a.name },
          },
        },
      });
      return review.status?.allowed === true;
    }

    const own = () => full;
    const ownSecret = () => `${full}-webhook-tls`;
    const ar = 'admissionregistration.k8s.io';

    it.each<[string, Access, boolean]>([
      ['patch its own MutatingWebhookConfiguration', { verb: 'patch', resource: 'mutatingwebhookconfigurations', group: ar, name: own() }, true],
      ['update its own ValidatingWebhookConfiguration', { verb: 'update', resource: 'validatingwebhookconfigurations', group: ar, name: own() }, true],
      ['get its own MutatingWebhookConfiguration', { verb: 'get', resource: 'mutatingwebhookconfigurations', group: ar, name: own() }, true],
      ["patch someone else's MutatingWebhookConfiguration", { verb: 'patch', resource: 'mutatingwebhookconfigurations', group: ar, name: decoy }, false],
      ["patch someone else's ValidatingWebhookConfiguration", { verb: 'patch', resource: 'validatingwebhookconfigurations', group: ar, name: decoy }, false],
      ['create webhook configurations', { verb: 'create', resource: 'mutatingwebhookconfigurations', group: ar }, false],
      ['delete its own webhook configuration', { verb: 'delete', resource: 'mutatingwebhookconfigurations', group: ar, name: own() }, false],
      ['list webhook configurations', { verb: 'list', resource: 'validatingwebhookconfigurations', group: ar }, false],
      ['get its own Secret', { verb: 'get', resource: 'secrets', namespace: ns, name: ownSecret() }, true],
      ['update its own Secret', { verb: 'update', resource: 'secrets', namespace: ns, name: ownSecret() }, true],
      ['patch its own Secret', { verb: 'patch', resource: 'secrets', namespace: ns, name: ownSecret() }, true],
      ['get another Secret in its namespace', { verb: 'get', resource: 'secrets', namespace: ns, name: decoy }, false],
      ['get a same-named Secret in another namespace', { verb: 'get', resource: 'secrets', namespace: 'default', name: ownSecret() }, false],
      ['list Secrets', { verb: 'list', resource: 'secrets', namespace: ns }, false],
      ['create Secrets', { verb: 'create', resource: 'secrets', namespace: ns }, false],
      ['delete its own Secret', { verb: 'delete', resource: 'secrets', namespace: ns, name: ownSecret() }, false],
      ['watch namespaces', { verb: 'watch', resource: 'namespaces' }, true],
      ['list NADs in any namespace', { verb: 'list', resource: 'network-attachment-definitions', group: 'k8s.cni.cncf.io' }, true],
      ['watch SpiderCoordinators', { verb: 'watch', resource: 'spidercoordinators', group: 'spiderpool.spidernet.io' }, true],
      ['update NADs', { verb: 'update', resource: 'network-attachment-definitions', group: 'k8s.cni.cncf.io', namespace: 'default', name: 'x' }, false],
      ['get pods', { verb: 'get', resource: 'pods', namespace: 'default', name: 'x' }, false],
    ])('webhook ServiceAccount: %s → %s', async (_what, access, expected) => {
      expect(await allowed(webhookSa, access)).toBe(expected);
    });

    it.each<[string, Access, boolean]>([
      ['list NetworkPolicies in all namespaces', { verb: 'list', resource: 'networkpolicies', group: 'networking.k8s.io' }, true],
      ['watch pods', { verb: 'watch', resource: 'pods' }, true],
      ['list namespaces', { verb: 'list', resource: 'namespaces' }, true],
      ['watch MultiNetworkPolicies', { verb: 'watch', resource: 'multi-networkpolicies', group: 'k8s.cni.cncf.io' }, true],
      ['list NADs', { verb: 'list', resource: 'network-attachment-definitions', group: 'k8s.cni.cncf.io' }, true],
      ['watch ClusterNetworkPolicies', { verb: 'watch', resource: 'clusternetworkpolicies', group: 'policy.networking.k8s.io' }, true],
      ['watch AdminNetworkPolicies', { verb: 'watch', resource: 'adminnetworkpolicies', group: 'policy.networking.k8s.io' }, true],
      ['watch BaselineAdminNetworkPolicies', { verb: 'watch', resource: 'baselineadminnetworkpolicies', group: 'policy.networking.k8s.io' }, true],
      ['get its Node', { verb: 'get', resource: 'nodes', name: 'node-a' }, true],
      ['create pods', { verb: 'create', resource: 'pods', namespace: 'default' }, false],
      ['delete pods', { verb: 'delete', resource: 'pods', namespace: 'default', name: 'x' }, false],
      ['create NetworkPolicies', { verb: 'create', resource: 'networkpolicies', group: 'networking.k8s.io', namespace: 'default' }, false],
      // ClusterNetworkPolicy `nodes` peers are the selected Nodes' addresses.
      ['watch nodes', { verb: 'watch', resource: 'nodes' }, true],
      ['update nodes', { verb: 'update', resource: 'nodes', name: 'node-a' }, false],
      ['get Secrets', { verb: 'get', resource: 'secrets', namespace: ns, name: ownSecret() }, false],
      ['patch webhook configurations', { verb: 'patch', resource: 'mutatingwebhookconfigurations', group: ar, name: own() }, false],
    ])('agent ServiceAccount: %s → %s', async (_what, access, expected) => {
      expect(await allowed(agentSa, access)).toBe(expected);
    });

    // The same rules exercised with real requests made as the ServiceAccounts: what the webhook does
    // at start-up in self-signed mode (fill its Secret, patch its caBundle), and what it must not do.
    const pem = Buffer.from('-----BEGIN CERTIFICATE-----\nZmFrZQ==\n-----END CERTIFICATE-----\n').toString('base64');

    it('as the webhook: fills its own pre-created Secret, cannot read or create others', async () => {
      const k = requireKc();
      const get = await apiRequest(k, 'GET', `/api/v1/namespaces/${ns}/secrets/${ownSecret()}`, undefined, { as: webhookSa });
      expect(get.status, describeStatus(get)).toBe(200);
      const patch = await apiRequest(
        k,
        'PATCH',
        `/api/v1/namespaces/${ns}/secrets/${ownSecret()}`,
        { data: { 'ca.crt': pem, 'tls.crt': pem, 'tls.key': pem } },
        { as: webhookSa, contentType: 'application/merge-patch+json' },
      );
      expect(patch.status, describeStatus(patch)).toBe(200);
      const other = await apiRequest(k, 'GET', `/api/v1/namespaces/${ns}/secrets/${decoy}`, undefined, { as: webhookSa });
      expect(other.status).toBe(403);
      const list = await apiRequest(k, 'GET', `/api/v1/namespaces/${ns}/secrets`, undefined, { as: webhookSa });
      expect(list.status).toBe(403);
      const create = await apiRequest(
        k,
        'POST',
        `/api/v1/namespaces/${ns}/secrets`,
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: `x-${suffix}` } },
        { as: webhookSa },
      );
      expect(create.status).toBe(403);
    });

    it("as the webhook: patches the caBundle of its own configurations, not someone else's", async () => {
      const k = requireKc();
      const ops = [{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: pem }];
      for (const plural of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
        const res = await apiRequest(k, 'PATCH', `/apis/${ar}/v1/${plural}/${own()}`, ops, {
          as: webhookSa,
          contentType: 'application/json-patch+json',
        });
        expect(res.status, `${plural}: ${describeStatus(res)}`).toBe(200);
        expect((res.body as { webhooks: { clientConfig: { caBundle?: string } }[] }).webhooks[0]?.clientConfig.caBundle).toBe(pem);
      }
      const stolen = await apiRequest(k, 'PATCH', `/apis/${ar}/v1/mutatingwebhookconfigurations/${decoy}`, ops, {
        as: webhookSa,
        contentType: 'application/json-patch+json',
      });
      expect(stolen.status).toBe(403);
    });

    it('as the agent: lists NetworkPolicies and pods, cannot create a pod', async () => {
      const k = requireKc();
      const np = await apiRequest(k, 'GET', '/apis/networking.k8s.io/v1/networkpolicies', undefined, { as: agentSa });
      expect(np.status, describeStatus(np)).toBe(200);
      const pods = await apiRequest(k, 'GET', '/api/v1/pods?limit=1', undefined, { as: agentSa });
      expect(pods.status).toBe(200);
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `x-${suffix}` },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      };
      const create = await apiRequest(k, 'POST', `/api/v1/namespaces/${ns}/pods`, pod, { as: agentSa });
      expect(create.status).toBe(403);
    });
  });
}
