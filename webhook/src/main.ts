/**
 * Webhook process entry point (compiled: dist/webhook/src/main.js). Configuration comes from the
 * environment (see CONFIG_HELP); a bad configuration exits 2 with one line per problem.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { apiMessage, apiStatus } from '../../common/src/kube/api-errors.js';
import { denialMessage, mutateNad, mutatePod, validateNad, validatePod } from './decide/index.js';
import { CONFIG_HELP, parseConfig } from './server/config.js';
import { createLogger } from './server/logger.js';
import { runWebhook } from './server/run.js';

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(CONFIG_HELP);
    return 0;
  }
  const parsed = parseConfig(process.env);
  if (!parsed.ok) {
    process.stderr.write(`weir webhook: bad configuration: ${parsed.errors.join('; ')}\n`);
    return 2;
  }
  const cfg = parsed.config;
  const logger = createLogger(cfg.logLevel);
  const kc = new KubeConfig();
  try {
    if (process.env.KUBECONFIG !== undefined && process.env.KUBECONFIG !== '') kc.loadFromDefault();
    else if (process.env.KUBERNETES_SERVICE_HOST === undefined || process.env.KUBERNETES_SERVICE_HOST === '') {
      throw new Error('KUBECONFIG is not set and this is not a pod (KUBERNETES_SERVICE_HOST unset)');
    } else kc.loadFromCluster();
  } catch (err) {
    process.stderr.write(`weir webhook: cannot load kubeconfig: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const running = await runWebhook(cfg, {
    kc,
    logger,
    decider: { mutatePod, validatePod, mutateNad, validateNad, denialMessage },
  });
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      logger.info({ signal: sig }, 'signal received');
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  // kubelet waits terminationGracePeriodSeconds (30 s) before SIGKILL; drain well within it.
  await running.stop(20_000);
  return 0;
}

/**
 * One line. An API error prints the Status message the API server wrote (for a 403 it names the
 * user, verb, resource and object, which is what a too-narrow Role needs), not client-node's dump.
 */
function fatalMessage(err: unknown): string {
  const status = apiStatus(err);
  const message = apiMessage(err);
  if (status !== undefined && message !== undefined) {
    const hint = status === 403 ? ' (check the RBAC of the webhook\'s ServiceAccount: charts/weir/templates/webhook-rbac.yaml)' : '';
    return `API server refused (HTTP ${status}): ${message}${hint}`;
  }
  return err instanceof Error ? err.message : String(err);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`weir webhook: ${fatalMessage(err)}\n`);
    process.exit(1);
  },
);
