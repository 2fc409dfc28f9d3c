import type { CoreV1Api, CustomObjectsApi, V1Pod } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { execInNetns } from '../harness/support/netns.js';
import { isRecord } from '../common/src/records.js';

/**
 * Workload pieces shared by the lab demo and the end-to-end suites: NADs and pods created through
 * the API server, waiting for a pod to run, and iperf3 between two pod netns. All I/O; the callers
 * decide what the numbers mean.
 */

/** A NAD whose chain is macvlan (bridge) on the node's uplink + host-local, with weir after it. */
export function macvlanWeirConfig(name: string, subnet: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0', name,
    plugins: [
      { type: 'macvlan', master: 'uplink0', mode: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet }]] } },
      { type: 'weir' },
    ],
  });
}

export async function createNad(custom: CustomObjectsApi, namespace: string, name: string, config: string): Promise<void> {
  await custom.createNamespacedCustomObject({
    group: 'k8s.cni.cncf.io', version: 'v1', namespace, plural: 'network-attachment-definitions',
    body: { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name }, spec: { config } },
  });
}

export async function createPod(core: CoreV1Api, namespace: string, name: string, annotations: Record<string, string>): Promise<void> {
  await core.createNamespacedPod({
    namespace,
    body: { metadata: { name, labels: { app: name }, annotations }, spec: { containers: [{ name: 'app', image: 'lab.invalid/none' }] } },
  });
}

export async function waitRunning(core: CoreV1Api, namespace: string, name: string, timeoutMs = 60_000): Promise<V1Pod> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pod = await core.readNamespacedPod({ name, namespace });
    if (pod.status?.phase === 'Running' && pod.status.podIP) return pod;
    const failure = pod.status?.conditions?.find((c) => c.reason === 'FailedCreatePodSandBox');
    if (failure) throw new Error(`pod ${namespace}/${name} failed: ${failure.message ?? ''}`);
    if (Date.now() > deadline) throw new Error(`pod ${namespace}/${name} did not start within ${timeoutMs / 1000} s; see weir lab status`);
    await sleep(200);
  }
}

export interface IperfRun {
  /** netns of the iperf3 client */
  clientNetns: string;
  /** netns of the iperf3 server */
  serverNetns: string;
  serverIp: string;
  port?: number;
  seconds?: number;
  /** Seconds at the start left out of the result (TCP slow start, the shaper's initial burst). */
  omitSeconds?: number;
  /** `-R`: the server sends, the client receives. */
  reverse?: boolean;
}

/**
 * Receiver goodput in Mbit/s of one TCP iperf3 run (`end.sum_received`; with `-R` that is the
 * client's side). Throws when iperf3 fails or reports nothing, so a broken run is never read as 0.
 */
export async function iperfMbps(run: IperfRun): Promise<number> {
  const port = String(run.port ?? 5201);
  const server = spawn('ip', ['netns', 'exec', run.serverNetns, 'iperf3', '-s', '-1', '-p', port], { stdio: 'ignore' });
  try {
    await sleep(500);
    const argv = ['iperf3', '-c', run.serverIp, '-p', port, '-t', String(run.seconds ?? 4), '-O', String(run.omitSeconds ?? 0), '-J'];
    if (run.reverse === true) argv.push('-R');
    const result = await execInNetns(run.clientNetns, argv, 60_000);
    let report: unknown;
    try {
      report = JSON.parse(result.stdout);
    } catch {
      throw new Error(`iperf3 to ${run.serverIp} exited ${result.code} without a JSON report: ${result.stderr.trim()}`);
    }
    const bps = readPath(report, ['end', 'sum_received', 'bits_per_second']);
    if (typeof bps !== 'number') {
      const error = readPath(report, ['error']);
      throw new Error(`iperf3 to ${run.serverIp} failed: ${typeof error === 'string' ? error : `exit ${result.code}`}`);
    }
    return bps / 1e6;
  } finally {
    server.kill('SIGKILL');
  }
}

function readPath(value: unknown, path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isRecord(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** Polls `check` until true; returns the milliseconds it took, or undefined on timeout. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await sleep(intervalMs);
  }
  return undefined;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
