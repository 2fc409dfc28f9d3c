/**
 * Runs the `weir` CLI from this checkout as a user would (bin/weir), with no KUBECONFIG from the
 * test process: each test says which kubeconfig it means with --kubeconfig.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const WEIR_BIN = fileURLToPath(new URL('../../bin/weir', import.meta.url));

export interface CliResult { code: number; stdout: string; stderr: string }

export function runWeir(argv: string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.KUBECONFIG;
    execFile(WEIR_BIN, argv, { env, timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}
