/**
 * Issue 5, bandwidth end to end: a one-node lab (real kube-apiserver + etcd, the webhook registered
 * from the chart, an agent process, pods wired by real macvlan + host-local + weir), pods annotated
 * with kubernetes.io/{egress,ingress}-bandwidth, measured with iperf3 in both directions, then the
 * egress limit changed live on the running pod through the API (kubelet cannot do that; Weir can),
 * removed, and a change above the namespace cap refused without touching the pod's shaping.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiMessage } from '../../common/src/kube/api-errors.js';
import { isRecord } from '../../common/src/records.js';
import { podNetnsName } from '../../lab/simnode/kubelet.js';
import { Lab, type LabNode } from '../../lab/supervisor.js';
import { createNad, createPod, iperfMbps, macvlanWeirConfig, waitRunning, waitUntil } from '../../lab/workload.js';
import { binDir } from '../../harness/controlplane/binaries.js';
import { describePrivileged, inCI } from '../support/privileged.js';
import { execInNetns, run } from '../../harness/support/netns.js';

const PREFIX = 'wbw';
const NS = 'bw';
/** host-local keeps leases per network name; this name is unique to this suite. */
const NET_NAME = 'wbw-underlay';
const HOST_LOCAL_LEASES = join('/var/lib/cni/networks', NET_NAME);
const EGRESS_CAP = '100M';
/** The shapers meter whole frames; TCP goodput lands a little under the rate. */
const TOLERANCE = 0.15;
/** A live change must reach the datapath within this (API watch → agent reconcile → tc). */
const LIVE_CHANGE_BOUND_MS = 10_000;
const IPERF = { seconds: 4, omitSeconds: 1 } as const;

const EGRESS = 'kubernetes.io/egress-bandwidth';
const INGRESS = 'kubernetes.io/ingress-bandwidth';

interface EndpointView { pod: string; interface: string; shaping: string; bandwidth: { ingressBitsPerSecond?: number; egressBitsPerSecond?: number } | null }

