import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { findBinaries, startControlPlane } from '../../harness/controlplane/index.js';
import { listNetns, runChecked } from '../../harness/support/netns.js';
import { describeIf } from '../support/privileged.js';

/**
 * A second control plane, started and stopped three ways (stop(), SIGTERM, SIGKILL of its parent),
 * must leave no process, listening port or directory behind. Other suites and helpers run their
 * own processes on this machine, so the checks look only at what this instance owned.
 */

interface Footprint {
  readonly dataDir: string;
  readonly ports: readonly number[];
}

async function processesMentioning(text: string): Promise<string[]> {
  const out = await runChecked(['ps', '-eo', 'pid=,args=']);
  return out.split('\n').filter((l) => l.includes(text) && !l.includes('ps -eo'));
}

async function listeningPorts(): Promise<Set<number>> {
  const out = await runChecked(['ss', '-Hltn']);
  const ports = new Set<number>();
  for (const line of out.split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    const port = local?.slice(local.lastIndexOf(':') + 1);
    if (port !== undefined && /^\d+$/.test(port)) ports.add(Number(port));
  }
  return ports;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Polls until nothing of `fp` is left, or fails listing what is. */
async function expectGone(fp: Footprint, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const procs = await processesMentioning(fp.dataDir);
    const listening = await listeningPorts();
    const ports = fp.ports.filter((p) => listening.has(p));
    const dir = existsSync(fp.dataDir);
    if (procs.length === 0 && ports.length === 0 && !dir) return;
    if (Date.now() > deadline) {
      expect({ procs, ports, dir }).toEqual({ procs: [], ports: [], dir: false });
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Started {
  readonly child: ChildProcess;
  readonly fp: Footprint;
}

/** Starts harness/controlplane/main.ts in a child node process and waits for its ready line. */
function startInChild(): Promise<Started> {
  const main = fileURLToPath(new URL('../../harness/controlplane/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const line = out.split('\n')[0];
      if (!out.includes('\n') || line === undefined) return;
      const info: unknown = JSON.parse(line);
      if (typeof info !== 'object' || info === null || !('dataDir' in info) || !('server' in info) || !('etcdUrl' in info)) {
        return reject(new Error(`unexpected ready line: ${line}`));
      }
      const { dataDir, server, etcdUrl } = info;
      if (typeof dataDir !== 'string' || typeof server !== 'string' || typeof etcdUrl !== 'string') {
        return reject(new Error(`unexpected ready line: ${line}`));
      }
      resolve({ child, fp: { dataDir, ports: [portOf(server), portOf(etcdUrl)] } });
    });
    child.once('exit', (code) => reject(new Error(`control plane child exited ${String(code)} before ready: ${err}`)));
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describeIf(findBinaries().kind === 'found', 'etcd/kube-apiserver binaries missing; run `make bootstrap`')(
  'smoke: a control plane leaves nothing behind',
  () => {
    it('stop() removes processes, ports and the data directory; netns untouched', async () => {
      const netnsBefore = await listNetns();
      const cp = await startControlPlane();
      const fp = { dataDir: cp.dataDir, ports: [portOf(cp.server), portOf(cp.etcdUrl)] };
      expect((await processesMentioning(cp.dataDir)).length).toBeGreaterThanOrEqual(2);
      expect([...(await listeningPorts())]).toEqual(expect.arrayContaining(fp.ports));
      await cp.stop();
      await expectGone(fp, 2_000);
      // Our own netns set must not have changed (others' may have: parallel helpers).
      const netnsAfter = await listNetns();
      expect(netnsAfter.filter((n) => !netnsBefore.includes(n) && n.includes('weir-cp'))).toEqual([]);
    });

    it('SIGTERM to the owning process tears the control plane down', async () => {
      const { child, fp } = await startInChild();
      child.kill('SIGTERM');
      expect((await exited(child)).signal).toBe('SIGTERM');
      await expectGone(fp, 5_000);
    });

    it('SIGKILL of the owning process: the watchdog still cleans up', async () => {
      const { child, fp } = await startInChild();
      child.kill('SIGKILL');
      await exited(child);
      await expectGone(fp, 10_000);
    });
  },
);
