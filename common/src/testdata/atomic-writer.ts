import { writeFileAtomic, writeFileAtomicSync } from '../files.js';

/**
 * The writer side of files.test.ts, in its own process: rewrites one file `rounds` times, alternating
 * the sync and async writers and two payload sizes, then prints "done". Usage: atomic-writer.ts <path> <rounds>
 */
const [path, roundsText] = process.argv.slice(2);
const rounds = Number(roundsText);
if (path === undefined || !Number.isInteger(rounds)) throw new Error('usage: atomic-writer.ts <path> <rounds>');

const payload = (round: number): string =>
  JSON.stringify({ round, filler: 'x'.repeat(round % 2 === 0 ? 200_000 : 3) });

for (let round = 0; round < rounds; round++) {
  if (round % 2 === 0) writeFileAtomicSync(path, payload(round));
  else await writeFileAtomic(path, payload(round));
}
process.stdout.write('done\n');
