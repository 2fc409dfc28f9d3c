// The chart's RBAC proven by the processes themselves (issue 6, chart tests): the chart is rendered
// by helm and its ServiceAccounts, (Cluster)Roles, bindings and pre-created Secret are applied to
// the real kube-apiserver in a fresh release namespace; its two webhook configurations are applied
// re-pointed to a loopback URL (there is no Service off a cluster). Then:
//  - the REAL webhook process (webhook/src/main.ts, env taken from the chart's Deployment) runs with
//    a client certificate for the webhook ServiceAccount's identity (user
//    system:serviceaccount:<ns>:<sa>, groups system:serviceaccounts[:<ns>], system:authenticated,
//    which is exactly how RBAC sees a pod's token) and must fill its Secret, patch the caBundle of
//    its own configurations, sync its caches, become ready and admit/refuse NADs and pods through
//    the API server;
//  - the agent runs in-process as the agent ServiceAccount with the FAKE datapath
//    (agent/src/datapath/fake.ts): RBAC only concerns its API clients, which are the very classes
//    agent/src/main.ts uses (KubeSources for every watched cache, KubePodEvents for Events), so the
//    BPF datapath would add nothing here. It must sync every cache, become ready and create Events;
//  - with a deliberately trimmed Role the webhook must fail at start-up with an error that names
//    the missing permission.
import { KubeConfig } from '@kubernetes/client-node';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/src/agent.js';
import type { AgentConfig } from '../../agent/src/config.js';
import { FakeDatapath } from '../../agent/src/datapath/fake.js';
import { EndpointRegistry } from '../../agent/src/endpoints/registry.js';
import { KubeEndpointWriter } from '../../agent/src/endpoints/weirendpoint-publish.js';
import { KubePodEvents } from '../../agent/src/kube/events.js';
import { KubeSources } from '../../agent/src/kube/sources.js';
import { parseIntent } from '../../common/src/intent.js';
import { isRecord } from '../../common/src/records.js';
import { tsEntry } from '../../lab/paths.js';
import { freeLoopbackPorts } from '../../harness/controlplane/ports.js';
import { logTail, startDaemon, stopDaemon, type Daemon } from '../../harness/controlplane/procs.js';
import { apiMessage, apiStatus, describeWithApi, ensureNamespace, kubeClients, uniqueName, writeUserKubeconfig } from '../support/kube.js';
import { describeIf } from '../support/privileged.js';
import { asArray, at, helmBinary, render, type Manifest } from '../../harness/chart/helm.js';
import { apiRequest, createObject, describeStatus, objectPath, serviceAccount } from './kubeapi.js';
import { chartWebhookEnv, createWebhookConfigs, webhookConfigsAtUrl } from '../../harness/chart/webhook-url.js';

const NAD = { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions' };
const describeHelm = describeIf(helmBinary() !== null, 'helm is not built (scripts/build-go-tools.sh)');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(150);
  }
}

/** One chart release whose RBAC is applied for real; `trim` edits rules before they are applied. */
interface Release {
  readonly namespace: string;
  readonly full: string;
  readonly manifests: readonly Manifest[];
  readonly webhookKubeconfig: string;
  readonly agentKubeconfig: string;
  readonly clusterScoped: Manifest[];
}

