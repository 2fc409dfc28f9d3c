import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  return { command: process.execPath, args: ['--import', import.meta.resolve('tsx'), join(REPO_ROOT, relativeToRepo)] };
}
