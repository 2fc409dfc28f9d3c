import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const main = 'webhook/src/main.ts';

async function exec(env: Record<string, string>, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', main, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('webhook main', () => {
  it('--help prints the environment contract and exits 0', async () => {
    const r = await exec({}, ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/WEIR_WEBHOOK_PORT/);
    expect(r.stdout).toMatch(/WEIR_TLS_MODE/);
  });

  it('bad configuration exits 2 with one clear line', async () => {
    const r = await exec({ WEIR_TLS_MODE: 'acme', WEIR_WEBHOOK_PORT: 'x' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^weir webhook: bad configuration: WEIR_WEBHOOK_PORT="x": must be a port number 1..65535; WEIR_TLS_MODE="acme"/);
  });

  it('no kubeconfig and not in a cluster exits 2 saying so', async () => {
    const r = await exec({ WEIR_NAMESPACE: 'weir' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^weir webhook: cannot load kubeconfig/);
  });
});
