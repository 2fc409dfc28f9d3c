import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/**
 * Child processes of the control plane. Each runs in its own process group (detached) so that
 * stopping it also stops anything it forked, and its output goes straight to a log file (no pipe
 * keeps the parent's event loop busy or fills up).
 */
export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves with the exit description once the process has gone. */
  readonly exited: Promise<string>;
  /** True once the process has exited. */
  hasExited(): boolean;
}

export function startDaemon(name: string, binary: string, args: readonly string[], logPath: string, env?: NodeJS.ProcessEnv): Daemon {
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
  } finally {
    closeSync(fd);
  }
  let done = false;
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => {
      done = true;
      resolve(`${name} failed to start: ${err.message}`);
    });
    child.once('exit', (code, signal) => {
      done = true;
      resolve(`${name} exited (code ${String(code)}, signal ${String(signal)})`);
    });
  });
  // The parent must not wait for the daemon to exit on its own.
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    return { name, pid: -1, logPath, exited, hasExited: () => true };
  }
  return { name, pid, logPath, exited, hasExited: () => done };
}

/** Signals a whole process group; a group that is already gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch (err: unknown) {
    if (!(err instanceof Error && 'code' in err && err.code === 'ESRCH')) throw err;
  }
}

/** SIGTERM, then SIGKILL after `graceMs` if the daemon is still there. */
export async function stopDaemon(d: Daemon, graceMs = 5_000): Promise<void> {
  if (d.hasExited()) {
    signalGroup(d.pid, 'SIGKILL'); // stragglers it may have forked
    return;
  }
  signalGroup(d.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const outcome = await Promise.race([d.exited, timedOut]);
  clearTimeout(timer);
  signalGroup(d.pid, 'SIGKILL');
  if (outcome === 'timeout') await d.exited;
}

/** The last `lines` lines of a daemon's log, for error messages. */
export function logTail(d: Daemon, lines = 30): string {
  try {
    const text = readFileSync(d.logPath, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * A watchdog for the case no handler can catch: the parent being SIGKILLed. It polls the parent
 * and, once the parent is gone, kills the daemons' process groups and removes the data directory.
 * The script text is constant; pids and the directory are passed as positional arguments.
 */
const REAPER_SCRIPT = [
  'parent=$1; dir=$2; shift 2',
  'while kill -0 "$parent" 2>/dev/null; do sleep 1; done',
  // dash's kill takes no `--`; a negative pid after the signal names the process group.
  'for g in "$@"; do kill -KILL "-$g" 2>/dev/null; done',
  'if [ -n "$dir" ]; then rm -rf -- "$dir"; fi',
].join('\n');

export function startReaper(groups: readonly number[], removeDir: string | undefined): ChildProcess {
  const child = spawn(
    '/bin/sh',
    ['-c', REAPER_SCRIPT, 'weir-cp-reaper', String(process.pid), removeDir ?? '', ...groups.map(String)],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  return child;
}
