import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../common/src/errors.js';
import { writeFileAtomicSync } from '../common/src/files.js';
import { Lab, writeState } from './supervisor.js';

/**
 * The lab's background process (`weir lab up` starts it detached): brings the lab up, reports
 * progress line by line in progress.log, writes state.json when ready, and tears everything down
 * on SIGTERM/SIGINT. Usage: node --import tsx lab/daemon.ts <dir> <nodes>
 */
async function main(): Promise<void> {
  const [dir, nodesText] = process.argv.slice(2);
  const nodes = Number(nodesText);
  if (dir === undefined || !Number.isInteger(nodes) || nodes < 1) throw new Error('usage: lab/daemon.ts <dir> <nodes>');
  const progress = (line: string) => appendFileSync(join(dir, 'progress.log'), `${line}\n`);
  const log = (line: string) => appendFileSync(join(dir, 'lab.log'), `${new Date().toISOString()} ${line}\n`);
  const lab = new Lab({ dir, nodes, log, persistentControlPlane: true, prefix: process.env.WEIR_LAB_PREFIX });
  let stopping = false;
  const stop = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    const left = await lab.down({ keepLogs: exitCode !== 0 }).catch((error: unknown) => [`teardown error: ${String(error)}`]);
    for (const item of left) process.stderr.write(`left behind: ${item}\n`);
    process.exit(left.length > 0 ? 1 : exitCode);
  };
  // `on`, not `once`: the control plane's own handler re-raises a signal nobody else listens to,
  // which would end this process before the teardown below has run.
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
  try {
    const state = await lab.up(progress);
    await writeState(dir, state);
    progress('ready');
  } catch (error) {
    const message = errorMessage(error);
    // failed.txt before the progress line: a reader that sees "failed" finds the whole message.
    writeFileAtomicSync(join(dir, 'failed.txt'), message);
    progress(`failed: ${message}`);
    await stop(1);
  }
  setInterval(() => undefined, 1 << 30);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
