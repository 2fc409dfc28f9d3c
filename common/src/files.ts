import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorMessage } from './errors.js';

/**
 * Files that one process writes and another reads (the lab's state.json and failed.txt, the agent's
 * endpoint registry, kubeconfigs). A plain writeFile truncates and then writes, so a reader polling
 * on a loaded machine can see an empty or half-written file. Here every write goes to a temp file in
 * the same directory, is fsynced, and is renamed over the target: a reader sees the old file, no file,
 * or the whole new one, never a part.
 */

let sequence = 0;

/** A temp name beside `path` (same filesystem, so rename is atomic), unique per process and call. */
function tempPathFor(path: string): string {
  sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
  return join(dirname(path), `.${basename(path)}.${process.pid}.${sequence}.tmp`);
}

export function writeFileAtomicSync(path: string, data: string, mode = 0o600): void {
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      const bytes = Buffer.from(data, 'utf8');
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    const handle = await open(tmp, 'w', mode);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}

/** The file's text, or undefined when it does not exist yet ("not yet", for pollers). */
export function readFileIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * The parsed JSON of a file, or undefined when it does not exist yet. A file that exists but does
 * not parse can only come from a broken writer (writes are atomic), so it is an error naming the path.
 */
export function readJsonIfPresent(path: string): unknown {
  const text = readFileIfPresent(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${path} exists but is not valid JSON (${errorMessage(error)}); the process that writes it is broken`);
  }
}

/**
 * The complete lines of an append-only log another process is writing: a last line without its
 * newline may still be mid-write, so it is left for the next poll.
 */
export function completeLines(text: string): string[] {
  const end = text.lastIndexOf('\n');
  if (end < 0) return [];
  return text.slice(0, end).split('\n').filter((line) => line !== '');
}
