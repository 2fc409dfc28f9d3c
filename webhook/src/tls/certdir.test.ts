import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loopbackPki } from '../../../test/webhook/https.js';
import { startCertDirTls } from './certdir.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function dirWith(cert: string, key: string): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'weir-h7-certdir-'));
  dirs.push(d);
  await writeFile(path.join(d, 'tls.crt'), cert);
  await writeFile(path.join(d, 'tls.key'), key);
  return d;
}

describe('cert-manager mode (mounted certificate)', () => {
  it('loads the pair and hot-reloads when the files change', async () => {
    const a = loopbackPki();
    const b = loopbackPki();
    const dir = await dirWith(a.serving.certPem, a.serving.keyPem);
    const t = await startCertDirTls({ dir, logger, pollIntervalMs: 3_600_000 });
    expect(t.material().cert).toBe(a.serving.certPem);
    const seen: string[] = [];
    t.onChange((m) => seen.push(m.cert));
    expect(await t.check()).toBe(false);
    await writeFile(path.join(dir, 'tls.crt'), b.serving.certPem);
    await writeFile(path.join(dir, 'tls.key'), b.serving.keyPem);
    expect(await t.check()).toBe(true);
    expect(seen).toEqual([b.serving.certPem]);
    t.stop();
  });

  it('ignores a half-written (mismatched) pair and keeps serving the old one', async () => {
    const a = loopbackPki();
    const b = loopbackPki();
    const dir = await dirWith(a.serving.certPem, a.serving.keyPem);
    const t = await startCertDirTls({ dir, logger, pollIntervalMs: 3_600_000 });
    await writeFile(path.join(dir, 'tls.crt'), b.serving.certPem);
    expect(await t.check()).toBe(false);
    expect(t.healthy()).toBe(false);
    expect(t.material().cert).toBe(a.serving.certPem);
    await writeFile(path.join(dir, 'tls.key'), b.serving.keyPem);
    expect(await t.check()).toBe(true);
    expect(t.healthy()).toBe(true);
    t.stop();
  });

  it('refuses to start on a missing or mismatched pair, naming the directory', async () => {
    const a = loopbackPki();
    const b = loopbackPki();
    const dir = await dirWith(a.serving.certPem, b.serving.keyPem);
    await expect(startCertDirTls({ dir, logger })).rejects.toThrow(/does not match/);
    await expect(startCertDirTls({ dir: path.join(dir, 'nope'), logger })).rejects.toThrow(/ENOENT/);
  });
});