describeWithApi('charts/weir RBAC with the real webhook and agent', (adminKubeconfig) => {
  describeHelm('processes under exactly the chart RBAC', () => {
    const { kc, core, custom } = kubeClients(adminKubeconfig);
    const releases: Release[] = [];
    const daemons: Daemon[] = [];
    let work = '';

    async function install(prefix: string, trim: (m: Manifest) => Manifest = (m) => m): Promise<Release> {
      const namespace = uniqueName(prefix);
      const release = namespace; // unique, so the cluster-scoped names (<release>-weir) are too
      const manifests = await render({ release, namespace });
      const full = `${release}-weir`;
      const rel: Release = {
        namespace,
        full,
        manifests,
        webhookKubeconfig: await writeUserKubeconfig(adminKubeconfig, serviceAccount(namespace, `${full}-webhook`).user, serviceAccount(namespace, `${full}-webhook`).groups),
        agentKubeconfig: await writeUserKubeconfig(adminKubeconfig, serviceAccount(namespace, `${full}-agent`).user, serviceAccount(namespace, `${full}-agent`).groups),
        clusterScoped: [],
      };
      releases.push(rel);
      await ensureNamespace(core, namespace);
      const skip = new Set(['Deployment', 'DaemonSet', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
      for (const m of manifests.filter((x) => !skip.has(x.kind)).map(trim)) {
        const res = await createObject(kc, m, false);
        if (res.status !== 201) throw new Error(`install ${m.kind}/${m.metadata.name}: ${describeStatus(res)}`);
        if (m.metadata.namespace === undefined) rel.clusterScoped.push(m);
      }
      return rel;
    }

    /** Registers the release's webhook configurations at a loopback URL; `narrow` keeps them off every namespace. */
    async function register(rel: Release, port: number, narrow: boolean): Promise<void> {
      const configs = webhookConfigsAtUrl(rel.manifests, `https://127.0.0.1:${port}`);
      if (narrow) {
        for (const c of configs) {
          for (const w of asArray(c.webhooks, 'webhooks')) {
            if (isRecord(w)) w.namespaceSelector = { matchLabels: { [`${rel.namespace}-never`]: 'set' } };
          }
        }
      }
      await createWebhookConfigs(kc, configs);
      rel.clusterScoped.unshift(...configs); // deleted first: a fail-closed hook must not outlive its server
    }

    function startWebhook(rel: Release, webhookPort: number, healthPort: number): Daemon {
      const { command, args } = tsEntry('webhook/src/main.ts');
      const env = {
        ...process.env,
        ...chartWebhookEnv(rel.manifests, `${rel.full}-webhook`, rel.namespace),
        // Only what a pod gets from elsewhere: its ports (loopback here) and its credentials.
        WEIR_WEBHOOK_PORT: String(webhookPort),
        WEIR_HEALTH_PORT: String(healthPort),
        WEIR_LISTEN_HOST: '127.0.0.1',
        KUBECONFIG: rel.webhookKubeconfig,
      };
      const d = startDaemon(`webhook-${rel.namespace}`, command, args, join(work, `webhook-${rel.namespace}.log`), env);
      daemons.push(d);
      return d;
    }

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'h13-rbac-'));
    });

    afterAll(async () => {
      for (const rel of releases) {
        for (const m of rel.clusterScoped) await apiRequest(kc, 'DELETE', objectPath(m)).catch(() => undefined);
      }
      for (const d of daemons) await stopDaemon(d, 5_000);
      // No controller-manager: the namespaces stay Terminating; their names are unique anyway.
      for (const rel of releases) await apiRequest(kc, 'DELETE', `/api/v1/namespaces/${rel.namespace}`).catch(() => undefined);
      if (work !== '') await rm(work, { recursive: true, force: true });
    });

    describe('the webhook as its ServiceAccount', () => {
      let rel: Release;
      let webhook: Daemon;
      let healthPort = 0;
      const appNs = uniqueName('h13-app');

      beforeAll(async () => {
        rel = await install('h13-wh');
        const [webhookPort = 0, hp = 0] = await freeLoopbackPorts(2);
        healthPort = hp;
        await register(rel, webhookPort, false);
        webhook = startWebhook(rel, webhookPort, healthPort);
        await waitFor('the webhook /readyz', 45_000, async () => {
          if (webhook.hasExited()) throw new Error(`the webhook exited during start-up:\n${logTail(webhook)}`);
          const ok = await fetch(`http://127.0.0.1:${healthPort}/readyz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
          return ok ? true : undefined;
        });
        await ensureNamespace(core, appNs, { labels: { 'weir.dev/inject': 'enabled' } });
      }, 60_000);

      it('fills its pre-created Secret and patches the caBundle of every webhook of its own two configurations', async () => {
        const secret = await core.readNamespacedSecret({ name: `${rel.full}-webhook-tls`, namespace: rel.namespace });
        const ca = Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString('utf8');
        expect(ca).toContain('BEGIN CERTIFICATE');
        for (const k of ['tls.crt', 'tls.key']) expect(secret.data?.[k] ?? '', k).not.toBe('');
        // The chart's labels and keep-policy survive the webhook's update.
        expect(secret.metadata?.annotations?.['helm.sh/resource-policy']).toBe('keep');
        for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
          const res = await apiRequest(kc, 'GET', `/apis/admissionregistration.k8s.io/v1/${kind}/${rel.full}`);
          const hooks = asArray(at(res.body, 'webhooks'), `${kind} webhooks`);
          expect(hooks).toHaveLength(2);
          for (const h of hooks) expect(Buffer.from(String(at(h, 'clientConfig.caBundle')), 'base64').toString('utf8')).toBe(ca);
        }
        const log = await readFile(webhook.logPath, 'utf8');
        expect(log).not.toMatch(/forbidden/i);
        expect(log).toContain('caches synced');
      });

      it('admits a NAD (weir inserted) and refuses a misconfigured one, through the API server', async () => {
        const nad = (name: string, plugins: unknown[], annotations: Record<string, string> = {}) => ({
          apiVersion: 'k8s.cni.cncf.io/v1',
          kind: 'NetworkAttachmentDefinition',
          metadata: { name, namespace: appNs, annotations },
          spec: { config: JSON.stringify({ cniVersion: '1.0.0', name, plugins }) },
        });
        const macvlan = { type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'host-local', subnet: '10.77.0.0/24' } };
        // The API server's webhook-configuration informer may lag the caBundle patch a moment: retry.
        const types = await waitFor('the NAD webhook to mutate', 15_000, async () => {
          await custom.deleteNamespacedCustomObject({ ...NAD, namespace: appNs, name: 'macvlan-a' }).catch(() => undefined);
          const stored: unknown = await custom.createNamespacedCustomObject({ ...NAD, namespace: appNs, body: nad('macvlan-a', [macvlan], { 'weir.dev/chain': 'enabled' }) });
          const cfg: unknown = JSON.parse(String(at(stored, 'spec.config')));
          const t = asArray(at(cfg, 'plugins'), 'plugins').map((p) => at(p, 'type'));
          return t.includes('weir') ? t : undefined;
        });
        expect(types).toEqual(['macvlan', 'weir']);
        const typo = await custom.createNamespacedCustomObject({ ...NAD, namespace: appNs, body: nad('typo', [macvlan, { type: 'coordinattor' }]) }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(apiStatus(typo)).toBe(403);
        expect(apiMessage(typo)).toMatch(/^admission webhook "nads\.(mutate|validate)\.weir\.dev" denied the request: .*did you mean "coordinator"/s);
      });

      // Issue 16: the chart's NAD webhook has no namespaceSelector, so it sees every NAD in the
      // cluster; only NADs in Weir's scope may be refused. A namespace that is not opted in holds
      // the NADs other network stacks write: no IPAM, no weir.
      it('admits a DPDK SR-IOV, a host-device and a bridge NAD without IPAM outside Weir\'s scope, and refuses them inside it', async () => {
        const plainNs = uniqueName('h16-plain');
        await ensureNamespace(core, plainNs);
        const nad = (ns: string, name: string, plugin: Record<string, unknown>, annotations: Record<string, string> = {}) => ({
          apiVersion: 'k8s.cni.cncf.io/v1',
          kind: 'NetworkAttachmentDefinition',
          metadata: { name, namespace: ns, annotations },
          spec: { config: JSON.stringify({ cniVersion: '1.0.0', name, plugins: [plugin] }) },
        });
        const create = (body: ReturnType<typeof nad>) =>
          custom.createNamespacedCustomObject({ ...NAD, namespace: body.metadata.namespace, body }).then(
            () => undefined,
            (e: unknown) => e,
          );
        const plugins: ReadonlyArray<[string, Record<string, unknown>]> = [
          ['dpdk', { type: 'sriov', resourceName: 'intel.com/sriov_dpdk', vlan: 100 }],
          ['hostdev', { type: 'host-device', pciBusID: '0000:af:00.1' }],
          ['l2bridge', { type: 'bridge', bridge: 'br1', macspoofchk: true }],
        ];
        // The webhook answers (its configuration is live): the control case below is refused.
        const control = await waitFor('the NAD webhook to refuse a weir chain without IPAM', 15_000, async () => {
          await custom.deleteNamespacedCustomObject({ ...NAD, namespace: plainNs, name: 'control' }).catch(() => undefined);
          const err = await create(nad(plainNs, 'control', { type: 'host-device', device: 'eth9' }, { 'weir.dev/chain': 'enabled' }));
          return apiStatus(err) === 403 ? err : undefined;
        });
        expect(apiMessage(control)).toMatch(/NAD_IPAM_MISSING/);
        for (const [name, plugin] of plugins) {
          // Without weir: in a plain namespace (outside Weir's scope) and in the opted-in one (in
          // scope, but not a Weir chain, so IPAM is not required): admitted.
          for (const ns of [plainNs, appNs]) {
            const err = await create(nad(ns, name, plugin));
            expect(err, `${ns}/${name}: ${apiMessage(err) ?? ''}`).toBeUndefined();
          }
          // In a Weir chain: refused, saying Weir needs the pod's IPs.
          const refused = await create(nad(plainNs, `${name}-weir`, plugin, { 'weir.dev/chain': 'enabled' }));
          expect(apiStatus(refused)).toBe(403);
          expect(apiMessage(refused)).toMatch(/^admission webhook "nads\.validate\.weir\.dev" denied the request: spec\.config\.plugins\[0\]\.ipam: .*needs the pod's IPs.*\[NAD_IPAM_MISSING\]$/s);
        }
      });

      it('admits a pod (weir.dev/intent written) and refuses a misconfigured one, through the API server', async () => {
        const pod = (name: string, annotations: Record<string, string>) => ({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace: appNs, annotations },
          spec: { containers: [{ name: 'c', image: 'registry.invalid/pause:3' }] },
        });
        // Allowed once the webhook's NAD cache holds macvlan-a (watched as its ServiceAccount).
        const stored = await waitFor('the pod to be admitted', 15_000, async () => {
          try {
            return await core.createNamespacedPod({
              namespace: appNs,
              body: pod('ok', { 'v1.multus-cni.io/default-network': `${appNs}/macvlan-a`, 'kubernetes.io/egress-bandwidth': '5M' }),
            });
          } catch (err) {
            if (apiStatus(err) !== 403) throw err;
            return undefined;
          }
        });
        const intent = parseIntent(stored.metadata?.annotations?.['weir.dev/intent'] ?? '');
        expect(intent.ok).toBe(true);
        if (intent.ok) {
          expect(intent.intent.networks.map((n) => [n.nad, n.interface])).toEqual([[`${appNs}/macvlan-a`, 'eth0']]);
          expect(intent.intent.bandwidth).toEqual({ egressBitsPerSecond: 5_000_000 });
        }
        const refused = await core.createNamespacedPod({ namespace: appNs, body: pod('bad', { 'k8s.v1.cni.cncf.io/networks': 'nope' }) }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(apiStatus(refused)).toBe(403);
        expect(apiMessage(refused)).toMatch(/^admission webhook "pods\.(mutate|validate)\.weir\.dev" denied the request: .*nope/s);
      });
    });

    describe('the agent as its ServiceAccount (in-process, fake datapath)', () => {
      let agent: Agent | undefined;
      let agentSource: KubeSources | undefined;
      const watchErrors: string[] = [];
      const eventErrors: string[] = [];
      const podNs = uniqueName('h13-agent');

      beforeAll(async () => {
        const rel = await install('h13-ag');
        const agentKc = new KubeConfig();
        agentKc.loadFromFile(rel.agentKubeconfig);
        const stateDir = join(work, 'agent-state');
        const config: AgentConfig = {
          nodeName: 'h13-node', pinRoot: '/nonexistent', cniSocket: '/nonexistent', apiPort: 1, metricsPort: 1, metricsHost: '127.0.0.1',
          bpfObjectDir: '/nonexistent', netnsDir: '/var/run/netns', stateDir, logLevel: 'warn', resyncSeconds: 3600, attachCheckSeconds: 3600,
        };
        const text = (e: unknown): string => apiMessage(e) ?? (e instanceof Error ? e.message : String(e));
        const source = new KubeSources(agentKc, (resource, error) => watchErrors.push(`${resource}: ${text(error)}`));
        agentSource = source;
        agent = new Agent({
          config,
          datapath: new FakeDatapath(),
          probe: { check: async () => ({ kind: 'attached' }) },
          source,
          registry: new EndpointRegistry(stateDir),
          log: pino({ level: 'warn' }),
          events: new KubePodEvents(agentKc, 'weir-agent', (e) => eventErrors.push(text(e))),
          endpoints: new KubeEndpointWriter(agentKc),
          syncTimeoutMs: 20_000,
        });
        await ensureNamespace(core, podNs);
        await agent.start();
      }, 60_000);

      afterAll(async () => {
        await agent?.stop();
      });

      it('syncs every cache (pods, namespaces, NetworkPolicies, MultiNetworkPolicies, ANP/BANP, NADs) and becomes ready', () => {
        // Transient failures are retried and allowed (a fresh API server answers 429 "storage is
        // (re)initializing" for new CRDs); a refusal never is.
        expect(watchErrors.filter((e) => /forbidden|unauthorized/i.test(e))).toEqual([]);
        expect(agentSource?.unsynced()).toEqual([]);
        expect(agent?.isReady).toBe(true);
        expect(agent?.status().ready).toBe(true);
      });

      it('creates a Warning Event on a pod whose weir.dev/intent it ignores', async () => {
        // Not an opted-in namespace: no webhook rewrote the forged intent, so the agent does not trust it.
        const pod = await core.createNamespacedPod({
          namespace: podNs,
          body: { metadata: { name: 'forged', annotations: { 'weir.dev/intent': '{"not":"an intent"}' } }, spec: { nodeName: 'h13-node', containers: [{ name: 'c', image: 'registry.invalid/pause:3' }] } },
        });
        const event = await waitFor('the agent Event', 15_000, async () => {
          if (eventErrors.length > 0) throw new Error(`the agent could not create its Event: ${eventErrors.join('; ')}`);
          const list = await core.listNamespacedEvent({ namespace: podNs });
          return list.items.find((e) => e.involvedObject.uid === pod.metadata?.uid && e.reason === 'WeirIntentIgnored');
        });
        expect(event.type).toBe('Warning');
        expect(event.source?.component).toBe('weir-agent');
        expect(event.message).toMatch(/weir\.dev\/intent is ignored/);
      });

      it('publishes a WeirEndpoint as its ServiceAccount; a namespace admin cannot write one', async () => {
        const pod = await core.createNamespacedPod({
          namespace: podNs, body: { metadata: { name: 'bound' }, spec: { nodeName: 'h13-node', containers: [{ name: 'c', image: 'registry.invalid/pause:3' }] } },
        });
        const res = await agent?.handleCni({
          command: 'ADD', cniVersion: '1.0.0', networkName: 'n', config: {}, args: {}, rawArgs: '', path: [], runtimeConfig: {},
          attachment: { containerId: 'ctr-bound', ifName: 'eth0', netns: '/var/run/netns/none' },
          pod: { namespace: podNs, name: 'bound', uid: pod.metadata?.uid ?? '' },
          prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.123.0.5/24' }] },
        }, new AbortController().signal);
        expect(res).toEqual({ ok: true });
        const ref = { group: 'weir.dev', version: 'v1alpha1', plural: 'weirendpoints', namespace: podNs, name: 'bound' };
        const stored = await waitFor('the WeirEndpoint', 15_000, async (): Promise<unknown> => custom.getNamespacedCustomObject(ref).catch(() => undefined));
        expect(stored).toMatchObject({ spec: { podUID: pod.metadata?.uid, nodeName: 'h13-node', interfaces: [{ name: 'eth0', ips: ['10.123.0.5'] }] } });
        expect(stored).toMatchObject({ metadata: { ownerReferences: [{ kind: 'Pod', name: 'bound', uid: pod.metadata?.uid }] } });
        // A tenant who may do anything to pods and NADs in its namespace (what admin/edit grant; the
        // chart aggregates nothing of weir.dev into them, see render.test.ts) cannot touch WeirEndpoints.
        for (const m of [
          { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'tenant', namespace: podNs },
            rules: [{ apiGroups: ['', 'k8s.cni.cncf.io'], resources: ['*'], verbs: ['*'] }] },
          { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'tenant', namespace: podNs },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant' }, subjects: [{ kind: 'User', name: 'h13-tenant', apiGroup: 'rbac.authorization.k8s.io' }] },
        ]) {
          const created = await createObject(kc, m, false);
          expect(created.status, describeStatus(created)).toBe(201);
        }
        const tenant = kubeClients(await writeUserKubeconfig(adminKubeconfig, 'h13-tenant'));
        // First the tenant's own power (so the refusals below are not just RBAC not caught up yet).
        await waitFor('the tenant may patch pods', 15_000, async () =>
          tenant.core.patchNamespacedPod({ namespace: podNs, name: 'bound', body: [{ op: 'add', path: '/metadata/labels', value: { tenant: 'can' } }] }).catch(() => undefined));
        const forge = { ...ref, name: 'forged', body: { apiVersion: 'weir.dev/v1alpha1', kind: 'WeirEndpoint', metadata: { name: 'forged' }, spec: { podUID: 'x', nodeName: 'n', interfaces: [] } } };
        await expect(tenant.custom.createNamespacedCustomObject(forge)).rejects.toSatisfy((e: unknown) => apiStatus(e) === 403);
        await expect(tenant.custom.deleteNamespacedCustomObject(ref)).rejects.toSatisfy((e: unknown) => apiStatus(e) === 403);
      });
    });

    // Each case removes one permission the webhook needs at start-up (self-signed mode) and expects
    // the process to stop with an error that names it, instead of serving without a CA published.
    const trims: readonly [string, (m: Manifest) => Manifest, RegExp][] = [
      [
        'update/patch on its webhook configurations (get kept)',
        (m) => withRules(m, 'ClusterRole', (r) => (at(r, 'apiGroups.0') === 'admissionregistration.k8s.io' ? { ...r, verbs: ['get'] } : r)),
        /cannot update resource "(mutating|validating)webhookconfigurations" in API group "admissionregistration\.k8s\.io"/,
      ],
      [
        'update/patch on its Secret (get kept)',
        (m) => withRules(m, 'Role', (r) => ({ ...r, verbs: ['get'] })),
        /cannot update resource "secrets" in API group "" in the namespace/,
      ],
    ];

    it.each(trims)('with a Role trimmed of %s, the webhook exits with an error naming the permission', async (_what, trim, expected) => {
      const rel = await install('h13-neg', trim);
      const [webhookPort = 0, healthPort = 0] = await freeLoopbackPorts(2);
      await register(rel, webhookPort, true);
      const d = startWebhook(rel, webhookPort, healthPort);
      const outcome = await Promise.race([d.exited, sleep(30_000).then(() => 'still running after 30 s')]);
      const log = await readFile(d.logPath, 'utf8');
      expect(outcome, log).toMatch(/exited \(code 1,/);
      const lastLine = log.trim().split('\n').at(-1) ?? '';
      expect(lastLine, log).toMatch(/^weir webhook: API server refused \(HTTP 403\): /);
      expect(lastLine, log).toMatch(expected);
      expect(lastLine).toContain(`system:serviceaccount:${rel.namespace}:${rel.full}-webhook`);
    }, 45_000);
  });
});

/** A copy of `m` with `edit` applied to each rule, when `m` is of `kind` and carries Weir's webhook component. */
function withRules(m: Manifest, kind: string, edit: (rule: Record<string, unknown>) => Record<string, unknown>): Manifest {
  if (m.kind !== kind) return m;
  const labels = at(m, 'metadata.labels');
  if (!isRecord(labels) || labels['app.kubernetes.io/component'] !== 'webhook') return m;
  const rules = asArray(m.rules, `${m.kind}/${m.metadata.name} rules`).map((r) => (isRecord(r) ? edit(r) : r));
  return { ...m, rules };
}
