import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { completeLines, readFileIfPresent, readJsonIfPresent } from '../../common/src/files.js';
import { isRecord } from '../../common/src/records.js';
import { labDir, tsEntry } from '../../lab/paths.js';
import { podNetnsName } from '../../lab/simnode/kubelet.js';
import type { LabState } from '../../lab/supervisor.js';
import { UsageError } from './args.js';

/** `weir lab up | down | status | exec`: the local lab, run by a background supervisor process. */

export class CommandError extends Error {}

export function readLabState(dir = labDir()): LabState | undefined {
  const file = join(dir, 'state.json');
  // The supervisor writes it atomically: absent means "not up yet", never half-written.
  const value = readJsonIfPresent(file);
  if (value === undefined) return undefined;
  if (!isRecord(value) || value.version !== 1 || typeof value.kubeconfig !== 'string' || !Array.isArray(value.nodes)) {
    throw new CommandError(`${file} is not a lab state file; remove ${dir} and run: weir lab up`);
  }
  return value as unknown as LabState;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function labUp(nodes: number, out: (line: string) => void): Promise<LabState> {
  const dir = labDir();
  const existing = readLabState(dir);
  if (existing && alive(existing.pid)) {
    out(`The lab is already up (${existing.nodes.length} node(s)). KUBECONFIG=${existing.kubeconfig}`);
    return existing;
  }
  if (process.getuid?.() !== 0) throw new CommandError('the lab creates network namespaces and loads BPF programs: run it as root (sudo)');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { command, args } = tsEntry('lab/daemon.ts');
  const logFd = openSync(join(dir, 'daemon.log'), 'a');
  const daemon = spawn(command, [...args, dir, String(nodes)], { detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  daemon.unref();
  const pid = daemon.pid;
  if (pid === undefined) throw new CommandError('could not start the lab supervisor process');
  const started = Date.now();
  let shown = 0;
  for (;;) {
    const lines = completeLines(readFileIfPresent(join(dir, 'progress.log')) ?? '');
    for (; shown < lines.length; shown++) {
      const line = lines[shown] ?? '';
      if (line === 'ready') continue;
      out(`  [${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);
    }
    const state = readLabState(dir);
    if (state) return state;
    if (!alive(pid)) {
      const failure = readFileIfPresent(join(dir, 'failed.txt')) ?? 'the supervisor exited';
      throw new CommandError(`the lab did not come up: ${failure} (logs in ${dir})`);
    }
    if (Date.now() - started > 300_000) throw new CommandError(`the lab did not come up within 5 minutes; logs in ${dir}; tear down with: weir lab down`);
    await sleep(250);
  }
}

export async function labDown(out: (line: string) => void): Promise<void> {
  const dir = labDir();
  const state = readLabState(dir);
  if (!state || !alive(state.pid)) {
    out('The lab is not running; removing anything a crashed lab left behind.');
    // A lab whose supervisor died: run the teardown in-process.
    const { Lab } = await import('../../lab/supervisor.js');
    const left = await new Lab({ dir, nodes: state?.nodes.length ?? 0, log: () => undefined, persistentControlPlane: true, prefix: state?.prefix ?? process.env.WEIR_LAB_PREFIX }).down();
    reportLeftovers(left, out);
    return;
  }
  out('Tearing down the lab (CNI DEL for every pod, agents, webhook, control plane, underlay)...');
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + 120_000;
  while (alive(state.pid)) {
    if (Date.now() > deadline) throw new CommandError(`the lab supervisor (pid ${state.pid}) did not stop within 2 minutes; kill it with: kill -9 ${state.pid}, then run weir lab down again`);
    await sleep(250);
  }
  const { Lab } = await import('../../lab/supervisor.js');
  const left = await new Lab({ dir, nodes: 0, log: () => undefined, persistentControlPlane: true, prefix: state.prefix }).leftoverReport();
  reportLeftovers(left, out);
}

function reportLeftovers(left: string[], out: (line: string) => void): void {
  if (left.length === 0) {
    out('Done: no lab processes, network namespaces or pinned maps are left.');
    return;
  }
  throw new CommandError(`teardown left behind: ${left.join(', ')}`);
}

export async function labStatus(out: (line: string) => void): Promise<void> {
  const state = readLabState();
  if (!state || !alive(state.pid)) {
    out('The lab is not running. Start it with: make lab   (or: weir lab up)');
    return;
  }
  out(`Lab up since ${state.startedAt} (supervisor pid ${state.pid})`);
  out(`  KUBECONFIG=${state.kubeconfig}`);
  out(`  API server ${state.server}; webhook health ${state.webhookHealthUrl}`);
  for (const node of state.nodes) out(`  node ${node.name}: agent ${node.agentUrl}, CNI socket ${node.cniSocket}, netns ${node.netns}`);
  const core = kubeClient(state).makeApiClient(CoreV1Api);
  const pods = await core.listPodForAllNamespaces();
  out(`  ${pods.items.length} pod(s):`);
  for (const pod of pods.items) {
    out(`    ${pod.metadata?.namespace}/${pod.metadata?.name}  ${pod.status?.phase ?? '?'}  node=${pod.spec?.nodeName ?? '-'}  ip=${pod.status?.podIP ?? '-'}`);
  }
}

export function kubeClient(state: LabState): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  return kc;
}

/** Runs argv inside a lab pod's network namespace, with the terminal attached; returns its exit code. */
export async function labExec(namespace: string, name: string, argv: string[]): Promise<number> {
  if (argv.length === 0) throw new UsageError('nothing to run: weir lab exec <namespace>/<pod> -- <command> [args...]');
  const state = readLabState();
  if (!state || !alive(state.pid)) throw new CommandError('the lab is not running; start it with: weir lab up');
  const core = kubeClient(state).makeApiClient(CoreV1Api);
  const pod = await core.readNamespacedPod({ name, namespace }).catch(() => undefined);
  const uid = pod?.metadata?.uid;
  if (!pod || !uid) throw new CommandError(`pod ${namespace}/${name} not found in the lab; list pods with: weir lab status`);
  if (pod.status?.phase !== 'Running') throw new CommandError(`pod ${namespace}/${name} is ${pod.status?.phase ?? 'not running'}; see: weir lab status`);
  const child = spawn('ip', ['netns', 'exec', podNetnsName(uid, state.prefix), ...argv], { stdio: 'inherit' });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}
