import { describe, expect, it } from 'vitest';
import { encodeIntent, parseIntent, type Intent } from './intent.js';

const sample: Intent = {
  version: 1,
  networks: [
    { nad: 'team/under', interface: 'eth0', default: true, enforced: true },
    { nad: 'team/b', interface: 'net1', default: false, enforced: false },
  ],
  bandwidth: { ingressBitsPerSecond: 10_000_000, egressBitsPerSecond: 5_000_000 },
  defaultRouteNic: 'net1',
};

describe('intent', () => {
  it('encodes canonically with a fixed key order', () => {
    expect(encodeIntent(sample)).toBe(
      '{"version":1,"networks":[{"nad":"team/under","interface":"eth0","default":true,"enforced":true},' +
        '{"nad":"team/b","interface":"net1","default":false,"enforced":false}],' +
        '"bandwidth":{"ingressBitsPerSecond":10000000,"egressBitsPerSecond":5000000},"defaultRouteNic":"net1"}',
    );
    const reordered = { defaultRouteNic: 'net1', bandwidth: { egressBitsPerSecond: 5_000_000, ingressBitsPerSecond: 10_000_000 }, networks: sample.networks, version: 1 as const };
    expect(encodeIntent(reordered)).toBe(encodeIntent(sample));
  });
  it('round-trips through parseIntent (string and object)', () => {
    expect(parseIntent(encodeIntent(sample))).toEqual({ ok: true, intent: sample });
    expect(parseIntent(JSON.parse(encodeIntent(sample)) as unknown)).toEqual({ ok: true, intent: sample });
  });
  it('cluster default network: nad null, not enforced', () => {
    const i: Intent = { version: 1, networks: [{ nad: null, interface: 'eth0', default: true, enforced: false }], bandwidth: {} };
    expect(encodeIntent(i)).toBe('{"version":1,"networks":[{"nad":null,"interface":"eth0","default":true,"enforced":false}],"bandwidth":{}}');
    expect(parseIntent(encodeIntent(i))).toEqual({ ok: true, intent: i });
  });
  it.each([
    ['not json', 'intent: not valid JSON'],
    ['[]', 'intent: must be a JSON object'],
    ['{"version":2}', 'intent.version: must be 1'],
    ['{"version":1,"networks":[],"bandwidth":{}}', 'intent.networks: must list the default network'],
    ['{"version":1,"networks":[{"nad":"X","interface":"eth0","default":true,"enforced":true}],"bandwidth":{}}', 'intent.networks[0].nad'],
    ['{"version":1,"networks":[{"nad":null,"interface":"eth0","default":true,"enforced":true}],"bandwidth":{}}', 'never enforced'],
    ['{"version":1,"networks":[{"nad":null,"interface":"eth0","default":true,"enforced":false}],"bandwidth":{"ingressBitsPerSecond":1.5}}', 'ingressBitsPerSecond'],
    ['{"version":1,"networks":[{"nad":null,"interface":"eth0","default":true,"enforced":false}],"bandwidth":{},"extra":1}', 'intent.extra: unknown field'],
    ['{"version":1,"networks":[{"nad":null,"interface":"eth0","default":false,"enforced":false}],"bandwidth":{}}', 'exactly one default'],
  ])('refuses %s', (value, fragment) => {
    const r = parseIntent(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join('\n')).toContain(fragment);
  });
});
