/**
 * The agent's configuration, from environment variables (the chart and the lab set them).
 * Everything node-scoped defaults to the real-cluster value and can be changed, so several
 * agents can share one machine in the lab without sharing maps, sockets or ports.
 */
import { LOG_LEVELS, parseLogLevel, type LogLevel } from '../../common/src/log-levels.js';

export interface AgentConfig {
  nodeName: string;
  pinRoot: string;
  cniSocket: string;
  metricsPort: number;
  metricsHost: string;
  bpfObjectDir: string;
  netnsDir: string;
  stateDir: string;
  logLevel: LogLevel;
  resyncSeconds: number;
  /** How often the attach check re-verifies that every endpoint still has its programs. */
  attachCheckSeconds: number;
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
  const port = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > 65535) errors.push(`${name}=${JSON.stringify(raw)} is not a port number (1-65535)`);
    return value;
  };
  const seconds = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) errors.push(`${name}=${JSON.stringify(raw)} must be a positive number of seconds`);
    return value;
  };
  const levelRaw = env.WEIR_LOG_LEVEL ?? 'info';
  const logLevel = parseLogLevel(levelRaw);
  if (logLevel === undefined) errors.push(`WEIR_LOG_LEVEL=${JSON.stringify(levelRaw)} must be one of ${LOG_LEVELS.join(', ')}`);
  const config: AgentConfig = {
    nodeName,
    pinRoot: env.WEIR_PIN_ROOT ?? `/sys/fs/bpf/weir/${nodeName}`,
    cniSocket: env.WEIR_CNI_SOCKET ?? '/run/weir/cni.sock',
    metricsPort: port('WEIR_METRICS_PORT', 9962),
    metricsHost: env.WEIR_METRICS_HOST ?? '127.0.0.1',
    bpfObjectDir: env.WEIR_BPF_OBJECT ?? defaultObjectDir,
    netnsDir: env.WEIR_NETNS_DIR ?? '/var/run/netns',
    stateDir: env.WEIR_STATE_DIR ?? `/run/weir/${nodeName}`,
    logLevel: logLevel ?? 'info',
    resyncSeconds: seconds('WEIR_RESYNC_SECONDS', 30),
    attachCheckSeconds: seconds('WEIR_ATTACH_CHECK_SECONDS', 10),
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}
