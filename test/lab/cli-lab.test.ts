/**
 * The README's first command, tried as a new user would: `weir lab up` brings the whole system up
 * and the demo prints what the README promises; `weir lab status / explain / lab exec` work on it;
 * `weir lab down` leaves nothing behind. The lab gets its own directory and name prefix, so it never
 * touches a lab someone else is running on this machine.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { describePrivileged } from '../support/privileged.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEIR = join(ROOT, 'bin/weir');
const PREFIX = `wt${process.pid % 1000}`;
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Result { code: number; stdout: string; stderr: string }

function weir(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Result> {
  return new Promise((resolve) => {
    execFile(WEIR, argv, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment of a user's shell, minus anything that would point the CLI at another cluster. */
function userEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, PATH: `${join(homedir(), '.cache/weir/bin')}:${process.env.PATH ?? ''}` };
  delete env.KUBECONFIG;
  return env;
}

describe('weir CLI: usage errors', () => {
  const env = userEnv({ WEIR_LAB_DIR: join(tmpdir(), 'weir-no-such-lab') });

  it('`weir lab exec nope` exits 2 with one line that names the expected form', async () => {
    const r = await weir(['lab', 'exec', 'nope'], env, 30_000);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('<namespace>/<pod>');
  }, 40_000);

  it('`weir observe --verdict maybe` exits 2 with one line', async () => {
    const r = await weir(['observe', '--verdict', 'maybe'], env, 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--verdict');
  }, 40_000);
});

describePrivileged('weir lab: up, demo, status, explain, exec, down (as a new user would)', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'weir-cli-lab-')), 'lab');
  const env = userEnv({ WEIR_LAB_DIR: dir, WEIR_LAB_PREFIX: PREFIX });
  let up: Result | undefined;
  let downed = false;

  afterAll(async () => {
    // Whatever failed above, the lab must not outlive the test.
    if (!downed && existsSync(dir)) {
      const r = await weir(['lab', 'down'], env, 150_000);
      if (r.code !== 0) process.stderr.write(`cleanup: weir lab down exited ${r.code}: ${r.stderr}\n`);
    }
    if (!existsSync(dir)) rmdirSync(dirname(dir));
  }, 180_000);

  it('weir lab up --nodes 1: the demo prints the refusal, the blocked ping, the drop and the measured bandwidth', async () => {
    const started = Date.now();
    up = await weir(['lab', 'up', '--nodes', '1'], env, 240_000);
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`\n[cli-lab] weir lab up --nodes 1 (with the demo) took ${seconds.toFixed(1)} s\n`);
    if (up.code !== 0) process.stdout.write(`${up.stdout}\n${up.stderr}\n`);
    expect(up.code, up.stderr).toBe(0);
    const out = up.stdout;

    // The refusal, exactly as the README shows it.
    const readmeRefusal = README.split('\n').find((l) => l.trim().startsWith('refused: admission webhook')) ?? '(none in README)';
    expect(out).toContain('NAD_PLUGIN_NEAR_MISS');
    expect(out.split('\n').map((l) => l.trim())).toContain(readmeRefusal.trim());

    expect(out).toContain('ping OK');
    expect(out).toMatch(/ping blocked \(\d+ ms after the policy was created\)/);

    // A drop line of the form the README shows (`demo/client -> demo/server ICMP DROPPED (policy …, ingress)`).
    expect(out).toMatch(/^ {4}demo\/client -> demo\/server ICMP DROPPED \(policy .+, ingress\)$/m);
    const readmeDrop = README.split('\n').find((l) => l.includes(' DROPPED ('))?.trim() ?? '(none in README)';
    expect(out.split('\n').map((l) => l.trim())).toContain(readmeDrop);

    const measured = /measured ([\d.]+) Mbit\/s for a 50M limit \((\d+)% of the rate\)/.exec(out);
    expect(measured, 'the bandwidth line').not.toBeNull();
    const mbps = Number(measured?.[1]);
    process.stdout.write(`[cli-lab] measured ${mbps} Mbit/s for the 50M limit\n`);
    expect(mbps).toBeGreaterThanOrEqual(50 * 0.85);
    expect(mbps).toBeLessThanOrEqual(50 * 1.15);

    // It leaves the lab running and says how to go on.
    expect(out).toContain(`export KUBECONFIG=${dir}`);
    expect(out).toContain('weir lab down');
  }, 260_000);

  it('weir lab status lists the demo pods', async () => {
    expect(up?.code).toBe(0);
    const r = await weir(['lab', 'status'], env, 60_000);
    expect(r.code, r.stderr).toBe(0);
    for (const pod of ['client', 'server', 'limited']) expect(r.stdout).toMatch(new RegExp(`demo/${pod}\\s+Running`));
  }, 70_000);

  it('weir explain demo/server --from demo/client --port 80/TCP: ALLOWED (the demo deleted its deny-all)', async () => {
    expect(up?.code).toBe(0);
    const r = await weir(['explain', 'demo/server', '--from', 'demo/client', '--port', '80/TCP'], env, 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('pod demo/server on node node-1');
    expect(r.stdout).toMatch(/demo\/client -> demo\/server 80\/TCP: ALLOWED/);
  }, 70_000);

  it('weir lab exec demo/client -- ip -br addr shows the pod address', async () => {
    expect(up?.code).toBe(0);
    const r = await weir(['lab', 'exec', 'demo/client', '--', 'ip', '-br', 'addr'], env, 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\b10\.77\.0\.\d+\/24\b/);
  }, 70_000);

  it('weir lab down exits 0 and leaves no netns, pinned maps, processes or lab directory', async () => {
    const r = await weir(['lab', 'down'], env, 150_000);
    downed = true;
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('Done: no lab processes, network namespaces or pinned maps are left.');

    const netns = (existsSync('/run/netns') ? readdirSync('/run/netns') : []).filter((n) => n.startsWith(`${PREFIX}-`));
    expect(netns).toEqual([]);
    expect(existsSync(`/sys/fs/bpf/${PREFIX}`)).toBe(false);
    expect(processesMentioning(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 160_000);
});

/** Processes whose command line contains `text`, as "pid: cmdline". */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue; // exited meanwhile
    }
    if (cmdline.includes(text)) found.push(`${pid}: ${cmdline}`);
  }
  return found;
}
