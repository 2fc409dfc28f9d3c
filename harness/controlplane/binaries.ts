import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export type Binaries =
  | { readonly kind: 'found'; readonly etcd: string; readonly kubeApiserver: string }
  | { readonly kind: 'missing'; readonly missing: readonly string[]; readonly dir: string };

/** Where scripts/build-go-tools.sh puts etcd and kube-apiserver; WEIR_BIN_DIR overrides it. */
export function binDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.WEIR_BIN_DIR;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(homedir(), '.cache', 'weir', 'bin');
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findBinaries(env: NodeJS.ProcessEnv = process.env): Binaries {
  const dir = binDir(env);
  const etcd = join(dir, 'etcd');
  const kubeApiserver = join(dir, 'kube-apiserver');
  const missing = [etcd, kubeApiserver].filter((p) => !executable(p));
  return missing.length === 0 ? { kind: 'found', etcd, kubeApiserver } : { kind: 'missing', missing, dir };
}
