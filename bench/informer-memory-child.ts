/**
 * One measurement for bench/informer-memory.ts, in a process of its own so RSS is not shared:
 * N pods reach a Reflector as watch events (each its own wire JSON, parsed on its own) and the
 * memory the cache then holds is reported, with the agent's slimming (agent/src/kube/slim.ts) or
 * without it.
 *
 *   node --expose-gc --import tsx bench/informer-memory-child.ts raw|slim <pods>
 */
import { rawObject } from '../common/src/kube/kube-source.js';
import { fakeWatch } from '../common/src/kube/fake-watch.js';
import { Reflector } from '../common/src/kube/reflector.js';
import { fatPod } from '../agent/src/kube/testkit.js';
import { slimObject } from '../agent/src/kube/slim.js';

const variant = process.argv[2];
const pods = Number(process.argv[3] ?? 10_000);
if (variant !== 'raw' && variant !== 'slim') throw new Error('usage: informer-memory-child.ts raw|slim <pods>');
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

function settle(): { rss: number; heap: number } {
  for (let i = 0; i < 3; i++) gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

async function main(): Promise<void> {
  const watch = fakeWatch();
  const reflector = new Reflector<unknown>({
    resource: 'pod',
    watchPath: '/api/v1/pods',
    list: async () => ({ items: [], resourceVersion: '1' }),
    watch: watch.fn,
    parse: variant === 'slim' ? (o) => rawObject(slimObject('pod', o)) : rawObject,
    logger: { info: () => undefined, warn: () => undefined },
  });
  reflector.start();
  await reflector.waitForSync(10_000);
  while (watch.opened.length === 0) await new Promise((r) => setTimeout(r, 5));
  const before = settle();
  let wireBytes = 0;
  const started = performance.now();
  for (let i = 0; i < pods; i++) {
    // Each pod arrives as the wire JSON of one watch event, parsed on its own (as client-node does).
    const line = JSON.stringify(fatPod(i, `ns-${i % 100}`));
    wireBytes += line.length;
    watch.emit('ADDED', JSON.parse(line));
  }
  const ingestMs = performance.now() - started;
  const after = settle();
  if (reflector.size() !== pods) throw new Error(`cached ${reflector.size()} of ${pods} pods`);
  process.stdout.write(`${JSON.stringify({ variant, pods, wireBytes, heapBytes: after.heap - before.heap, rssBefore: before.rss, rssAfter: after.rss, ingestMs })}\n`);
  await reflector.stop();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
