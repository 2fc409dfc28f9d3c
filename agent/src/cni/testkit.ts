/**
 * Test helpers for the CNI plugin suites: build the static `weir` binary once and run it the way a
 * container runtime does (CNI_* environment, config on stdin), with a clean environment.
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** WEIR_TEST_PLUGIN_BIN runs the suites against another build (e.g. one with -fsanitize=address). */
export const PLUGIN_BIN = process.env.WEIR_TEST_PLUGIN_BIN ?? `${REPO_ROOT}build/bin/weir`;

/** Runs `make cni` (a no-op when the binary is fresh). */
export async function buildPlugin(): Promise<string> {
  await promisify(execFile)('make', ['--no-print-directory', '-C', REPO_ROOT, 'cni'], { timeout: 120_000 });
  return PLUGIN_BIN;
}

export interface PluginRun {
  /** Exit status, or null when killed by a signal (a crash). */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface PluginInvocation {
  command: string | undefined;
  stdin: string | Buffer;
  env?: Record<string, string>;
  bin?: string;
  /** Kill after this long (the test's own guard, not the plugin's timeout). */
  killAfterMs?: number;
}

export function runPlugin(inv: PluginInvocation): Promise<PluginRun> {
  const env: Record<string, string> = { PATH: '/usr/bin:/bin', ...inv.env };
  if (process.env.ASAN_OPTIONS !== undefined) env.ASAN_OPTIONS = process.env.ASAN_OPTIONS;
  if (inv.command !== undefined) env.CNI_COMMAND = inv.command;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(inv.bin ?? PLUGIN_BIN, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const guard = setTimeout(() => child.kill('SIGKILL'), inv.killAfterMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(guard);
      resolve({
        status,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: performance.now() - started,
      });
    });
    child.stdin.on('error', () => undefined); // the plugin may exit before reading everything
    child.stdin.end(inv.stdin);
  });
}

/** The env a runtime sets for ADD/DEL/CHECK of one attachment. */
export function attachmentEnv(
  opts: { containerId?: string; netns?: string; ifName?: string; args?: string; socket?: string; runDir?: string } = {},
): Record<string, string> {
  const env: Record<string, string> = {
    CNI_CONTAINERID: opts.containerId ?? 'c0ffee',
    CNI_NETNS: opts.netns ?? '/var/run/netns/h4cni-test',
    CNI_IFNAME: opts.ifName ?? 'eth0',
    CNI_PATH: '/usr/lib/cni',
    CNI_ARGS: opts.args ?? 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns-a;K8S_POD_NAME=pod-1;K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=0b3a-uid',
  };
  if (opts.socket !== undefined) env.WEIR_CNI_SOCKET = opts.socket;
  if (opts.runDir !== undefined) env.WEIR_RUN_DIR = opts.runDir;
  return env;
}
