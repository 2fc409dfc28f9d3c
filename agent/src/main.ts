/**
 * weir-agent entry point: `node --import tsx agent/src/main.ts` (lab) or
 * `node dist/agent/src/main.js` (image). Configuration from the environment (agent/src/config.ts).
 *
 * SIGTERM/SIGINT stop the agent WITHOUT detaching programs or unpinning maps: enforcement goes on
 * while the DaemonSet pod restarts, and the next agent adopts the state. `--cleanup` (or
 * WEIR_CLEANUP_ON_EXIT=true) is the lab teardown path: on exit every endpoint is detached and the
 * pin root and state directory are removed. `--arm-uninstall` (run by the chart's pre-delete hook
 * inside the agent container) makes the running agent's next stop a deliberate uninstall: the same
 * cleanup, plus the CNI plugin binary (agent/src/uninstall.ts).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNative } from '../../native/index.js';
import { errorMessage } from '../../common/src/errors.js';
import { createLogger } from '../../common/src/logger.js';
import { registerProcessMetrics } from '../../common/src/process-metrics.js';
import { Agent } from './agent.js';
import { startCniServer, type CniServer } from './cni/server.js';
import { readAgentConfig, type AgentConfig } from './config.js';
import { Datapath } from './datapath/driver.js';
import { TcAttachProbe } from './endpoints/probe.js';
import { EndpointRegistry } from './endpoints/registry.js';
import { KubeEndpointWriter } from './endpoints/weirendpoint-publish.js';
import { startAgentHttp, type AgentHttpServer } from './http.js';
import { KubePodEvents } from './kube/events.js';
import { KubeObjectEvents } from './kube/object-events.js';
import { KubeSources } from './kube/sources.js';
import { armUninstall, removeHostLeftovers, uninstallArmed } from './uninstall.js';

const HELP = `weir-agent: Weir's node agent (NetworkPolicy and bandwidth for underlay pods)

Usage: weir-agent [--cleanup | --arm-uninstall] [--help]
  --cleanup        on exit, detach every endpoint and remove the pin root (lab teardown);
                   same as WEIR_CLEANUP_ON_EXIT=true. Without it, programs stay attached on exit.
  --arm-uninstall  do not start: tell the agent running on this node that its next stop (within
                   10 minutes) is an uninstall, which cleans the node up like --cleanup and also
                   removes the CNI plugin binary. The chart's pre-delete hook runs it.

Environment (defaults in brackets):
  WEIR_NODE_NAME (required)      this node's name (downward API spec.nodeName)
  WEIR_PIN_ROOT                  [/sys/fs/bpf/weir/<node>] bpffs directory of the maps
  WEIR_CNI_SOCKET                [/run/weir/cni.sock] socket the weir CNI plugin talks to
  WEIR_API_PORT                  [9962] on 127.0.0.1: /healthz /readyz /metrics /v1/status /v1/flows
  WEIR_METRICS_HOST/PORT         [127.0.0.1:9963] read-only /metrics (the chart: the node's IP); port 0: off
  WEIR_BPF_OBJECT                directory holding weir.bpf.o
  WEIR_STATE_DIR                 [/run/weir/<node>] persisted endpoint registry
  WEIR_CNI_BIN_DIR               host CNI bin dir as mounted here; the plugin is removed on uninstall
  WEIR_NETNS_DIR                 [/var/run/netns]
  WEIR_NODE_NETNS                [the agent's own] netns path whose addresses are the node's (the lab)
  WEIR_RESYNC_SECONDS [30]  WEIR_ATTACH_CHECK_SECONDS [10]  WEIR_LOG_LEVEL [info]
  KUBECONFIG                     kubeconfig path; in-cluster config when unset
`;

function defaultObjectDir(): string {
  // agent/src/main.ts in the repo, dist/agent/src/main.js in the image.
  for (const up of ['../../build/bpf', '../../../build/bpf']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(join(dir, 'weir.bpf.o'))) return dir;
  }
  return '/usr/lib/weir/bpf';
}

type Logger = ReturnType<typeof createLogger>;

/** The command line and the environment: the configuration to run with, or the exit code. */
async function readInvocation(argv: readonly string[]): Promise<{ code: number } | { config: AgentConfig; cleanup: boolean }> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return { code: 0 };
  }
  const unknown = argv.filter((a) => a !== '--cleanup' && a !== '--arm-uninstall');
  if (unknown.length > 0) {
    process.stderr.write(`weir-agent: unknown argument ${JSON.stringify(unknown[0])} (see --help)\n`);
    return { code: 2 };
  }
  const cfg = readAgentConfig(process.env, defaultObjectDir());
  if (!cfg.ok) {
    process.stderr.write(`weir-agent: bad configuration: ${cfg.errors.join('; ')}\n`);
    return { code: 2 };
  }
  const config = cfg.config;
  if (argv.includes('--arm-uninstall')) {
    const marker = await armUninstall(config.stateDir, new Date());
    process.stdout.write(`weir-agent: uninstall armed on ${config.nodeName} (${marker}): the agent cleans the node up when it stops\n`);
    return { code: 0 };
  }
  return { config, cleanup: argv.includes('--cleanup') || process.env.WEIR_CLEANUP_ON_EXIT === 'true' };
}

