import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

/**
 * Files one process writes and another reads must be written atomically (common/src/files.ts): a plain
 * writeFile truncates first, and a polling reader on a loaded machine then sees an empty file (the
 * `weir lab up` "Unexpected end of JSON input" failure). Shipped code therefore has no plain writeFile;
 * the only exceptions are listed here with the reason.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ALLOWED: Record<string, string> = {
  'common/src/files.ts': 'the atomic writer itself',
  'bench/report.ts': 'the benchmark report, written and read by the same benchmark process only',
};
const SKIP_DIRS = new Set(['node_modules', 'dist', 'build', '.git', 'test']);

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.')) out.push(...sources(join(dir, entry.name)));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      out.push(join(dir, entry.name));
    }
  }
  return out;
}

it('shipped code writes shared files only through the atomic writer', () => {
  const offenders = sources(ROOT)
    .map((file) => relative(ROOT, file))
    .filter((file) => !(file in ALLOWED))
    .filter((file) => /\bwriteFile(Sync)?\s*\(|\bwriteFile\b.*from 'node:fs/.test(readFileSync(join(ROOT, file), 'utf8')));
  expect(offenders).toEqual([]);
});

it('the check sees the files it exempts (it is looking in the right place)', () => {
  const seen = new Set(sources(ROOT).map((file) => relative(ROOT, file)));
  for (const file of Object.keys(ALLOWED)) expect(seen.has(file), file).toBe(true);
});
