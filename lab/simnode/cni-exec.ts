import { execFile } from 'node:child_process';
import { join } from 'node:path';

/**
 * Runs CNI plugins the way a container runtime does: the plugin binary from the CNI bin dir,
 * the CNI_* environment, the network configuration on stdin, the result (or a CNI error object)
 * on stdout. Nothing here goes through a shell: names from NAD configs end up only in argv/env/stdin.
 */

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC' | 'VERSION';

export interface CniInvocation {
  command: CniCommand;
  /** Plugin type, the binary's file name; must be a plain name (no path separators). */
  type: string;
  containerId: string;
  netnsPath: string;
  ifName: string;
  /** CNI_ARGS, e.g. IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=pod */
  args: string;
  config: Record<string, unknown>;
  binDir: string;
  /** Extra environment (the lab points the weir plugin at its node's agent socket this way). */
  env?: Record<string, string>;
  /** Run the plugin inside this named network namespace (the simulated node's), not the caller's. */
  netnsToRunIn?: string;
  timeoutMs?: number;
}

export type CniOutcome =
  | { ok: true; result: Record<string, unknown> | undefined }
  | { ok: false; code: number; message: string; details: string };

const PLUGIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export async function runCniPlugin(call: CniInvocation): Promise<CniOutcome> {
  if (!PLUGIN_NAME.test(call.type)) {
    return { ok: false, code: 1, message: `plugin type ${JSON.stringify(call.type)} is not a plain binary name`, details: '' };
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.netnsPath,
    CNI_IFNAME: call.ifName,
    CNI_ARGS: call.args,
    CNI_PATH: call.binDir,
    ...call.env,
  };
  const stdin = JSON.stringify(call.config);
  const { exitCode, stdout, stderr } = await new Promise<{ exitCode: number; stdout: string; stderr: string }>((resolve) => {
    const plugin = join(call.binDir, call.type);
    const [file, argv] = call.netnsToRunIn === undefined
      ? [plugin, []]
      : ['ip', ['netns', 'exec', call.netnsToRunIn, plugin]];
    const child = execFile(file, argv, { env, timeout: call.timeoutMs ?? 30_000, maxBuffer: 4 << 20 },
      (error, out, err) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ exitCode: code, stdout: String(out), stderr: String(err) });
      });
    child.stdin?.end(stdin);
  });
  const parsed = parseJsonObject(stdout);
  if (exitCode === 0) return { ok: true, result: parsed };
  const code = typeof parsed?.code === 'number' ? parsed.code : exitCode;
  const message = typeof parsed?.msg === 'string' ? parsed.msg : (stderr.trim() || stdout.trim() || `exit code ${exitCode}`);
  const details = typeof parsed?.details === 'string' ? parsed.details : stderr.trim();
  return { ok: false, code, message: `${call.type}: ${message}`, details };
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