/** The agent over the real datapath and the cluster of the default kubeconfig. */
async function createAgent(config: AgentConfig, log: Logger): Promise<{ agent: Agent; datapath: Datapath }> {
  const addon = loadNative();
  const features = addon.probeFeatures(); // also mounts bpffs when missing
  log.info({ features }, 'kernel features');
  await mkdir(config.pinRoot, { recursive: true, mode: 0o700 });
  const datapath = new Datapath({ addon, objectPath: join(config.bpfObjectDir, 'weir.bpf.o'), pinRoot: config.pinRoot, shaping: config.shaping, nodeNetnsPath: config.nodeNetnsPath });
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const agent = new Agent({
    config,
    datapath,
    probe: new TcAttachProbe(addon.tc),
    source: new KubeSources(
      kc,
      (resource, error, retryInMs) => log.warn({ resource, err: errorMessage(error), retryInMs }, 'watch failed; retrying'),
      { info: (obj, msg) => log.info(obj, msg) },
    ),
    registry: new EndpointRegistry(config.stateDir),
    log,
    events: new KubePodEvents(kc, 'weir-agent', (e) => log.debug({ err: String(e) }, 'could not record a pod event')),
    policyEvents: new KubeObjectEvents(kc, 'weir-agent', (e) => log.debug({ err: String(e) }, 'could not record a policy event')),
    endpoints: new KubeEndpointWriter(kc),
  });
  return { agent, datapath };
}

/** SIGTERM and SIGINT run `stop` once, then exit (1 when stopping failed). */
function exitOnSignals(stop: (signal: string) => Promise<void>, log: Logger): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void stop(signal).then(() => process.exit(0), (e: unknown) => {
        log.error({ err: String(e) }, 'stop failed');
        process.exit(1);
      });
    });
  }
}

async function main(): Promise<number> {
  const invocation = await readInvocation(process.argv.slice(2));
  if ('code' in invocation) return invocation.code;
  const { config, cleanup } = invocation;
  const log = createLogger('agent', config.logLevel, { node: config.nodeName });
  const { agent, datapath } = await createAgent(config, log);

  registerProcessMetrics(agent.metrics.registry, 'agent');
  let httpServer: AgentHttpServer | undefined;
  let cni: CniServer | undefined;
  let stopping: Promise<void> | undefined;
  exitOnSignals((signal) => {
    stopping ??= (async () => {
      const uninstall = uninstallArmed(config.stateDir, Date.now());
      const clean = cleanup || uninstall.armed;
      log.info({ signal, cleanup, uninstall: uninstall.reason }, clean ? 'stopping; detaching every endpoint (cleanup)' : 'stopping; programs stay attached');
      await cni?.close().catch(() => undefined);
      await agent.stop({ cleanup: clean });
      await httpServer?.close();
      if (clean) {
        // The plugin binary goes only on a deliberate uninstall: the lab's --cleanup shares it.
        const failures = await removeHostLeftovers({ pinRoot: config.pinRoot, stateDir: config.stateDir, cniBinDir: uninstall.armed ? config.cniBinDir : undefined });
        for (const failure of failures) log.warn({ failure }, 'could not remove a leftover');
      }
    })();
    return stopping;
  }, log);

  httpServer = await startAgentHttp(agent, config);
  log.info({ api: `127.0.0.1:${httpServer.apiPort}`, metrics: httpServer.metricsPort === undefined ? 'off' : `${config.metricsHost}:${httpServer.metricsPort}` }, 'http listening');
  await agent.start();
  if (datapath.layoutSwitch !== undefined) {
    // agent.start re-attached every registered endpoint: the old programs and maps are gone now.
    log.info({ layoutSwitch: datapath.layoutSwitch }, 'pinned maps of another layout version replaced (conntrack and endpoint configs carried over where unchanged)');
  }
  cni = await startCniServer({
    socketPath: config.cniSocket,
    handler: (req, signal) => agent.handleCni(req, signal),
    timeoutMs: 9_000,
    onEvent: (e) => {
      if (e.type !== 'answered') log.warn({ event: e }, 'cni socket');
    },
  });
  log.info({ socket: config.cniSocket }, 'cni socket listening');
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`weir-agent: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
