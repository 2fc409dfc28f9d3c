/**
 * The webhook's configuration from environment variables (the contract shared with the chart and
 * the lab). Pure: takes the env map, returns a typed config or every problem at once.
 */
import { LOG_LEVELS, parseLogLevel, type LogLevel } from '../../../common/src/log-levels.js';
import { DEFAULT_COORDINATOR_NAME } from '../decide/index.js';
import { DEFAULT_ADMISSION_TIMEOUT_SECONDS } from './catch-up.js';

export type { LogLevel };
export type TlsMode = 'self-signed' | 'cert-manager';

export interface WebhookConfig {
  webhookPort: number;
  healthPort: number;
  /** Listen address; WEIR_LISTEN_HOST (not in the chart contract) lets the lab bind loopback only. */
  host: string;
  tlsMode: TlsMode;
  tlsSecret: string;
  certDir: string;
  namespace: string;
  serviceName: string;
  mutatingWebhook: string;
  validatingWebhook: string;
  coordinatorName: string;
  logLevel: LogLevel;
  /**
   * The API server's timeoutSeconds for these webhooks (1..30, as admissionregistration allows);
   * a pod review's wait for the caches is derived from it (catch-up.ts catchUpFor).
   */
  admissionTimeoutSeconds: number;
}

export const CONFIG_HELP = `weir webhook: admission webhook for pods and NetworkAttachmentDefinitions.

Configured by environment variables (defaults in brackets):
  WEIR_WEBHOOK_PORT        HTTPS port for /mutate-pods, /validate-pods, /mutate-nads, /validate-nads [9443]
  WEIR_HEALTH_PORT         plain HTTP port for /healthz, /readyz, /metrics [8080]
  WEIR_LISTEN_HOST         address to listen on [0.0.0.0]
  WEIR_TLS_MODE            self-signed | cert-manager [self-signed]
  WEIR_TLS_SECRET          Secret holding the self-signed CA and certificate [weir-webhook-tls]
  WEIR_CERT_DIR            cert-manager mode: directory with tls.crt and tls.key [/etc/weir/tls]
  WEIR_NAMESPACE           the webhook's own namespace (required in self-signed mode)
  WEIR_SERVICE_NAME        Service name, for the certificate's DNS names [weir-webhook]
  WEIR_MUTATING_WEBHOOK    MutatingWebhookConfiguration whose caBundle is patched [weir]
  WEIR_VALIDATING_WEBHOOK  ValidatingWebhookConfiguration whose caBundle is patched [weir]
  WEIR_COORDINATOR_NAME    SpiderCoordinator to check [default]
  WEIR_LOG_LEVEL           ${LOG_LEVELS.join(' | ')} [info]
  WEIR_ADMISSION_TIMEOUT_SECONDS
                           timeoutSeconds of the webhook configurations, 1..30; pod reviews wait
                           for the caches only within it [${DEFAULT_ADMISSION_TIMEOUT_SECONDS}]
  KUBECONFIG               kubeconfig file; in-cluster configuration when unset
`;

export type ConfigResult = { ok: true; config: WebhookConfig } | { ok: false; errors: string[] };

export function parseConfig(env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const errors: string[] = [];
  const get = (k: string, dflt: string): string => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? dflt : v.trim();
  };
  const port = (k: string, dflt: number): number => {
    const raw = get(k, String(dflt));
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 65535) {
      errors.push(`${k}=${JSON.stringify(raw)}: must be a port number 1..65535`);
      return dflt;
    }
    return n;
  };
  const webhookPort = port('WEIR_WEBHOOK_PORT', 9443);
  const healthPort = port('WEIR_HEALTH_PORT', 8080);
  if (webhookPort === healthPort && errors.length === 0) errors.push(`WEIR_WEBHOOK_PORT and WEIR_HEALTH_PORT are both ${webhookPort}`);
  const modeRaw = get('WEIR_TLS_MODE', 'self-signed');
  const tlsMode: TlsMode | undefined = modeRaw === 'self-signed' || modeRaw === 'cert-manager' ? modeRaw : undefined;
  if (tlsMode === undefined) errors.push(`WEIR_TLS_MODE=${JSON.stringify(modeRaw)}: must be self-signed or cert-manager`);
  const namespace = get('WEIR_NAMESPACE', '');
  if (tlsMode === 'self-signed' && namespace === '') errors.push('WEIR_NAMESPACE is required in self-signed mode (the Secret lives there)');
  const levelRaw = get('WEIR_LOG_LEVEL', 'info');
  const logLevel = parseLogLevel(levelRaw);
  if (logLevel === undefined) errors.push(`WEIR_LOG_LEVEL=${JSON.stringify(levelRaw)}: must be one of ${LOG_LEVELS.join(', ')}`);
  const timeoutRaw = get('WEIR_ADMISSION_TIMEOUT_SECONDS', String(DEFAULT_ADMISSION_TIMEOUT_SECONDS));
  let admissionTimeoutSeconds = Number(timeoutRaw);
  if (!/^\d+$/.test(timeoutRaw) || admissionTimeoutSeconds < 1 || admissionTimeoutSeconds > 30) {
    errors.push(
      `WEIR_ADMISSION_TIMEOUT_SECONDS=${JSON.stringify(timeoutRaw)}: must be a whole number of seconds 1..30, the timeoutSeconds of the webhook configurations (chart: webhook.timeoutSeconds)`,
    );
    admissionTimeoutSeconds = DEFAULT_ADMISSION_TIMEOUT_SECONDS;
  }
  const dns = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
  const name = (k: string, dflt: string): string => {
    const v = get(k, dflt);
    if (!dns.test(v) || v.length > 253) errors.push(`${k}=${JSON.stringify(v)}: must be a DNS-1123 name`);
    return v;
  };
  const config = {
    webhookPort,
    healthPort,
    host: get('WEIR_LISTEN_HOST', '0.0.0.0'),
    tlsMode: tlsMode ?? 'self-signed',
    tlsSecret: name('WEIR_TLS_SECRET', 'weir-webhook-tls'),
    certDir: get('WEIR_CERT_DIR', '/etc/weir/tls'),
    namespace,
    serviceName: name('WEIR_SERVICE_NAME', 'weir-webhook'),
    mutatingWebhook: name('WEIR_MUTATING_WEBHOOK', 'weir'),
    validatingWebhook: name('WEIR_VALIDATING_WEBHOOK', 'weir'),
    coordinatorName: name('WEIR_COORDINATOR_NAME', DEFAULT_COORDINATOR_NAME),
    logLevel: logLevel ?? 'info',
    admissionTimeoutSeconds,
  } satisfies WebhookConfig;
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}
