import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { completeLines, readFileIfPresent, readJsonIfPresent } from '../common/src/files.js';
import { isRecord } from '../common/src/records.js';
import { intOption, parseCommandArgs, podRef, UsageError } from '../cli/src/args.js';
import { CommandError } from '../cli/src/errors.js';
import { runDemo } from './demo.js';
import { labDir, tsEntry } from './paths.js';
import { podNetnsName } from './simnode/kubelet.js';
import type { LabState } from './supervisor.js';

/**
 * `weir lab up | down | status | exec`: the local lab, run by a background supervisor process.
 * The CLI loads this module only for `weir lab` and, when no kubeconfig is given, to find the
 * running lab's (lab/ is not part of an installed CLI).
 */

export const LAB_HELP = `weir lab up [--nodes N] [--no-demo] | down | status | exec <ns>/<pod> -- <cmd...>
  up      starts etcd + kube-apiserver, the webhook, one agent and one simulated node per --nodes (default 2),
          then walks through the demo (skip it with --no-demo). The lab keeps running; its kubeconfig is printed.
  down    stops everything and removes network namespaces, pinned maps and state.
  status  prints the lab's endpoints and pods.
  exec    runs a command inside a pod's network namespace (e.g. weir lab exec demo/client -- ping -c1 10.77.0.3).`;

export async function labCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const args = parseCommandArgs(argv, { nodes: { type: 'string' }, 'no-demo': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  const [sub, target] = args.positionals;
  if (args.values.help === true || sub === undefined) {
    out(LAB_HELP);
    return sub === undefined && args.values.help !== true ? 2 : 0;
  }
  switch (sub) {
    case 'up': {
      const nodes = intOption(args.values.nodes, 'nodes', 1, 8) ?? 2;
      out(`Bringing up the Weir lab with ${nodes} node(s)...`);
      const state = await labUp(nodes, out);
      if (args.values['no-demo'] !== true) await runDemo(state, out);
      out('');
      out('The lab keeps running. Go on with kubectl:');
      out(`  export KUBECONFIG=${state.kubeconfig}`);
      out(`  export PATH=$HOME/.cache/weir/bin:$PATH     # kubectl built by the bootstrap`);
      out('  kubectl get pods -A -o wide');
      out('  weir observe --verdict dropped              # live flows');
      out('  weir lab exec demo/client -- ping -c1 <ip>  # run a command in a pod');
      out('Tear it down with: make lab-down   (or: weir lab down)');
      return 0;
    }
    case 'down': await labDown(out); return 0;
    case 'status': await labStatus(out); return 0;
    case 'exec': {
      const ref = podRef(target, 'the pod');
      return labExec(ref.namespace, ref.name, args.rest);
    }
    default: throw new UsageError(`unknown lab command ${JSON.stringify(sub)}; use up, down, status or exec`);
  }
}

/** The running lab, if any: its kubeconfig and its agents' loopback API URLs (lab agents are processes, not pods). */
export function runningLab(): { kubeconfig: string; agentUrls: string[] } | undefined {
  const state = readLabState();
  if (!state || !alive(state.pid)) return undefined;
  return { kubeconfig: state.kubeconfig, agentUrls: state.nodes.map((n) => n.agentUrl) };
}

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
    const { Lab } = await import('./supervisor.js');
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
  const { Lab } = await import('./supervisor.js');
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
