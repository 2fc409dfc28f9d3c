import { describe, expect, it } from 'vitest';
import { parseCniResult } from './cni.js';

describe('parseCniResult', () => {
  const cases: ReadonlyArray<{ name: string; input: unknown; errors?: string[] }> = [
    {
      name: 'a macvlan + host-local result',
      input: {
        cniVersion: '1.0.0',
        interfaces: [{ name: 'net1', mac: '02:00:00:00:00:01', sandbox: '/var/run/netns/p' }],
        ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 }],
        routes: [{ dst: '0.0.0.0/0' }],
        dns: {},
      },
    },
    { name: 'only a version', input: { cniVersion: '0.4.0' } },
    { name: 'not an object', input: 'x', errors: ['(root): expected an object'] },
    {
      name: 'every bad field, with paths',
      input: { interfaces: [{ mac: 1 }], ips: [{ address: '10.0.0.2/24', interface: '0' }, 3], routes: {} },
      errors: [
        'cniVersion: expected a string',
        'interfaces[0].name: expected a string',
        'ips[0].interface: expected a number',
        'ips[1]: expected an object',
        'routes: expected an array',
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseCniResult(c.input);
      if (c.errors === undefined) expect(r.ok).toBe(true);
      else expect(r).toEqual({ ok: false, errors: c.errors });
    });
  }
});
