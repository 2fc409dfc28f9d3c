import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';

describe('parseConfig', () => {
  it('applies the contract defaults', () => {
    expect(parseConfig({ WEIR_NAMESPACE: 'weir' })).toEqual({
      ok: true,
      config: {
        webhookPort: 9443,
        healthPort: 8080,
        host: '0.0.0.0',
        tlsMode: 'self-signed',
        tlsSecret: 'weir-webhook-tls',
        certDir: '/etc/weir/tls',
        namespace: 'weir',
        serviceName: 'weir-webhook',
        mutatingWebhook: 'weir',
        validatingWebhook: 'weir',
        coordinatorName: 'default',
        logLevel: 'info',
        admissionTimeoutSeconds: 10,
      },
    });
  });

  it.each([['1', 1], ['5', 5], ['30', 30]])('takes WEIR_ADMISSION_TIMEOUT_SECONDS=%s', (raw, seconds) => {
    const r = parseConfig({ WEIR_NAMESPACE: 'w', WEIR_ADMISSION_TIMEOUT_SECONDS: raw });
    expect(r.ok && r.config.admissionTimeoutSeconds).toBe(seconds);
  });

  it('cert-manager mode needs no namespace', () => {
    expect(parseConfig({ WEIR_TLS_MODE: 'cert-manager' }).ok).toBe(true);
  });

  it.each([
    [{ WEIR_NAMESPACE: 'w', WEIR_WEBHOOK_PORT: 'abc' }, /WEIR_WEBHOOK_PORT="abc": must be a port/],
    [{ WEIR_NAMESPACE: 'w', WEIR_HEALTH_PORT: '70000' }, /WEIR_HEALTH_PORT/],
    [{ WEIR_NAMESPACE: 'w', WEIR_HEALTH_PORT: '9443' }, /both 9443/],
    [{ WEIR_NAMESPACE: 'w', WEIR_TLS_MODE: 'acme' }, /WEIR_TLS_MODE="acme"/],
    [{}, /WEIR_NAMESPACE is required/],
    [{ WEIR_NAMESPACE: 'w', WEIR_LOG_LEVEL: 'loud' }, /WEIR_LOG_LEVEL/],
    [{ WEIR_NAMESPACE: 'w', WEIR_COORDINATOR_NAME: 'Bad_Name' }, /WEIR_COORDINATOR_NAME/],
    [{ WEIR_NAMESPACE: 'w', WEIR_ADMISSION_TIMEOUT_SECONDS: '0' }, /WEIR_ADMISSION_TIMEOUT_SECONDS="0": must be a whole number of seconds 1\.\.30.*webhook\.timeoutSeconds/],
    [{ WEIR_NAMESPACE: 'w', WEIR_ADMISSION_TIMEOUT_SECONDS: '31' }, /WEIR_ADMISSION_TIMEOUT_SECONDS="31"/],
    [{ WEIR_NAMESPACE: 'w', WEIR_ADMISSION_TIMEOUT_SECONDS: '2.5' }, /WEIR_ADMISSION_TIMEOUT_SECONDS="2.5"/],
    [{ WEIR_NAMESPACE: 'w', WEIR_ADMISSION_TIMEOUT_SECONDS: '5s' }, /WEIR_ADMISSION_TIMEOUT_SECONDS="5s"/],
  ])('refuses %j', (env, msg) => {
    const r = parseConfig(env);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join('\n')).toMatch(msg);
  });
});
