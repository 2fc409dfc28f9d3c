/**
 * The real node end to end: `lab/realnode/up.sh` brings it up, the checks below use it the way a
 * user does (kubectl through the API server, pods from the chart's images, NetworkPolicy enforced
 * by Weir on pods Multus attached), and `lab/realnode/down.sh` must leave nothing behind.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lab/paths.js';
import { parseGinkgoReport } from '../../lab/realnode/conformance.js';

const run = promisify(execFile);
const STATE = process.env.WEIR_REALNODE_DIR ?? join(homedir(), '.weir-realnode');
const BIN = join(process.env.WEIR_CACHE ?? join(homedir(), '.cache', 'weir'), 'bin');
const KUBECONFIG = join(STATE, 'kubeconfigs', 'admin.kubeconfig');
const NS = 'realnode-test';

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(join(BIN, 'kubectl'), ['--kubeconfig', KUBECONFIG, ...args], { maxBuffer: 16 << 20 });
  return stdout;
}

async function script(name: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('bash', [join(REPO_ROOT, 'lab', 'realnode', name), ...args], { maxBuffer: 16 << 20, timeout: 840_000, env });
    return { code: 0, output: stdout + stderr };
  } catch (e: unknown) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

function apply(object: Record<string, unknown>): void {
  execFileSync(join(BIN, 'kubectl'), ['--kubeconfig', KUBECONFIG, 'apply', '-f', '-'], { input: JSON.stringify(object), stdio: ['pipe', 'ignore', 'pipe'] });
}

/** Exit status of `agnhost connect` from one pod to an address, through `kubectl exec`. */
async function connects(from: string, to: string): Promise<boolean> {
  try {
    await kubectl('-n', NS, 'exec', from, '--', '/agnhost', 'connect', `${to}:8080`, '--timeout=2s', '--protocol=tcp');
    return true;
  } catch {
    return false;
  }
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not true within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

let upOutput = '';
let tornDown = false;
// Only a node this suite started is torn down by it: one that was already running (someone's
// `make realnode-up`, a long netpol run) is left alone, and the suite fails instead.
let ours = false;

beforeAll(async () => {
  if (existsSync(STATE)) throw new Error(`${STATE} exists: a real node is running; stop it with make realnode-down first`);
  ours = true;
  // The bridge cluster network: the bandwidth check below puts a NAD on its bridge.
  const up = await script('up.sh', [], { ...process.env, WEIR_REALNODE_NETWORK: 'bridge' });
  upOutput = up.output;
  if (up.code !== 0) throw new Error(`up.sh failed (exit ${up.code}):\n${up.output.slice(-3000)}`);
});

afterAll(async () => {
  if (ours && !tornDown && existsSync(STATE)) await script('down.sh');
});

describe('the real node', () => {
  it('is Ready, with the v1.34.4 kubelet and containerd', async () => {
    const node = JSON.parse(await kubectl('get', 'node', 'wrn-node', '-o', 'json')) as {
      status: { conditions: { type: string; status: string }[]; nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string } };
    };
    expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status.nodeInfo.kubeletVersion).toBe('v1.34.4');
    expect(node.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\/1\.6\./);
    expect(upOutput).toContain('ready');
  });

  it('runs the chart: the webhook Deployment and the agent DaemonSet from the local images, the plugin installed', async () => {
    const pods = JSON.parse(await kubectl('-n', 'weir-system', 'get', 'pods', '-o', 'json')) as {
      items: { metadata: { name: string }; spec: { containers: { image: string }[] }; status: { phase: string; containerStatuses?: { ready: boolean }[] } }[];
    };
    const images = pods.items.map((p) => p.spec.containers[0]?.image).sort();
    expect(images).toEqual(['weir.local/weir-agent:dev', 'weir.local/weir-webhook:dev', 'weir.local/weir-webhook:dev']);
    for (const p of pods.items) expect(p.status.containerStatuses?.every((c) => c.ready), p.metadata.name).toBe(true);
    expect(existsSync(join(STATE, 'cni', 'bin', 'weir'))).toBe(true);
    const caBundle = await kubectl('get', 'mutatingwebhookconfiguration', 'weir', '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}');
    expect(Buffer.from(caBundle, 'base64').toString()).toContain('BEGIN CERTIFICATE');
  });

  it('passes helm test: the chart\'s test pod runs weir check from the agent image', async () => {
    const { stdout } = await run(join(BIN, 'helm'), ['--kubeconfig', KUBECONFIG, 'test', 'weir', '-n', 'weir-system', '--timeout', '3m'], { maxBuffer: 16 << 20 });
    expect(stdout).toMatch(/TEST SUITE:\s+weir-test[\s\S]*Phase:\s+Succeeded/);
  });

  it('serves kubectl exec and logs through the API server and the kubelet', async () => {
    expect((await kubectl('-n', 'weir-system', 'exec', 'deploy/weir-webhook', '--', '/usr/bin/node', '-e', 'console.log("exec-ok")')).trim()).toBe('exec-ok');
    expect(await kubectl('-n', 'weir-system', 'logs', 'ds/weir-agent', '-c', 'agent')).toContain('cni socket listening');
  });

  it('enforces a NetworkPolicy on pods Multus attached (bridge + weir): deny-all blocks, deleting it restores', async () => {
    await kubectl('create', 'namespace', NS);
    // The server has an HTTP readiness probe: the kubelet probes it from the node, which no
    // NetworkPolicy may block, so it stays Ready under deny-all (a bug this node found).
    const readiness = { httpGet: { path: '/', port: 8080 }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1 };
    const pod = (name: string, args: string[]): Record<string, unknown> => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NS, labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.56', imagePullPolicy: 'Never', args,
            ...(name === 'server' ? { readinessProbe: readiness } : {}),
          }],
        },
      });
    for (const [name, args] of [['server', ['netexec', '--http-port=8080']], ['client', ['pause']]] as const) {
      apply(pod(name, [...args]));
    }
    await kubectl('-n', NS, 'wait', '--for=condition=Ready', 'pod/server', 'pod/client', '--timeout=120s');
    const ip = (await kubectl('-n', NS, 'get', 'pod', 'server', '-o', 'jsonpath={.status.podIP}')).trim();
    expect(ip).toMatch(/^10\.244\.0\./);
    await eventually('client reaches server before any policy', () => connects('client', ip));
    apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'deny-all', namespace: NS },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
    await eventually('deny-all blocks client -> server', async () => !(await connects('client', ip)));
    // Several probe periods after the block: one dropped probe would have made it NotReady.
    await new Promise((r) => setTimeout(r, 5_000));
    const ready = await kubectl('-n', NS, 'get', 'pod', 'server', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}');
    expect(ready.trim(), 'the kubelet\'s readiness probe reaches the server under deny-all').toBe('True');
    await kubectl('-n', NS, 'delete', 'networkpolicy', 'deny-all');
    await eventually('deleting deny-all restores client -> server', () => connects('client', ip));
  });

  it('gives a pod in an opted-in namespace its intent and its egress bandwidth, measured with iperf3', async () => {
    const ns = 'realnode-bw';
    await kubectl('create', 'namespace', ns);
    await kubectl('label', 'namespace', ns, 'weir.dev/inject=enabled');
    // The webhook cannot see the node's clusterNetwork file, so it refuses bandwidth there; a NAD
    // whose chain holds weir, made the namespace's default network, is what it can check. Its
    // host-local range (.200-.250) is the part of the bridge subnet the cluster network leaves free.
    const nad = {
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: 'bridge-weir', namespace: ns },
      spec: {
        config: JSON.stringify({
          cniVersion: '1.0.0',
          name: 'bridge-weir',
          plugins: [
            {
              type: 'bridge', bridge: 'wrn0', isGateway: true, hairpinMode: true,
              ipam: {
                type: 'host-local', dataDir: join(STATE, 'cni', 'ipam'), routes: [{ dst: '0.0.0.0/0' }],
                ranges: [[{ subnet: '10.244.0.0/24', rangeStart: '10.244.0.200', rangeEnd: '10.244.0.250', gateway: '10.244.0.1' }]],
              },
            },
            { type: 'weir' },
          ],
        }),
      },
    };
    apply(nad);
    await kubectl('annotate', 'namespace', ns, `weir.dev/default-network=${ns}/bridge-weir`);
    const iperf = (name: string, port: number, annotations: Record<string, string>): Record<string, unknown> => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns, annotations },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'c', image: 'weir.local/iperf3:dev', imagePullPolicy: 'Never', args: ['--server', '-p', String(port)] }],
      },
    });
    apply(iperf('server', 5201, {}));
    apply(iperf('client', 5202, { 'kubernetes.io/egress-bandwidth': '50M' }));
    await kubectl('-n', ns, 'wait', '--for=condition=Ready', 'pod/server', 'pod/client', '--timeout=120s');
    const intent = JSON.parse(await kubectl('-n', ns, 'get', 'pod', 'client', '-o', 'jsonpath={.metadata.annotations.weir\\.dev/intent}')) as {
      bandwidth?: { egressBitsPerSecond?: number };
      networks?: { nad: string; enforced: boolean }[];
    };
    expect(intent.bandwidth?.egressBitsPerSecond).toBe(50_000_000);
    expect(intent.networks).toEqual([expect.objectContaining({ nad: `${ns}/bridge-weir`, enforced: true })]);
    const serverIp = (await kubectl('-n', ns, 'get', 'pod', 'server', '-o', 'jsonpath={.status.podIP}')).trim();
    const report = JSON.parse(await kubectl('-n', ns, 'exec', 'client', '--', '/usr/bin/iperf3', '-c', serverIp, '-t', '3', '-J')) as {
      end: { sum_received: { bits_per_second: number } };
    };
    const mbit = report.end.sum_received.bits_per_second / 1e6;
    expect(mbit).toBeGreaterThan(50 * 0.7);
    expect(mbit).toBeLessThan(50 * 1.1);
  });

  it('passes the upstream netpol e2e suite\'s focused subset: one spec per area (lab/realnode/netpol-focused.txt)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'weir-netpol-focused-'));
    try {
      const suite = await script('netpol-e2e.sh', ['--focused'], { ...process.env, WEIR_NETPOL_DOC: 'none', WEIR_NETPOL_OUT: out });
      const report = parseGinkgoReport(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as unknown);
      const ran = report.specs.filter((s) => s.state !== 'skipped');
      const areas = readFileSync(join(REPO_ROOT, 'lab', 'realnode', 'netpol-focused.txt'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      // Each area's expression names one spec of v1.34.4's suite: all of them ran, and all passed.
      expect(ran.length, suite.output.slice(-2000)).toBe(areas.length);
      expect(ran.filter((s) => s.state !== 'passed').map((s) => `${s.name}: ${s.failure}`)).toEqual([]);
      expect(suite.code).toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 900_000);

  it('tears down leaving nothing: processes, mounts, netns, bridge, pins, cgroups, iptables rules, containerd state', async () => {
    const down = await script('down.sh');
    tornDown = true;
    expect(down.output).toContain('done: no processes');
    expect(down.code).toBe(0);
    const check = await script('leftovers.sh');
    expect(check.code).toBe(0);
    const { stdout } = await run('bash', [join(REPO_ROOT, 'lab', 'realnode', 'leftovers.sh'), '--check']);
    expect(stdout.trim()).toBe('clean');
    expect(existsSync(STATE)).toBe(false);
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toMatch(/^[01]$/);
  });
});
