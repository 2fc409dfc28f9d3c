import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tsEntry } from '../../lab/paths.js';
import { armUninstall, CNI_PLUGIN_NAME, removeHostLeftovers, UNINSTALL_MARKER, UNINSTALL_MARKER_TTL_MS, uninstallArmed } from './uninstall.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weir-uninstall-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the uninstall marker: a deliberate uninstall, not an ordinary restart', () => {
  const t0 = Date.parse('2026-11-29T12:00:00Z');

  it('an ordinary stop (no marker) keeps the programs', () => {
    expect(uninstallArmed(join(dir, 'state'), t0).armed).toBe(false);
  });

  it('arming (the pre-delete hook) makes the next stop an uninstall, within the TTL', async () => {
    const state = join(dir, 'state', 'node-a');
    const path = await armUninstall(state, new Date(t0));
    expect(path).toBe(join(state, UNINSTALL_MARKER));
    expect(uninstallArmed(state, t0 + 5_000)).toMatchObject({ armed: true });
    expect(uninstallArmed(state, t0 + UNINSTALL_MARKER_TTL_MS).armed).toBe(true);
  });

  it('a marker left by an aborted uninstall goes stale: a later restart keeps enforcing', async () => {
    const state = join(dir, 'state');
    await armUninstall(state, new Date(t0));
    const verdict = uninstallArmed(state, t0 + UNINSTALL_MARKER_TTL_MS + 1);
    expect(verdict.armed).toBe(false);
    expect(verdict.reason).toMatch(/stale/);
  });

  it.each([
    ['not JSON', 'yes'],
    ['no armedAt', '{}'],
    ['armedAt not a time', '{"armedAt":"soon"}'],
    ['armedAt in the future', '{"armedAt":"2026-11-29T13:00:00Z"}'],
  ])('a marker that is %s does not count (fail towards enforcing)', async (_what, text) => {
    await writeFile(join(dir, UNINSTALL_MARKER), text);
    expect(uninstallArmed(dir, t0).armed).toBe(false);
  });
});

describe('removeHostLeftovers', () => {
  it('removes the pins, the state, the plugin binary and the emptied pin directory, and nothing else', async () => {
    const bpf = join(dir, 'bpf');
    const pinRoot = join(bpf, 'weir', 'node-a');
    const stateDir = join(dir, 'run', 'weir', 'node-a');
    const cniBinDir = join(dir, 'cni-bin');
    for (const d of [join(pinRoot, 'maps'), stateDir, cniBinDir]) await mkdir(d, { recursive: true });
    await writeFile(join(pinRoot, 'maps', 'policy'), '');
    await writeFile(join(stateDir, 'endpoints.json'), '[]');
    await writeFile(join(cniBinDir, CNI_PLUGIN_NAME), '');
    await writeFile(join(cniBinDir, 'macvlan'), '');
    expect(await removeHostLeftovers({ pinRoot, stateDir, cniBinDir })).toEqual([]);
    expect([pinRoot, join(bpf, 'weir'), stateDir, join(cniBinDir, CNI_PLUGIN_NAME)].filter((p) => existsSync(p))).toEqual([]);
    expect(existsSync(join(cniBinDir, 'macvlan'))).toBe(true);
    expect(existsSync(bpf)).toBe(true);
  });

  it('keeps the shared pin directory while another agent\'s pins are in it, and the plugin when no bin dir is mounted', async () => {
    const pinRoot = join(dir, 'weir', 'node-a');
    const other = join(dir, 'weir', 'node-b');
    const cniBinDir = join(dir, 'cni-bin');
    for (const d of [pinRoot, other, cniBinDir]) await mkdir(d, { recursive: true });
    await writeFile(join(cniBinDir, CNI_PLUGIN_NAME), '');
    expect(await removeHostLeftovers({ pinRoot, stateDir: join(dir, 'state'), cniBinDir: undefined })).toEqual([]);
    expect(existsSync(pinRoot)).toBe(false);
    expect(existsSync(other)).toBe(true);
    expect(existsSync(join(cniBinDir, CNI_PLUGIN_NAME))).toBe(true);
  });
});

describe('weir-agent --arm-uninstall (what the pre-delete hook runs in the agent container)', () => {
  it('writes the marker into the configured state dir and exits without starting an agent', async () => {
    const { command, args } = tsEntry('agent/src/main.ts');
    const stateDir = join(dir, 'state', 'node-a');
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(command, [...args, '--arm-uninstall'], { env: { PATH: process.env.PATH ?? '', WEIR_NODE_NAME: 'node-a', WEIR_STATE_DIR: stateDir }, timeout: 30_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('uninstall armed on node-a');
    expect(uninstallArmed(stateDir, Date.now()).armed).toBe(true);
  }, 40_000);
});
