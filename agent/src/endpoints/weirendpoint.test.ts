import { describe, expect, it } from 'vitest';
import { MAX_IPS_PER_INTERFACE, parseWeirEndpoint, weirEndpointObject, type WeirEndpoint } from './weirendpoint.js';
import { EndpointPublisher, type EndpointWriter } from './weirendpoint-publish.js';

const sample: WeirEndpoint = {
  namespace: 'shop', name: 'web', podUid: 'u1', node: 'n1',
  interfaces: [{ name: 'net1', network: 'shop/underlay', isDefault: true, mac: '02:00:00:00:00:01', ips: ['10.1.0.5', 'fd00::5'], containerId: 'c1', attachedAtMs: Date.parse('2026-01-01T00:00:00.123Z') }],
  enforcement: [{ name: 'net1', endpointId: 7, enforced: true, isolatedIngress: true, isolatedEgress: false, policyEntries: 3, shaping: 'tbf', ingressBitsPerSecond: undefined, egressBitsPerSecond: 5_000_000, warnings: [] }],
};

describe('WeirEndpoint model', () => {
  it('round-trips through the wire object; owned by the pod, named like it', () => {
    const obj = weirEndpointObject(sample);
    expect(obj).toMatchObject({
      apiVersion: 'weir.dev/v1alpha1', kind: 'WeirEndpoint',
      metadata: { name: 'web', namespace: 'shop', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'u1' }] },
    });
    const back = parseWeirEndpoint(JSON.parse(JSON.stringify(obj)));
    expect(back).toEqual({ ok: true, value: sample });
  });

  it('refuses a binding with bad addresses, a bad MAC, too many addresses or no pod uid, naming each field', () => {
    const obj = weirEndpointObject({
      ...sample, podUid: '',
      interfaces: [{ ...sample.interfaces[0], mac: 'XX', ips: ['10.0.0.1/24', ...Array.from({ length: MAX_IPS_PER_INTERFACE }, (_, i) => `10.0.1.${i}`)] } as WeirEndpoint['interfaces'][number]],
    });
    const r = parseWeirEndpoint(obj);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.path)).toEqual(['spec.podUID', 'spec.interfaces[0].ips', 'spec.interfaces[0].ips[0]', 'spec.interfaces[0].mac']);
    }
    expect(parseWeirEndpoint(42).ok).toBe(false);
  });
});

class Recorder implements EndpointWriter {
  readonly calls: string[] = [];
  failures = 0;
  async apply(ep: WeirEndpoint): Promise<void> {
    if (this.failures-- > 0) throw new Error('API down');
    this.calls.push(`apply ${ep.namespace}/${ep.name} ${ep.interfaces.map((i) => i.name).join(',')}`);
  }
  async remove(namespace: string, name: string, podUid: string): Promise<void> {
    this.calls.push(`remove ${namespace}/${name} ${podUid}`);
  }
}

describe('EndpointPublisher', () => {
  it('coalesces, skips unchanged writes, deletes when nothing is bound, retries failures', async () => {
    const writer = new Recorder();
    let current: WeirEndpoint | undefined = sample;
    const errors: string[] = [];
    const pub = new EndpointPublisher({ writer, snapshot: () => current, onError: (k, e) => errors.push(`${k}: ${String(e)}`), retryMs: 5 });
    pub.mark('shop/web', 'u1');
    pub.mark('shop/web', 'u1');
    await pub.flush();
    pub.mark('shop/web', 'u1');
    await pub.flush();
    expect(writer.calls).toEqual(['apply shop/web net1']);
    current = undefined;
    pub.mark('shop/web', 'u1');
    await pub.flush();
    expect(writer.calls.at(-1)).toBe('remove shop/web u1');
    current = sample;
    writer.failures = 1;
    pub.mark('shop/web', 'u1');
    await pub.flush();
    expect(errors).toEqual(['shop/web: Error: API down']);
    await new Promise((r) => setTimeout(r, 30));
    await pub.flush();
    expect(writer.calls.at(-1)).toBe('apply shop/web net1');
    pub.stop();
  });
});
