/**
 * The agent's configuration, from environment variables (the chart and the lab set them).
 * Everything node-scoped defaults to the real-cluster value and can be changed, so several
 * agents can share one machine in the lab without sharing maps, sockets or ports.
 */
import { isIP } from 'node:net';
import { LOG_LEVELS, parseLogLevel, type LogLevel } from '../../common/src/log-levels.js';
import { DEFAULT_API_PORT, DEFAULT_METRICS_PORT } from './api.js';
import type { ShapingPreference } from './datapath/shaping.js';
import { DEFAULT_POLICY_ENTRIES_PER_ENDPOINT, MAX_POLICY_ENTRIES_PER_ENDPOINT } from './endpoints/capacity.js';
import { DEFAULT_IPBLOCK_CIDRS_PER_NAMESPACE, MAX_IPBLOCK_CIDRS_PER_NAMESPACE } from './policy/namespace-budget.js';

export interface AgentConfig {
  nodeName: string;
  pinRoot: string;
  cniSocket: string;
  /** Loopback port of the API (/healthz, /readyz, /v1/status, /v1/flows): agent/src/http.ts. */
  apiPort: number;
  /** Port of the read-only /metrics listener on metricsHost; 0 turns it off. */
  metricsPort: number;
  /** Address of the /metrics listener: the node's IP in the chart (downward API status.hostIP). */
  metricsHost: string;
  bpfObjectDir: string;
  netnsDir: string;
  /**
   * The node's network namespace (a path), whose global addresses are "the node" on links a later
   * plugin adds (hooks.ts NodeAddresses). Absent: the agent's own, which the chart's hostNetwork
   * makes the node's; the lab sets it, as its agents run outside their simulated nodes.
   */
  nodeNetnsPath?: string;
  stateDir: string;
  /**
   * The host's CNI bin dir as mounted into the agent (the chart: /host/cni-bin), so a deliberate
   * uninstall removes the plugin binary (agent/src/uninstall.ts); undefined: never touched.
   */
  cniBinDir?: string;
  logLevel: LogLevel;
  resyncSeconds: number;
  /** How often the attach check re-verifies that every endpoint still has its programs. */
  attachCheckSeconds: number;
  /** WEIR_SHAPING: 'auto' (flow-fair HTB where sch_htb exists, else TBF) or 'tbf' (agent/src/datapath/shaping.ts); absent = 'auto'. */
  shaping?: ShapingPreference;
  /**
   * Policy entries one endpoint may hold (endpoints/capacity.ts); over it, the endpoint is
   * isolated. Absent: DEFAULT_POLICY_ENTRIES_PER_ENDPOINT.
   */
  policyEntriesPerEndpoint?: number;
  /**
   * Distinct ipBlock CIDRs the policies of one namespace may name (policy/namespace-budget.ts); a
   * policy over it falls back as an unreadable one does. Absent: DEFAULT_IPBLOCK_CIDRS_PER_NAMESPACE.
   */
  ipBlockCidrsPerNamespace?: number;
}

export type ConfigResult = { ok: true; config: AgentConfig } | { ok: false; errors: string[] };

