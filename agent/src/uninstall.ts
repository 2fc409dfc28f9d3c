/**
 * A deliberate uninstall, told apart from an ordinary restart. SIGTERM alone cannot tell them apart
 * (a rolling update, a node reboot and `helm uninstall` all send it), and an agent that detached
 * its programs on every SIGTERM would open an enforcement gap at each restart. So the chart's
 * pre-delete hook (charts/weir/templates/uninstall-hook.yaml, `weir uninstall --prepare`) runs
 * `weir-agent --arm-uninstall` inside every agent container first: that writes a marker into the
 * node's state directory. An agent stopping with a fresh marker cleans its node up as `--cleanup`
 * does, and also removes what the chart put on the host (the `weir` CNI plugin binary, the empty
 * pin directory). A marker older than UNINSTALL_MARKER_TTL_MS (an uninstall that was aborted after
 * its hook) is ignored, so a later ordinary restart keeps enforcing.
 */
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorMessage } from '../../common/src/errors.js';
import { readFileIfPresent, writeFileAtomic } from '../../common/src/files.js';
import { isRecord } from '../../common/src/records.js';

export const UNINSTALL_MARKER = 'uninstall-armed.json';
/** helm deletes the DaemonSet seconds after its pre-delete hooks succeed; 10 minutes is ample. */
export const UNINSTALL_MARKER_TTL_MS = 10 * 60_000;
/** The plugin's file name in the CNI bin dir (the chart's install-cni init container writes it). */
export const CNI_PLUGIN_NAME = 'weir';

export async function armUninstall(stateDir: string, now: Date): Promise<string> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, UNINSTALL_MARKER);
  await writeFileAtomic(path, `${JSON.stringify({ armedAt: now.toISOString() })}\n`);
  return path;
}

export interface UninstallVerdict {
  readonly armed: boolean;
  /** Why, for the stop log line. */
  readonly reason: string;
}

/** Reads the marker; never throws (an unreadable marker means "not an uninstall": keep enforcing). */
export function uninstallArmed(stateDir: string, nowMs: number): UninstallVerdict {
  const path = join(stateDir, UNINSTALL_MARKER);
  let text: string | undefined;
  try {
    text = readFileIfPresent(path);
  } catch (error) {
    return { armed: false, reason: `${path} unreadable (${errorMessage(error)}): treated as an ordinary stop` };
  }
  if (text === undefined) return { armed: false, reason: 'no uninstall marker: an ordinary stop' };
  let armedAt: number = Number.NaN;
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed) && typeof parsed.armedAt === 'string') armedAt = Date.parse(parsed.armedAt);
  } catch {
    // fall through: NaN
  }
  if (Number.isNaN(armedAt)) return { armed: false, reason: `${path} does not hold {"armedAt": <ISO time>}: treated as an ordinary stop` };
  const ageMs = nowMs - armedAt;
  if (ageMs > UNINSTALL_MARKER_TTL_MS) return { armed: false, reason: `uninstall marker from ${new Date(armedAt).toISOString()} is stale (an aborted uninstall?): an ordinary stop` };
  if (ageMs < -60_000) return { armed: false, reason: `uninstall marker from ${new Date(armedAt).toISOString()} is in the future: treated as an ordinary stop` };
  return { armed: true, reason: `uninstall armed at ${new Date(armedAt).toISOString()} (helm pre-delete hook)` };
}

export interface HostLeftovers {
  readonly pinRoot: string;
  /** The host's CNI bin dir as mounted in the agent container; undefined: not mounted, left alone. */
  readonly cniBinDir: string | undefined;
  readonly stateDir: string;
}

/**
 * After the endpoints are detached: the pins, the state (with the marker), the plugin binary, and
 * the pin root's parent when no other agent's pins share it. Each step is tried; failures are
 * returned (for the log), never thrown, so one stuck file does not keep the rest behind.
 */
export async function removeHostLeftovers(paths: HostLeftovers): Promise<string[]> {
  const failures: string[] = [];
  const attempt = async (what: string, step: () => Promise<void>): Promise<void> => {
    try {
      await step();
    } catch (error) {
      failures.push(`${what}: ${errorMessage(error)}`);
    }
  };
  await attempt(paths.pinRoot, () => rm(paths.pinRoot, { recursive: true, force: true }));
  await attempt(paths.stateDir, () => rm(paths.stateDir, { recursive: true, force: true }));
  if (paths.cniBinDir !== undefined) {
    const plugin = join(paths.cniBinDir, CNI_PLUGIN_NAME);
    await attempt(plugin, () => rm(plugin, { force: true }));
  }
  // /sys/fs/bpf/weir holds one directory per node name; remove it only once it is empty.
  await attempt(dirname(paths.pinRoot), async () => {
    await rmdir(dirname(paths.pinRoot)).catch((error: unknown) => {
      if (error instanceof Error && 'code' in error && (error.code === 'ENOTEMPTY' || error.code === 'ENOENT' || error.code === 'EBUSY')) return;
      throw error;
    });
  });
  return failures;
}
