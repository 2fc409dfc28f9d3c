import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { completeLines, readJsonIfPresent, writeFileAtomicSync } from './files.js';
import { isRecord } from './records.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'weir-files-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('atomic files: one writer process against a polling reader', () => {
  it('the reader sees no file or a whole payload, never an empty or partial one, over thousands of rewrites', async () => {
    const dir = tempDir();
    const file = join(dir, 'state.json');
    const rounds = 4000;
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const writer = spawn(process.execPath, ['--import', tsx, fileURLToPath(new URL('./testdata/atomic-writer.ts', import.meta.url)), file, String(rounds)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    writer.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => writer.once('exit', resolve));

    let reads = 0;
    let absent = 0;
    const roundsSeen = new Set<number>();
    // Synchronous reads in bursts, yielding between bursts so the exit event can arrive (both codes
    // stay null until it has).
    while (writer.exitCode === null && writer.signalCode === null) {
      for (let i = 0; i < 200; i++) {
        const value = readJsonIfPresent(file); // throws, naming the file, on a torn read
        reads++;
        if (value === undefined) {
          absent++;
          continue;
        }
        if (!isRecord(value) || typeof value.round !== 'number' || typeof value.filler !== 'string') throw new Error(`unexpected content: ${JSON.stringify(value).slice(0, 80)}`);
        expect(value.filler.length).toBe(value.round % 2 === 0 ? 200_000 : 3);
        roundsSeen.add(value.round);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect({ code: await exited, stderr }).toEqual({ code: 0, stderr: '' });
    expect(readJsonIfPresent(file)).toMatchObject({ round: rounds - 1 });
    // The reader really raced the writer: it read many times and saw many different versions.
    expect(reads).toBeGreaterThan(1000);
    expect(roundsSeen.size).toBeGreaterThan(50);
    expect(absent).toBeLessThan(reads);
    // No temp files are left beside the target.
    expect(readdirSync(dir)).toEqual(['state.json']);
  }, 120_000);
});

describe('readJsonIfPresent', () => {
  it('a missing file is "not yet"', () => {
    expect(readJsonIfPresent(join(tempDir(), 'absent.json'))).toBeUndefined();
  });

  it('a file that exists but does not parse is an error naming the path', () => {
    const file = join(tempDir(), 'broken.json');
    writeFileSync(file, '{"half": ');
    expect(() => readJsonIfPresent(file)).toThrow(`${file} exists but is not valid JSON`);
  });

  it('reads what writeFileAtomicSync wrote, with the requested mode', () => {
    const file = join(tempDir(), 'x.json');
    writeFileAtomicSync(file, '{"a":1}', 0o640);
    expect(readJsonIfPresent(file)).toEqual({ a: 1 });
    expect(statSync(file).mode & 0o777).toBe(0o640);
  });
});

describe('completeLines', () => {
  it('leaves a last line without its newline for the next poll', () => {
    expect(completeLines('')).toEqual([]);
    expect(completeLines('start')).toEqual([]);
    expect(completeLines('a\nb\nhalf')).toEqual(['a', 'b']);
    expect(completeLines('a\n\nb\n')).toEqual(['a', 'b']);
  });
});