export function readAgentConfig(env: Record<string, string | undefined>, defaultObjectDir: string): ConfigResult {
  const errors: string[] = [];
  const nodeName = env.WEIR_NODE_NAME ?? '';
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName)) {
    errors.push(nodeName === ''
      ? 'WEIR_NODE_NAME is not set: set it to this node\'s name (the chart passes spec.nodeName through the downward API)'
      : `WEIR_NODE_NAME ${JSON.stringify(nodeName)} is not a valid node name`);
  }
  const port = (name: string, fallback: number, min = 1): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > 65535) errors.push(`${name}=${JSON.stringify(raw)} is not a port number (${min}-65535)`);
    return value;
  };
  const metricsHost = env.WEIR_METRICS_HOST || '127.0.0.1';
  if (isIP(metricsHost) === 0) errors.push(`WEIR_METRICS_HOST=${JSON.stringify(metricsHost)} must be an IP address (the chart passes the node's, status.hostIP)`);
  const seconds = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) errors.push(`${name}=${JSON.stringify(raw)} must be a positive number of seconds`);
    return value;
  };
  const count = (name: string, fallback: number, max: number, what: string, chartKey: string): number => {
    const raw = env[name];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > max) errors.push(`${name}=${JSON.stringify(raw)} must be a whole number of ${what} in 1..${max} (the chart's ${chartKey})`);
    return value;
  };
  const quota = count('WEIR_POLICY_ENTRIES_PER_ENDPOINT', DEFAULT_POLICY_ENTRIES_PER_ENDPOINT, MAX_POLICY_ENTRIES_PER_ENDPOINT, 'entries', 'agent.policy.entriesPerEndpoint');
  const cidrs = count('WEIR_IPBLOCK_CIDRS_PER_NAMESPACE', DEFAULT_IPBLOCK_CIDRS_PER_NAMESPACE, MAX_IPBLOCK_CIDRS_PER_NAMESPACE, 'CIDRs', 'agent.policy.ipBlockCidrsPerNamespace');
  const levelRaw = env.WEIR_LOG_LEVEL ?? 'info';
  const logLevel = parseLogLevel(levelRaw);
  if (logLevel === undefined) errors.push(`WEIR_LOG_LEVEL=${JSON.stringify(levelRaw)} must be one of ${LOG_LEVELS.join(', ')}`);
  const shapingRaw = env.WEIR_SHAPING || 'auto';
  if (shapingRaw !== 'auto' && shapingRaw !== 'tbf') errors.push(`WEIR_SHAPING=${JSON.stringify(shapingRaw)} must be auto (flow-fair HTB where the kernel has sch_htb) or tbf`);
  const config: AgentConfig = {
    nodeName,
    pinRoot: env.WEIR_PIN_ROOT ?? `/sys/fs/bpf/weir/${nodeName}`,
    cniSocket: env.WEIR_CNI_SOCKET ?? '/run/weir/cni.sock',
    apiPort: port('WEIR_API_PORT', DEFAULT_API_PORT),
    metricsPort: port('WEIR_METRICS_PORT', DEFAULT_METRICS_PORT, 0),
    metricsHost,
    bpfObjectDir: env.WEIR_BPF_OBJECT ?? defaultObjectDir,
    netnsDir: env.WEIR_NETNS_DIR ?? '/var/run/netns',
    ...(env.WEIR_NODE_NETNS ? { nodeNetnsPath: env.WEIR_NODE_NETNS } : {}),
    stateDir: env.WEIR_STATE_DIR ?? `/run/weir/${nodeName}`,
    ...(env.WEIR_CNI_BIN_DIR ? { cniBinDir: env.WEIR_CNI_BIN_DIR } : {}),
    logLevel: logLevel ?? 'info',
    resyncSeconds: seconds('WEIR_RESYNC_SECONDS', 30),
    attachCheckSeconds: seconds('WEIR_ATTACH_CHECK_SECONDS', 10),
    shaping: shapingRaw === 'tbf' ? 'tbf' : 'auto',
    policyEntriesPerEndpoint: quota,
    ipBlockCidrsPerNamespace: cidrs,
  };
  if (config.cniBinDir !== undefined && !config.cniBinDir.startsWith('/')) {
    errors.push(`WEIR_CNI_BIN_DIR=${JSON.stringify(config.cniBinDir)} must be an absolute path (the chart mounts the host's CNI bin dir at /host/cni-bin)`);
  }
  if (config.nodeNetnsPath !== undefined && !config.nodeNetnsPath.startsWith('/')) {
    errors.push(`WEIR_NODE_NETNS=${JSON.stringify(config.nodeNetnsPath)} must be an absolute path to the node's network namespace (e.g. /var/run/netns/<name>); unset, the agent's own is the node's`);
  }
  if (config.metricsPort !== 0 && config.metricsPort === config.apiPort) errors.push(`WEIR_METRICS_PORT and WEIR_API_PORT are both ${config.apiPort}: give the metrics listener a port of its own`);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}
