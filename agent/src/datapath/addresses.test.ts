import { describe, expect, it } from 'vitest';
import { resultAddresses } from './addresses.js';

describe('resultAddresses (CNI result → the endpoint\'s own MAC and IPs)', () => {
  const result = {
    cniVersion: '1.0.0',
    interfaces: [
      { name: 'eth0', mac: '0A:58:0A:00:00:01' }, // host side (no sandbox): not the pod's
      { name: 'net1', mac: '02:42:ac:11:00:02', sandbox: '/var/run/netns/p' },
      { name: 'eth0', mac: '02:42:ac:11:00:03', sandbox: '/var/run/netns/p' },
    ],
    ips: [
      { address: '10.1.0.5/24', interface: 1 },
      { address: 'fd00:0:0::5/64', interface: 1 },
      { address: '10.2.0.7/24', interface: 2 },
    ],
  };

  it('takes the sandbox interface of that name and only the IPs pointing at it', () => {
    expect(resultAddresses(result, 'net1')).toEqual({ mac: '02:42:ac:11:00:02', ips: ['10.1.0.5', 'fd00::5'], dropped: [] });
    expect(resultAddresses(result, 'eth0')).toEqual({ mac: '02:42:ac:11:00:03', ips: ['10.2.0.7'], dropped: [] });
  });

  it('IPs without an interface index belong to the interface; no interface entry means no MAC', () => {
    expect(resultAddresses({ ips: [{ address: '10.0.0.9/32' }, { address: 'junk/8' }] }, 'eth0')).toEqual({ ips: ['10.0.0.9'], dropped: [] });
  });

  it('malformed results give no addresses (the endpoint then sends no IP at all: fail closed)', () => {
    for (const bad of [null, 'x', { ips: 'x' }, { interfaces: [{ name: 'eth0', mac: 'zz', sandbox: '/n' }], ips: [{ address: 5 }] }]) {
      expect(resultAddresses(bad, 'eth0')).toEqual({ ips: [], dropped: [] });
    }
  });

  it('keeps at most four addresses and reports the rest', () => {
    const many = { ips: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'].map((a) => ({ address: `${a}/24` })) };
    expect(resultAddresses(many, 'eth0')).toMatchObject({ ips: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'], dropped: ['10.0.0.5'] });
  });
});
