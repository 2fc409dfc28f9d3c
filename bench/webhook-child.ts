/**
 * The webhook process the benchmark measures (spawned by bench/webhook.ts): the real HTTPS
 * server and, in `weir` mode, the real decisions over an in-memory ClusterView (what the informer
 * caches hold); in `allow-all` mode a decider that allows everything untouched. Prints
 * `PORT <n>` once listening, exits on SIGTERM.
 */
import { pino } from 'pino';
import { denialMessage, mutateNad, mutatePod, validateNad, validatePod } from '../webhook/src/decide/index.js';
import type { ClusterView, Decider, NadInfo } from '../webhook/src/server/contract.js';
import { startWebhookServer } from '../webhook/src/server/server.js';
import { generateCa, issueServingCert } from '../webhook/src/tls/certs.js';

export const BENCH_NS = 'bench';

function nad(name: string, extra: unknown[]): NadInfo {
  return {
    namespace: BENCH_NS,
    name,
    annotations: {},
    config: JSON.stringify({
      cniVersion: '1.0.0',
      name,
      plugins: [{ type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'spiderpool' } }, { type: 'weir' }, ...extra],
    }),
  };
}

const nads = new Map<string, NadInfo>(
  [nad('underlay-a', [{ type: 'coordinator' }]), nad('underlay-b', []), nad('underlay-c', [])].map((n) => [n.name, n]),
);
const view: ClusterView = {
  namespace: (name) => (name === BENCH_NS ? { name, labels: { 'weir.dev/inject': 'enabled' }, annotations: {} } : undefined),
  nad: (ns, name) => (ns === BENCH_NS ? nads.get(name) : undefined),
  coordinator: (name) => (name === 'default' ? { name, phase: 'Synced', reason: undefined } : undefined),
};

const weir: Decider = { mutatePod, validatePod, mutateNad, validateNad, denialMessage };
const allowAll: Decider = {
  mutatePod: () => ({ kind: 'allow', patch: [], warnings: [] }),
  validatePod: () => ({ kind: 'allow', patch: [], warnings: [] }),
  mutateNad: () => ({ kind: 'allow', patch: [], warnings: [] }),
  validateNad: () => ({ kind: 'allow', patch: [], warnings: [] }),
  denialMessage: () => '',
};

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (mode !== 'weir' && mode !== 'allow-all') throw new Error('usage: webhook-child.ts weir|allow-all <caOutFile>');
  const now = new Date();
  const ca = generateCa('bench-ca', now, 86_400_000);
  const serving = issueServingCert(ca, { dns: ['localhost'], ips: ['127.0.0.1'] }, now, 86_400_000);
  const srv = await startWebhookServer({
    decider: mode === 'weir' ? weir : allowAll,
    view,
    options: { coordinatorName: 'default' },
    // Allowed reviews log at debug (production default is info), so nothing is logged per review.
    logger: pino({ level: 'warn' }, pino.destination(2)),
    tls: { cert: serving.certPem, key: serving.keyPem },
    host: '127.0.0.1',
    webhookPort: 0,
    readiness: () => ({ ready: true, reasons: [] }),
  });
  process.stdout.write(`PORT ${srv.webhookPort} ${Buffer.from(ca.certPem).toString('base64')}\n`);
  process.once('SIGTERM', () => {
    void srv.stop(1000).then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
