import { startControlPlane } from './index.js';

/**
 * Runs a control plane until SIGINT/SIGTERM: `node --import tsx harness/controlplane/main.ts [dataDir]`.
 * Prints one JSON line (kubeconfigPath, server, etcdUrl, dataDir, pids, startupMs) on stdout once
 * ready. Used by the leaves-nothing-behind smoke test and handy for poking at the API by hand.
 */
async function main(): Promise<void> {
  const dataDir = process.argv[2];
  const cp = await startControlPlane(dataDir === undefined ? {} : { dataDir });
  const { kubeconfigPath, server, etcdUrl, pids, startupMs } = cp;
  process.stdout.write(JSON.stringify({ kubeconfigPath, server, etcdUrl, dataDir: cp.dataDir, pids, startupMs }) + '\n');
  // Keep running; the control plane's own signal handlers tear it down and end the process.
  setInterval(() => undefined, 1 << 30);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
