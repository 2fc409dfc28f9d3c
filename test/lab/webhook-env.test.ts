// The lab registers the chart's webhook configurations, so its webhook process must run with the
// settings the chart gives an installed one for them (lab/supervisor.ts webhookEnvFromChart):
// a pod review waits for the caches only within the configurations' timeoutSeconds.
import { expect, it } from 'vitest';
import { webhookEnvFromChart } from '../../lab/supervisor.js';
import { describeIf } from '../support/privileged.js';
import { asArray, at, helmBinary, render } from '../../harness/chart/helm.js';

const describeHelm = describeIf(helmBinary() !== null, 'helm is not built (scripts/build-go-tools.sh)');

describeHelm('lab webhook settings come from the chart', () => {
  it.each([undefined, '7'])('WEIR_ADMISSION_TIMEOUT_SECONDS equals every webhook\'s timeoutSeconds (webhook.timeoutSeconds=%s)', async (timeout) => {
    const chart = await render({ namespace: 'weir-system', set: timeout === undefined ? {} : { 'webhook.timeoutSeconds': timeout } });
    const env = webhookEnvFromChart(chart);
    const timeouts = chart
      .filter((m) => m.kind === 'MutatingWebhookConfiguration' || m.kind === 'ValidatingWebhookConfiguration')
      .flatMap((m) => asArray(at(m, 'webhooks'), 'webhooks').map((w) => at(w, 'timeoutSeconds')));
    expect(timeouts.length).toBeGreaterThan(0);
    expect(new Set(timeouts)).toEqual(new Set([Number(env.WEIR_ADMISSION_TIMEOUT_SECONDS)]));
    if (timeout !== undefined) expect(env.WEIR_ADMISSION_TIMEOUT_SECONDS).toBe(timeout);
  });
});
