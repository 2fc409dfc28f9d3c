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
      },
    });
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
  ])('refuses %j', (env, msg) => {
    const r = parseConfig(env);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join('\n')).toMatch(msg);
  });
});
