import { homedir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Where things are: the repository, its build outputs, and the lab's state directory. */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const BPF_OBJECT_DIR = join(REPO_ROOT, 'build', 'bpf');
export const CNI_PLUGIN_BINARY = join(REPO_ROOT, 'build', 'bin', 'weir');
export const REFERENCE_CNI_DIR = '/usr/lib/cni';

export function labDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.WEIR_LAB_DIR ?? join(homedir(), '.weir-lab');
}

/**
 * Arguments that run a TypeScript entry point with Node through tsx, from any working directory
 * (the loader is resolved to an absolute URL here, not looked up relative to the cwd).
 */
export function tsEntry(relativeToRepo: string): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', tsxLoaderUrl(), join(REPO_ROOT, relativeToRepo)] };
}

/**
 * tsx's loader as a file URL. Not `import.meta.resolve`: vitest's module runner (the e2e suites
 * create a Lab in-process) does not provide it. tsx's one export is its ESM loader, which
 * require.resolve finds as well.
 */
function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}
