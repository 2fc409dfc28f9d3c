/**
 * The webhook against the real kube-apiserver: self-signed TLS publishes its caBundle into both
 * webhook configurations (registered by clientConfig.url on loopback), NADs and pods go through the
 * API server, and we assert what it stored and the exact denial text it returned. The expected
 * text and stored annotations are computed by running the same pure decisions in-process
 * (mutate → apply patch → validate), so the test checks the server and the wiring, not the rules.
 */
import { AdmissionregistrationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseIntent } from '../../common/src/intent.js';
import { denialMessage, mutateNad, mutatePod, validateNad, validatePod } from '../../webhook/src/decide/index.js';
import type { ClusterView, Decision, Refusal } from '../../webhook/src/server/contract.js';
import { applyPatch } from '../../webhook/src/decide/testing.js';
import { statusCause } from '../../webhook/src/server/route.js';
import { runWebhook, type RunningWebhook } from '../../webhook/src/server/run.js';
import { splitPemBundle } from '../../webhook/src/tls/certs.js';
import type { RotationPolicy } from '../../webhook/src/tls/plan.js';
import { ApiException } from '@kubernetes/client-node';
import { apiMessage, apiStatus, describeWithApi, ensureNamespace, kubeClients, uniqueName } from '../support/kube.js';

const DAY = 24 * 3600 * 1000;
const NAD_GROUP = { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions' };
const COORD = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spidercoordinators' };

/**
 * Certificates are issued at the injected clock's time and must be valid for the real API server,
 * so the clock only moves from the past towards now: -100 d (created), -40 d (serving renewal,
 * same CA), 0 (CA rotation phase A), +2 min (phase B; within the issuer's 5 min backdate).
 */
const POLICY: RotationPolicy = {
  caValidityMs: 400 * DAY,
  servingValidityMs: 150 * DAY,
  renewCaBeforeMs: 320 * DAY,
  renewServingBeforeMs: 100 * DAY,
  caPropagationMs: 60_000,
};

type Expected =
  | { kind: 'allowed'; annotations: Record<string, string>; object: Record<string, unknown> }
  | { kind: 'denied'; text: string; refusals: Refusal[] };

/** status.details of the Status an API error carries (what the API server passed on from the webhook). */
function apiDetails(err: unknown): unknown {
  if (!(err instanceof ApiException) || typeof err.body !== 'string') return undefined;
  const status = JSON.parse(err.body) as { details?: unknown };
  return status.details;
}

function annotationsOf(obj: unknown): Record<string, string> {
  const a = (obj as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations;
  return { ...(a ?? {}) };
}

describeWithApi('webhook server against the real API server', (kubeconfig) => {
  const { kc, core, custom } = kubeClients(kubeconfig);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const id = uniqueName('h7wh');
  const sysNs = `${id}-sys`;
  const onNs = `${id}-on`;
  const offNs = `${id}-off`;
  const configName = id;
  const coordinatorName = `${id}-coord`;
  const hook = {
    mutatePods: `mutate-pods.${id}.weir.dev`,
    validatePods: `validate-pods.${id}.weir.dev`,
    mutateNads: `mutate-nads.${id}.weir.dev`,
    validateNads: `validate-nads.${id}.weir.dev`,
  };
  let offsetMs = -100 * DAY;
  let wh: RunningWebhook | undefined;
  const running = (): RunningWebhook => {
    if (wh === undefined) throw new Error('webhook not started');
    return wh;
  };
  const view = (): ClusterView => running().cache.view;
  const opts = { coordinatorName };

  /** mutate → patch → validate, exactly as the API server chains the two configurations. */
  function expectAdmission(
    obj: Record<string, unknown>,
    ns: string,
    which: 'pod' | 'nad',
  ): Expected {
    const m: Decision = which === 'pod' ? mutatePod(obj, ns, view(), opts) : mutateNad(obj);
    const mName = which === 'pod' ? hook.mutatePods : hook.mutateNads;
    const vName = which === 'pod' ? hook.validatePods : hook.validateNads;
    if (m.kind === 'deny') return { kind: 'denied', text: `admission webhook "${mName}" denied the request: ${denialMessage(m.refusals)}`, refusals: m.refusals };
    const mutated = applyPatch(obj, m.patch);
    const v: Decision = which === 'pod' ? validatePod(mutated, ns, view(), opts) : validateNad(mutated, view());
    if (v.kind === 'deny') return { kind: 'denied', text: `admission webhook "${vName}" denied the request: ${denialMessage(v.refusals)}`, refusals: v.refusals };
    return { kind: 'allowed', annotations: annotationsOf(mutated), object: mutated };
  }

  async function createPod(ns: string, name: string, annotations: Record<string, string>): Promise<{ stored?: unknown; err?: unknown; submitted: Record<string, unknown> }> {
    const submitted = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns, annotations },
      spec: { containers: [{ name: 'c', image: 'registry.invalid/pause:3' }] },
    };
    try {
      const stored = await core.createNamespacedPod({ namespace: ns, body: submitted });
      return { stored, submitted };
    } catch (err) {
      return { err, submitted };
    }
  }

  async function createNad(ns: string, name: string, config: unknown, annotations: Record<string, string> = {}) {
    const submitted = {
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name, namespace: ns, annotations },
      spec: { config: JSON.stringify(config) },
    };
    try {
      const stored: unknown = await custom.createNamespacedCustomObject({ ...NAD_GROUP, namespace: ns, body: submitted });
      return { stored, submitted };
    } catch (err) {
      return { err, submitted };
    }
  }

  async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  function assertMatches(res: { stored?: unknown; err?: unknown }, exp: Expected): void {
    if (exp.kind === 'denied') {
      expect(apiStatus(res.err)).toBe(403);
      expect(apiMessage(res.err)).toBe(exp.text);
    } else {
      expect(res.err).toBeUndefined();
      expect(annotationsOf(res.stored)).toEqual(exp.annotations);
    }
  }

  async function servedFingerprint(): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: running().server.webhookPort, rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate().fingerprint256);
        s.end();
      });
      s.on('error', reject);
    });
  }

  async function publishedBundles(): Promise<string[]> {
    const m = await admission.readMutatingWebhookConfiguration({ name: configName });
    const v = await admission.readValidatingWebhookConfiguration({ name: configName });
    return [...(m.webhooks ?? []), ...(v.webhooks ?? [])].map((w) => Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8'));
  }

  const macvlan = (name: string, extra: unknown[] = []) => ({
    cniVersion: '1.0.0',
    name,
    plugins: [{ type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'host-local', subnet: '10.77.0.0/24' } }, ...extra],
  });

  beforeAll(async () => {
    for (const [name, labels, annotations] of [
      [sysNs, {}, {}],
      [onNs, { 'weir.dev/inject': 'enabled', h7wh: id }, { 'weir.dev/networks': 'macvlan-b' }],
      // Selected by the (deliberately too wide) selector below but not opted in: must pass untouched.
      [offNs, { h7wh: id }, { 'weir.dev/networks': 'macvlan-b' }],
    ] as const) {
      await ensureNamespace(core, name, { labels, annotations });
    }
    const kcForWebhook: KubeConfig = kc;
    wh = await runWebhook(
      {
        webhookPort: 0,
        healthPort: 0,
        host: '127.0.0.1',
        tlsMode: 'self-signed',
        tlsSecret: 'weir-webhook-tls',
        certDir: '/nonexistent',
        namespace: sysNs,
        serviceName: 'weir-webhook',
        mutatingWebhook: configName,
        validatingWebhook: configName,
        coordinatorName,
        logLevel: 'warn',
        admissionTimeoutSeconds: 5, // the timeoutSeconds registered below
      },
      {
        kc: kcForWebhook,
        decider: { mutatePod, validatePod, mutateNad, validateNad, denialMessage },
        logger: pino({ level: 'warn' }),
        now: () => new Date(Date.now() + offsetMs),
        rotationPolicy: POLICY,
        tlsCheckIntervalMs: 3_600_000,
      },
    );
    const url = (path: string) => `https://127.0.0.1:${running().server.webhookPort}${path}`;
    // Only this suite's namespaces (the API server is shared). No caBundle: the webhook must patch it.
    const selector = { matchLabels: { h7wh: id } };
    const common = { admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 5, namespaceSelector: selector };
    // As the chart registers it (charts/weir/templates/_helpers.tpl): kubectl debug adds containers
    // through pods/ephemeralcontainers, which gets the same capability checks.
    const podRule = { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods', 'pods/ephemeralcontainers'], scope: 'Namespaced' };
    const nadRule = { apiGroups: ['k8s.cni.cncf.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['network-attachment-definitions'], scope: 'Namespaced' };
    await admission.createMutatingWebhookConfiguration({
      body: {
        metadata: { name: configName },
        webhooks: [
          { ...common, name: hook.mutatePods, rules: [podRule], clientConfig: { url: url('/mutate-pods') }, reinvocationPolicy: 'IfNeeded' },
          { ...common, name: hook.mutateNads, rules: [nadRule], clientConfig: { url: url('/mutate-nads') } },
        ],
      },
    });
    await admission.createValidatingWebhookConfiguration({
      body: {
        metadata: { name: configName },
        webhooks: [
          { ...common, name: hook.validatePods, rules: [podRule], clientConfig: { url: url('/validate-pods') } },
          { ...common, name: hook.validateNads, rules: [nadRule], clientConfig: { url: url('/validate-nads') } },
        ],
      },
    });
    await running().checkTls(); // the periodic check, now: publishes the caBundle
  });

  afterAll(async () => {
    await admission.deleteMutatingWebhookConfiguration({ name: configName }).catch(() => undefined);
    await admission.deleteValidatingWebhookConfiguration({ name: configName }).catch(() => undefined);
    await custom.deleteClusterCustomObject({ ...COORD, name: coordinatorName }).catch(() => undefined);
    await wh?.stop(2000);
  });

  it('self-signed mode: the Secret holds the CA and every webhook of both configurations carries its caBundle', async () => {
    const bundle = running().caBundle() ?? '';
    expect(splitPemBundle(bundle)).toHaveLength(1);
    expect(await publishedBundles()).toEqual([bundle, bundle, bundle, bundle]);
    const secret = await core.readNamespacedSecret({ name: 'weir-webhook-tls', namespace: sysNs });
    expect(Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString('utf8')).toBe(bundle);
  });

  it('NADs: weir.dev/chain inserts {"type":"weir"}, a typo is refused with the exact text', async () => {
    // The API server's webhook configuration informer may lag the create by a moment.
    let a = await createNad(onNs, 'macvlan-a', macvlan('macvlan-a'), { 'weir.dev/chain': 'enabled' });
    await waitFor(async () => {
      if (a.err !== undefined) return false;
      const cfg = JSON.parse((a.stored as { spec: { config: string } }).spec.config) as { plugins: { type: string }[] };
      if (cfg.plugins.some((p) => p.type === 'weir')) return true;
      await custom.deleteNamespacedCustomObject({ ...NAD_GROUP, namespace: onNs, name: 'macvlan-a' });
      a = await createNad(onNs, 'macvlan-a', macvlan('macvlan-a'), { 'weir.dev/chain': 'enabled' });
      return false;
    }, 'the NAD webhook to be in effect');
    const storedConfig = JSON.parse((a.stored as { spec: { config: string } }).spec.config) as { plugins: { type: string }[] };
    expect(storedConfig.plugins.map((p) => p.type)).toEqual(['macvlan', 'weir']);

    for (const [name, config, ann] of [
      ['macvlan-b', macvlan('macvlan-b'), { 'weir.dev/chain': 'enabled' }],
      ['macvlan-coord', macvlan('macvlan-coord', [{ type: 'coordinator', mode: 'underlay' }]), { 'weir.dev/chain': 'enabled' }],
      ['macvlan-plain', macvlan('macvlan-plain'), {}],
    ] as const) {
      const res = await createNad(onNs, name, config, ann);
      expect(res.err).toBeUndefined();
    }
    const coordCfg = (await custom.getNamespacedCustomObject({ ...NAD_GROUP, namespace: onNs, name: 'macvlan-coord' })) as { spec: { config: string } };
    expect((JSON.parse(coordCfg.spec.config) as { plugins: { type: string }[] }).plugins.map((p) => p.type)).toEqual(['macvlan', 'weir', 'coordinator']);

    const typo = await createNad(onNs, 'typo', macvlan('typo', [{ type: 'coordinattor' }]));
    const exp = expectAdmission(typo.submitted, onNs, 'nad');
    expect(exp.kind).toBe('denied');
    assertMatches(typo, exp);
    expect(apiMessage(typo.err)).toMatch(/did you mean "coordinator"/);
    await waitFor(() => view().nad(onNs, 'macvlan-coord') !== undefined && view().nad(onNs, 'macvlan-b') !== undefined, 'the NAD cache');
  });

  it('pods in an opted-in namespace: defaults injected, weir.dev/intent written, exactly what the decisions say', async () => {
    const ann = {
      'v1.multus-cni.io/default-network': `${onNs}/macvlan-a`,
      'kubernetes.io/ingress-bandwidth': '10M',
      'kubernetes.io/egress-bandwidth': '5M',
      'weir.dev/intent': '{"forged":true}',
    };
    const res = await createPod(onNs, 'ok', ann);
    const exp = expectAdmission(res.submitted, onNs, 'pod');
    expect(exp.kind).toBe('allowed');
    assertMatches(res, exp);
    const stored = annotationsOf(res.stored);
    expect(stored['k8s.v1.cni.cncf.io/networks']).toBe('macvlan-b'); // namespace default injected
    const intent = parseIntent(stored['weir.dev/intent'] ?? '');
    expect(intent.ok).toBe(true);
    if (intent.ok) {
      expect(intent.intent.networks.map((n) => [n.nad, n.interface, n.enforced])).toEqual([
        [`${onNs}/macvlan-a`, 'eth0', true],
        [`${onNs}/macvlan-b`, 'net1', true],
      ]);
      expect(intent.intent.bandwidth).toEqual({ ingressBitsPerSecond: 10_000_000, egressBitsPerSecond: 5_000_000 });
    }
  });

  it('pods are refused with every reason, in the exact text the API server returns', async () => {
    const res = await createPod(onNs, 'bad', {
      'k8s.v1.cni.cncf.io/networks': 'nope,macvlan-plain',
      'kubernetes.io/ingress-bandwidth': '2P',
    });
    const exp = expectAdmission(res.submitted, onNs, 'pod');
    expect(exp.kind).toBe('denied');
    assertMatches(res, exp);
  });


  it('a refusal carries status.details.causes (reason = code, field, message) through the API server', async () => {
    const res = await createPod(onNs, 'bad-causes', {
      'k8s.v1.cni.cncf.io/networks': 'nope,macvlan-plain',
      'kubernetes.io/ingress-bandwidth': '2P',
    });
    const exp = expectAdmission(res.submitted, onNs, 'pod');
    if (exp.kind !== 'denied') throw new Error('expected a refusal');
    assertMatches(res, exp);
    expect(exp.refusals.length).toBeGreaterThanOrEqual(2);
    expect(apiDetails(res.err)).toEqual({ name: 'bad-causes', kind: 'pods', causes: exp.refusals.map(statusCause) });

    const nadRes = await createNad(onNs, 'typo-causes', macvlan('typo-causes', [{ type: 'coordinattor' }]));
    expect(apiDetails(nadRes.err)).toEqual({
      name: 'typo-causes',
      group: 'k8s.cni.cncf.io',
      kind: 'network-attachment-definitions',
      causes: [{ reason: 'NAD_PLUGIN_NEAR_MISS', field: 'spec.config.plugins[1].type', message: '"coordinattor" is not a known CNI plugin; did you mean "coordinator"?' }],
    });
  });

  it('NADs outside Weir\'s scope without IPAM (DPDK SR-IOV, host-device, bridge) are admitted; with weir.dev/chain they are refused', async () => {
    const plugins: ReadonlyArray<[string, Record<string, unknown>]> = [
      ['dpdk', { type: 'sriov', resourceName: 'intel.com/sriov_dpdk', vlan: 100 }],
      ['hostdev', { type: 'host-device', pciBusID: '0000:af:00.1' }],
      ['l2bridge', { type: 'bridge', bridge: 'br1' }],
    ];
    for (const [name, plugin] of plugins) {
      const config = { cniVersion: '1.0.0', name, plugins: [plugin] };
      const out = await createNad(offNs, name, config);
      expect(out.err, `${name}: ${apiMessage(out.err) ?? ''}`).toBeUndefined();
      const chained = await createNad(offNs, `${name}-weir`, config, { 'weir.dev/chain': 'enabled' });
      expect(apiStatus(chained.err)).toBe(403);
      expect(apiMessage(chained.err)).toMatch(/NAD_IPAM_MISSING/);
      expect(apiMessage(chained.err)).toMatch(/needs the pod's IPs/);
    }
  });

  it('a pod with an enforced interface gets NET_RAW dropped and ping_group_range; NET_ADMIN is refused', async () => {
    const ann = { 'v1.multus-cni.io/default-network': `${onNs}/macvlan-a` };
    const stored = await core.createNamespacedPod({
      namespace: onNs,
      body: {
        metadata: { name: 'raw-drop', annotations: ann },
        spec: { initContainers: [{ name: 'init', image: 'registry.invalid/pause:3' }], containers: [{ name: 'c', image: 'registry.invalid/pause:3' }] },
      },
    });
    for (const c of [...(stored.spec?.initContainers ?? []), ...(stored.spec?.containers ?? [])]) {
      expect(c.securityContext?.capabilities?.drop, c.name).toEqual(['NET_RAW']);
    }
    expect(stored.spec?.securityContext?.sysctls).toEqual([{ name: 'net.ipv4.ping_group_range', value: '0 2147483647' }]);

    const refused = await core
      .createNamespacedPod({
        namespace: onNs,
        body: { metadata: { name: 'net-admin', annotations: ann }, spec: { containers: [{ name: 'tool', image: 'registry.invalid/pause:3', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }] } },
      })
      .then(() => undefined, (e: unknown) => e);
    expect(apiStatus(refused)).toBe(403);
    expect(apiMessage(refused)).toMatch(/container "tool" adds NET_ADMIN while Weir enforces interface\(s\) eth0/);
  });

  it('kubectl debug: an ephemeral container with NET_ADMIN is refused, a plain one gets NET_RAW dropped', async () => {
    const ann = { 'v1.multus-cni.io/default-network': `${onNs}/macvlan-a` };
    await core.createNamespacedPod({ namespace: onNs, body: { metadata: { name: 'debug-me', annotations: ann }, spec: { containers: [{ name: 'c', image: 'registry.invalid/pause:3' }] } } });
    const withDebugger = async (securityContext?: object) => {
      const cur = await core.readNamespacedPod({ name: 'debug-me', namespace: onNs });
      const debuggerContainer = { name: 'debugger', image: 'registry.invalid/busybox:1', ...(securityContext === undefined ? {} : { securityContext }) };
      // The subresource takes only the ephemeral containers from the body; the rest of the spec
      // stays as stored (resourceVersion guards against a concurrent change).
      const body = { metadata: cur.metadata, spec: { containers: cur.spec?.containers ?? [], ephemeralContainers: [debuggerContainer] } };
      return core.replaceNamespacedPodEphemeralcontainers({ name: 'debug-me', namespace: onNs, body });
    };
    // kubectl debug --profile=netadmin
    const refused = await withDebugger({ capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } }).then(() => undefined, (e: unknown) => e);
    expect(apiStatus(refused)).toBe(403);
    expect(apiMessage(refused)).toMatch(/container "debugger" adds NET_ADMIN/);
    expect(apiMessage(refused)).toMatch(/POD_NET_RAW_ON_ENFORCED/);
    const ok = await withDebugger();
    expect(ok.spec?.ephemeralContainers?.[0]?.securityContext?.capabilities?.drop).toEqual(['NET_RAW']);
  });

  it('a namespace without weir.dev/inject passes untouched even when the configuration sends it', async () => {
    const ann = { 'k8s.v1.cni.cncf.io/networks': 'does-not-exist', 'kubernetes.io/ingress-bandwidth': 'lots' };
    const res = await createPod(offNs, 'untouched', ann);
    expect(res.err).toBeUndefined();
    expect(annotationsOf(res.stored)).toEqual(ann);
  });

  it('the SpiderCoordinator status flips admission', async () => {
    const ann = { 'v1.multus-cni.io/default-network': `${onNs}/macvlan-coord` };
    const missing = await createPod(onNs, 'coord-0', ann);
    const expMissing = expectAdmission(missing.submitted, onNs, 'pod');
    expect(expMissing.kind).toBe('denied');
    assertMatches(missing, expMissing);

    await custom.createClusterCustomObject({
      ...COORD,
      body: { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderCoordinator', metadata: { name: coordinatorName }, spec: { podCIDRType: 'none' } },
    });
    const setStatus = async (phase: string, reason: string) => {
      const cur = (await custom.getClusterCustomObject({ ...COORD, name: coordinatorName })) as Record<string, unknown>;
      await custom.replaceClusterCustomObjectStatus({ ...COORD, name: coordinatorName, body: { ...cur, status: { phase, reason } } });
      await waitFor(() => view().coordinator(coordinatorName)?.phase === phase, `coordinator ${phase} in the cache`);
    };

    await setStatus('Synced', '');
    const ok = await createPod(onNs, 'coord-1', ann);
    expect(ok.err).toBeUndefined();
    expect(annotationsOf(ok.stored)['weir.dev/intent']).toBeDefined();

    await setStatus('NotReady', 'No kube-controller-manager pod found, unable to get clusterCIDR');
    const refused = await createPod(onNs, 'coord-2', ann);
    const exp = expectAdmission(refused.submitted, onNs, 'pod');
    expect(exp.kind).toBe('denied');
    assertMatches(refused, exp);
    expect(apiMessage(refused.err)).toMatch(/NotReady/);
    expect(apiMessage(refused.err)).toMatch(/No kube-controller-manager pod found/);

    await setStatus('Synced', '');
    expect((await createPod(onNs, 'coord-3', ann)).err).toBeUndefined();
  });

  it('rotating the serving certificate and then the CA keeps admission working', async () => {
    const ann = { 'v1.multus-cni.io/default-network': `${onNs}/macvlan-a` };
    const bundle0 = running().caBundle() ?? '';
    const fp0 = await servedFingerprint();

    offsetMs = -40 * DAY; // serving certificate inside its renewal window: re-issued by the same CA
    await running().checkTls();
    const fp1 = await servedFingerprint();
    expect(fp1).not.toBe(fp0);
    expect(running().caBundle()).toBe(bundle0);
    expect(await publishedBundles()).toEqual([bundle0, bundle0, bundle0, bundle0]);
    expect((await createPod(onNs, 'rot-1', ann)).err).toBeUndefined();

    offsetMs = 0; // CA inside its renewal window: phase A publishes old + new CA, old still signs
    await running().checkTls();
    const bundle2 = running().caBundle() ?? '';
    expect(splitPemBundle(bundle2)).toHaveLength(2);
    expect(await publishedBundles()).toEqual([bundle2, bundle2, bundle2, bundle2]);
    expect(await servedFingerprint()).toBe(fp1);
    expect((await createPod(onNs, 'rot-2', ann)).err).toBeUndefined();

    await new Promise((r) => setTimeout(r, 1500)); // let the API server's informer see the new bundle
    offsetMs = 2 * 60 * 1000; // propagation delay passed: the new CA signs
    await running().checkTls();
    const fp3 = await servedFingerprint();
    expect(fp3).not.toBe(fp1);
    const newCa = splitPemBundle(bundle2).find((p) => !bundle0.includes(p.trim())) ?? '';
    const secret = await core.readNamespacedSecret({ name: 'weir-webhook-tls', namespace: sysNs });
    const served = new X509Certificate(Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64'));
    expect(served.fingerprint256).toBe(fp3);
    expect(served.checkIssued(new X509Certificate(newCa))).toBe(true);
    const after = await createPod(onNs, 'rot-3', ann);
    expect(after.err).toBeUndefined();
    expect(annotationsOf(after.stored)['weir.dev/intent']).toBeDefined();
  });
});