describePrivileged('e2e bandwidth (kubernetes.io/*-bandwidth, live change)', () => {
  let dir = '';
  let lab: Lab | undefined;
  let node: LabNode;
  let core: CoreV1Api;
  let kubeconfig = '';
  let a: V1Pod;
  let b: V1Pod;
  const log: string[] = [];

  const netnsOf = (pod: V1Pod) => podNetnsName(pod.metadata?.uid ?? '', PREFIX);
  const ipOf = (pod: V1Pod) => pod.status?.podIP ?? '';
  /** iperf3 with A as the client: A→B is A's egress; `-R` (B→A) is A's ingress. */
  const measure = (reverse: boolean) => iperfMbps({ clientNetns: netnsOf(a), serverNetns: netnsOf(b), serverIp: ipOf(b), reverse, ...IPERF });

  async function endpointOfA(): Promise<EndpointView | undefined> {
    const response = await fetch(`${node.agentUrl}/v1/status`, { signal: AbortSignal.timeout(2_000) });
    const body: unknown = await response.json();
    const endpoints = isRecord(body) && Array.isArray(body.endpoints) ? body.endpoints : [];
    for (const e of endpoints) {
      if (isRecord(e) && e.pod === `${NS}/a` && e.interface === 'eth0') {
        const bw = isRecord(e.bandwidth) ? e.bandwidth : null;
        return {
          pod: e.pod, interface: e.interface, shaping: String(e.shaping),
          bandwidth: bw === null ? null : {
            ...(typeof bw.ingressBitsPerSecond === 'number' ? { ingressBitsPerSecond: bw.ingressBitsPerSecond } : {}),
            ...(typeof bw.egressBitsPerSecond === 'number' ? { egressBitsPerSecond: bw.egressBitsPerSecond } : {}),
          },
        };
      }
    }
    return undefined;
  }

  /**
   * The shaping rate (bit/s) on a device in A's netns as the kernel reports it, or undefined: a
   * root TBF's rate, or with htb-fair the rate of the HTB's parent class 1:1 (tc prints classes as
   * text only, "class htb 1:1 root ... rate 20Mbit ceil 20Mbit ...").
   */
  async function shaperRate(dev: string): Promise<number | undefined> {
    const out = await execInNetns(netnsOf(a), ['tc', '-j', 'qdisc', 'show', 'dev', dev], 5_000);
    const parsed: unknown = JSON.parse(out.stdout);
    for (const q of Array.isArray(parsed) ? parsed : []) {
      if (isRecord(q) && q.kind === 'tbf' && q.root === true && isRecord(q.options) && typeof q.options.rate === 'number') {
        return q.options.rate * 8;
      }
      if (isRecord(q) && q.kind === 'htb' && q.root === true) {
        const classes = await execInNetns(netnsOf(a), ['tc', 'class', 'show', 'dev', dev], 5_000);
        const m = /^class htb 1:1 root(?: .*?)? rate (\d+(?:\.\d+)?)([KMG]?)bit /m.exec(classes.stdout);
        const unit: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9 };
        return m?.[1] === undefined || m[2] === undefined ? undefined : Number(m[1]) * (unit[m[2]] ?? NaN);
      }
    }
    return undefined;
  }
  const egressShaperRate = () => shaperRate('eth0');
  /** A's ingress IFB (`wifb<endpointId>`, agent/src/datapath/shaping.ts) holds the ingress shaper. */
  async function ingressShaperRate(): Promise<number | undefined> {
    const out = await execInNetns(netnsOf(a), ['ip', '-j', 'link', 'show', 'type', 'ifb'], 5_000);
    const links: unknown = JSON.parse(out.stdout === '' ? '[]' : out.stdout);
    const names = (Array.isArray(links) ? links : []).flatMap((l: unknown) => (isRecord(l) && typeof l.ifname === 'string' ? [l.ifname] : []));
    if (names.length !== 1 || names[0] === undefined) throw new Error(`expected one IFB in A's netns, found ${JSON.stringify(names)}`);
    return shaperRate(names[0]);
  }

  /** Merge-patches A's annotations (null removes one) — what `kubectl annotate --overwrite` sends. */
  async function annotateA(annotations: Record<string, string | null>): Promise<void> {
    await core.patchNamespacedPod({ name: 'a', namespace: NS, body: { metadata: { annotations } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }

  /**
   * `kubectl annotate --overwrite` with the bootstrap's kubectl (it prints the webhook's warnings,
   * which must be none for a plain bandwidth change); the equivalent PATCH when kubectl is absent.
   */
  async function kubectlAnnotateA(key: string, value: string): Promise<{ stderr: string } | undefined> {
    const kubectl = join(binDir(), 'kubectl');
    try {
      await access(kubectl, constants.X_OK);
    } catch {
      if (inCI) throw new Error(`${kubectl} is missing; scripts/build-go-tools.sh builds it`);
      process.stderr.write(`bandwidth e2e: ${kubectl} missing, sending the equivalent PATCH (warnings not checked)\n`);
      await annotateA({ [key]: value });
      return undefined;
    }
    const result = await run([kubectl, '--kubeconfig', kubeconfig, '-n', NS, 'annotate', '--overwrite', 'pod', 'a', `${key}=${value}`], 30_000);
    if (result.code !== 0) throw new Error(`kubectl annotate exited ${result.code}: ${result.stderr.trim()}`);
    return { stderr: result.stderr };
  }

  /** Polls the agent until A's endpoint shows `rate` in `direction`; returns how long it took. */
  async function waitForRate(direction: 'egressBitsPerSecond' | 'ingressBitsPerSecond', rate: number | undefined): Promise<number> {
    const ms = await waitUntil(async () => (await endpointOfA())?.bandwidth?.[direction] === rate, LIVE_CHANGE_BOUND_MS, 50);
    if (ms === undefined) throw new Error(`the agent did not show ${direction} ${String(rate)} for ${NS}/a within ${LIVE_CHANGE_BOUND_MS} ms: ${JSON.stringify(await endpointOfA())}`);
    return ms;
  }
  const waitForEgress = (rate: number | undefined) => waitForRate('egressBitsPerSecond', rate);

  const within = (measured: number, nominal: number) => Math.abs(measured - nominal) <= nominal * TOLERANCE;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weir-bw-'));
    await rm(HOST_LOCAL_LEASES, { recursive: true, force: true });
    lab = new Lab({ dir, nodes: 1, log: (line) => log.push(line), persistentControlPlane: false, prefix: PREFIX });
    const state = await lab.up();
    const first = state.nodes[0];
    if (first === undefined) throw new Error('the lab has no node');
    node = first;
    kubeconfig = state.kubeconfig;
    const kc = new KubeConfig();
    kc.loadFromFile(state.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await core.createNamespace({
      body: {
        metadata: {
          name: NS, labels: { 'weir.dev/inject': 'enabled' },
          annotations: { 'weir.dev/default-network': `${NS}/underlay`, 'weir.dev/max-egress-bandwidth': EGRESS_CAP },
        },
      },
    });
    await createNad(custom, NS, 'underlay', macvlanWeirConfig(NET_NAME, '10.81.0.0/24'));
    await createPod(core, NS, 'a', { [EGRESS]: '20M', [INGRESS]: '30M' });
    await createPod(core, NS, 'b', {});
    a = await waitRunning(core, NS, 'a');
    b = await waitRunning(core, NS, 'b');
  }, 180_000);

  afterAll(async () => {
    const leftovers = lab ? await lab.down({ keepLogs: false }) : [];
    await rm(HOST_LOCAL_LEASES, { recursive: true, force: true });
    if (leftovers.length > 0) {
      process.stderr.write(`bandwidth e2e: lab leftovers (logs kept in ${dir}):\n  ${leftovers.join('\n  ')}\n`);
    } else {
      await rm(dir, { recursive: true, force: true });
    }
    expect(leftovers).toEqual([]);
  }, 120_000);

  it('the webhook writes the bandwidth into weir.dev/intent and the agent shapes A (htb-fair: this kernel has sch_htb)', async () => {
    const intent: unknown = JSON.parse(a.metadata?.annotations?.['weir.dev/intent'] ?? 'null');
    expect(isRecord(intent) ? intent.bandwidth : undefined).toEqual({ ingressBitsPerSecond: 30e6, egressBitsPerSecond: 20e6 });
    await waitForEgress(20e6);
    expect(await endpointOfA()).toMatchObject({ shaping: 'htb-fair', bandwidth: { ingressBitsPerSecond: 30e6, egressBitsPerSecond: 20e6 } });
    expect(await egressShaperRate()).toBe(20e6);
    expect(await ingressShaperRate()).toBe(30e6);
  });

  it('iperf3: A→B (A egress 20M) and B→A (A ingress 30M), each within ±15%', async () => {
    const egress = await measure(false);
    const ingress = await measure(true);
    process.stdout.write(`bandwidth e2e: egress ${egress.toFixed(1)} Mbit/s for 20M (${(egress / 20 * 100).toFixed(0)}%), ingress ${ingress.toFixed(1)} Mbit/s for 30M (${(ingress / 30 * 100).toFixed(0)}%)\n`);
    expect(within(egress, 20), `egress ${egress.toFixed(1)} Mbit/s`).toBe(true);
    expect(within(ingress, 30), `ingress ${ingress.toFixed(1)} Mbit/s`).toBe(true);
  }, 60_000);

  it('kubectl annotate --overwrite of the egress annotation to 60M reaches the running pod', async () => {
    const started = Date.now();
    const annotated = await kubectlAnnotateA(EGRESS, '60M');
    const written = Date.now();
    if (annotated !== undefined) expect(annotated.stderr, 'kubectl printed a warning for a plain bandwidth change').not.toMatch(/warning/i);
    const pod = await core.readNamespacedPod({ name: 'a', namespace: NS });
    const intent: unknown = JSON.parse(pod.metadata?.annotations?.['weir.dev/intent'] ?? 'null');
    expect(isRecord(intent) ? intent.bandwidth : undefined).toEqual({ ingressBitsPerSecond: 30e6, egressBitsPerSecond: 60e6 });
    await waitForEgress(60e6);
    const tookMs = Date.now() - started;
    process.stdout.write(`bandwidth e2e: live change 20M → 60M visible in the agent's /v1/status ${tookMs} ms after kubectl annotate started (${Date.now() - written} ms after it returned)\n`);
    expect(tookMs).toBeLessThan(LIVE_CHANGE_BOUND_MS);
    expect(await egressShaperRate()).toBe(60e6);
    const egress = await measure(false);
    const ingress = await measure(true);
    process.stdout.write(`bandwidth e2e: after the change egress ${egress.toFixed(1)} Mbit/s for 60M (${(egress / 60 * 100).toFixed(0)}%), ingress still ${ingress.toFixed(1)} Mbit/s for 30M\n`);
    expect(within(egress, 60), `egress ${egress.toFixed(1)} Mbit/s`).toBe(true);
    expect(within(ingress, 30), `ingress ${ingress.toFixed(1)} Mbit/s`).toBe(true);
  }, 60_000);

  it(`a change above the namespace cap (${EGRESS_CAP}) is refused with BANDWIDTH_ABOVE_CAP and the shaping stays`, async () => {
    let message = '';
    try {
      await annotateA({ [EGRESS]: '200M' });
    } catch (error) {
      message = apiMessage(error) ?? String(error);
    }
    process.stdout.write(`bandwidth e2e: refused: ${message}\n`);
    expect(message).toContain('BANDWIDTH_ABOVE_CAP');
    expect(message).toContain('kubernetes.io/egress-bandwidth');
    const pod = await core.readNamespacedPod({ name: 'a', namespace: NS });
    expect(pod.metadata?.annotations?.[EGRESS]).toBe('60M');
    // Give a wrongly-admitted change the time a real one takes to land, then check nothing moved.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await endpointOfA())?.bandwidth).toEqual({ ingressBitsPerSecond: 30e6, egressBitsPerSecond: 60e6 });
    expect(await egressShaperRate()).toBe(60e6);
  });

  it('a live change of the ingress annotation reprograms the IFB\'s shaper (30M → 10M → 30M)', async () => {
    for (const [value, rate] of [['10M', 10e6], ['30M', 30e6]] as const) {
      const started = Date.now();
      await annotateA({ [INGRESS]: value });
      await waitForRate('ingressBitsPerSecond', rate);
      process.stdout.write(`bandwidth e2e: live ingress change to ${value} visible in /v1/status ${Date.now() - started} ms after the PATCH\n`);
      expect(await ingressShaperRate()).toBe(rate);
      expect(await egressShaperRate()).toBe(60e6);
    }
  });

  it('removing the egress annotation makes A\'s egress unlimited (≫ 60M) and keeps ingress shaped', async () => {
    const started = Date.now();
    await annotateA({ [EGRESS]: null });
    await waitForEgress(undefined);
    process.stdout.write(`bandwidth e2e: egress limit removal visible in /v1/status ${Date.now() - started} ms after the PATCH\n`);
    expect((await endpointOfA())?.bandwidth).toEqual({ ingressBitsPerSecond: 30e6 });
    expect(await egressShaperRate()).toBeUndefined();
    expect(await ingressShaperRate()).toBe(30e6);
    const egress = await measure(false);
    process.stdout.write(`bandwidth e2e: unlimited egress ${egress.toFixed(1)} Mbit/s\n`);
    expect(egress).toBeGreaterThan(3 * 60);
  }, 60_000);
});
