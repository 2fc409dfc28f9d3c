import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';

/**
 * Network namespaces and links for tests and the local lab. Every command is an argv array (no
 * shell). A `NetLab` owns what it creates under one name prefix and removes it on cleanup(), at
 * process exit, and — for anything a crashed earlier run left behind — on sweep().
 */

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs argv; never throws for a non-zero exit (the caller asserts), only for a timeout/spawn error. */
export function run(argv: readonly string[], timeoutMs = 30_000): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('run: empty argv'));
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err === null) return resolve({ code: 0, stdout, stderr });
      if (typeof err.code === 'number') return resolve({ code: err.code, stdout, stderr });
      if (err.killed === true) return reject(new Error(`${argv.join(' ')}: killed after ${timeoutMs} ms`));
      // @types/node builds the type with Omit<> from Error, which hides that it is one.
      const error: Error = err;
      reject(error);
    });
  });
}

/** Like run(), but a non-zero exit is an error carrying stderr. */
export async function runChecked(argv: readonly string[], timeoutMs = 30_000): Promise<string> {
  const r = await run(argv, timeoutMs);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

export function netnsPath(name: string): string {
  return `/var/run/netns/${name}`;
}

/** `ip netns exec <ns> argv…` */
export function execInNetns(ns: string, argv: readonly string[], timeoutMs = 30_000): Promise<ExecResult> {
  return run(['ip', 'netns', 'exec', ns, ...argv], timeoutMs);
}

export async function listNetns(): Promise<string[]> {
  const out = await runChecked(['ip', '-j', 'netns', 'list']);
  if (out.trim() === '') return [];
  const parsed: unknown = JSON.parse(out);
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((e: unknown) =>
    typeof e === 'object' && e !== null && 'name' in e && typeof e.name === 'string' ? [e.name] : [],
  );
}

export interface VethOptions {
  /** Namespace for the first end; the current (host) one when omitted. */
  readonly ns?: string;
  /** Namespace for the peer end; same as `ns` when omitted. */
  readonly peerNs?: string;
  readonly mtu?: number;
}

export class NetLab {
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly onExit = (): void => this.cleanupSync();
  private hooked = false;

  /**
   * Namespaces are named `<prefix><pid>-<name>`: the same suite may run in two processes at once
   * (a fresh-clone CI run beside a developer's run of that file), and neither may delete the
   * other's namespaces.
   */
  readonly tag: string;

  /** `prefix` must be unique to the suite, ≤ 8 characters. */
  constructor(readonly prefix: string) {
    if (!/^[a-z][a-z0-9]{0,7}$/.test(prefix)) throw new Error(`NetLab prefix ${JSON.stringify(prefix)}: expected [a-z][a-z0-9]{0,7}`);
    this.tag = `${prefix}${process.pid}`;
  }

  /** Deletes this suite's namespaces whose process is gone, e.g. left by a crashed earlier run. */
  async sweep(): Promise<void> {
    const mine = new RegExp(`^${this.prefix}(\\d+)-`);
    for (const ns of await listNetns()) {
      const pid = mine.exec(ns)?.[1];
      if (pid !== undefined && !processAlive(Number(pid))) await run(['ip', 'netns', 'delete', ns]);
    }
  }

  /** Creates `<prefix><pid>-<name>` with its loopback up and returns the full name. */
  async netns(name: string): Promise<string> {
    const full = `${this.tag}-${name}`;
    this.hook();
    await runChecked(['ip', 'netns', 'add', full]);
    this.namespaces.push(full);
    await runChecked(['ip', '-n', full, 'link', 'set', 'lo', 'up']);
    return full;
  }

  /** A veth pair, both ends up. Links inside our namespaces vanish with them. */
  async veth(name: string, peer: string, opts: VethOptions = {}): Promise<void> {
    const nsArgs = opts.ns === undefined ? [] : ['-n', opts.ns];
    const peerNs = opts.peerNs ?? opts.ns;
    const mtu = opts.mtu === undefined ? [] : ['mtu', String(opts.mtu)];
    await runChecked([
      'ip', ...nsArgs, 'link', 'add', name, ...mtu, 'type', 'veth', 'peer', 'name', peer,
      ...(peerNs === undefined ? [] : ['netns', peerNs]),
    ]);
    await runChecked(['ip', ...nsArgs, 'link', 'set', name, 'up']);
    await runChecked(['ip', ...(peerNs === undefined ? [] : ['-n', peerNs]), 'link', 'set', peer, 'up']);
  }

  /** A long-running process inside `ns` (iperf3 -s, a server…), killed on cleanup. */
  spawnInNetns(ns: string, argv: readonly string[]): ChildProcess {
    this.hook();
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  async cleanup(): Promise<void> {
    for (const c of this.children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of this.namespaces.splice(0).reverse()) await run(['ip', 'netns', 'delete', ns]);
    if (this.hooked) process.off('exit', this.onExit);
    this.hooked = false;
  }

  private hook(): void {
    if (this.hooked) return;
    process.on('exit', this.onExit);
    this.hooked = true;
  }

  private cleanupSync(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of this.namespaces) {
      try {
        execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore', timeout: 5_000 });
      } catch {
        // best effort at exit; sweep() catches what is left
      }
    }
  }
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
