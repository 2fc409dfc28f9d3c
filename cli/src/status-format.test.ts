import { describe, expect, it } from 'vitest';
import { formatStatus } from './status-format.js';

describe('weir status formatting', () => {
  it('prints one line per endpoint with shaping, entries and isolation', () => {
    const lines = formatStatus({
      node: 'node-1', ready: true, unsynced: [], pods: 3, malformedIntents: 0,
      maps: { ipcache: 3, policy: 4, endpoints: 2 },
      endpoints: [
        { endpointId: 1, pod: 'demo/client', interface: 'eth0', containerId: 'c', netnsPath: '/n', programmed: true, shaping: 'none', bandwidth: null, policyEntries: 0, isolation: { ingress: false, egress: false } },
        { endpointId: 2, pod: 'demo/limited', interface: 'eth0', containerId: 'd', netnsPath: '/m', programmed: true, shaping: 'tbf', bandwidth: { egressBitsPerSecond: 50_000_000 }, policyEntries: 4, isolation: { ingress: true, egress: false } },
      ],
    });
    expect(lines[0]).toBe('node node-1: ready; 2 endpoint(s), 3 pod(s) known cluster-wide; maps: ipcache 3, policy 4, endpoints 2');
    expect(lines[2]).toMatch(/demo\/limited\/eth0\s+#2\s+programmed\s+shaping tbf\s+in - out 50M\s+entries 4\s+isolated ingress/);
    expect(lines[2]).not.toContain('AUDIT');
  });
  it('shows entries against the quota, and an endpoint isolated for exceeding it', () => {
    const lines = formatStatus({
      node: 'n', ready: true, unsynced: [], pods: 2, malformedIntents: 0, maps: { ipcache: 2, policy: 120, endpoints: 2 },
      endpoints: [
        { endpointId: 1, pod: 'a/fits', interface: 'eth0', containerId: 'c', netnsPath: '/n', programmed: true, shaping: 'none', bandwidth: null, policyEntries: 120, policyQuota: 16384, isolation: { ingress: false, egress: false } },
        { endpointId: 2, pod: 'a/huge', interface: 'eth0', containerId: 'd', netnsPath: '/m', programmed: true, shaping: 'none', bandwidth: null, policyEntries: 20000, policyQuota: 16384, isolation: { ingress: true, egress: true } },
      ],
    });
    expect(lines[1]).toMatch(/entries 120\/16384\s+isolated no$/);
    expect(lines[2]).toMatch(/entries 20000\/16384 OVER QUOTA \(isolated\)\s+isolated ingress\+egress$/);
  });
  it('marks an endpoint of an audit namespace', () => {
    const lines = formatStatus({
      node: 'n', ready: true, unsynced: [], pods: 1, malformedIntents: 0, maps: { ipcache: 1, policy: 0, endpoints: 1 },
      endpoints: [{ endpointId: 1, pod: 'shop/web', interface: 'eth0', containerId: 'c', netnsPath: '/n', programmed: true, shaping: 'none', bandwidth: null, policyEntries: 0, isolation: { ingress: true, egress: false }, audit: true }],
    });
    expect(lines[1]).toMatch(/isolated ingress \(AUDIT: drops pass\)$/);
  });
  it('-o wide adds the container and the network namespace', () => {
    const lines = formatStatus({
      node: 'n', ready: true, unsynced: [], pods: 1, malformedIntents: 0, maps: { ipcache: 1, policy: 0, endpoints: 1 },
      endpoints: [{ endpointId: 1, pod: 'demo/a', interface: 'net1', containerId: '0123456789abcdef', netnsPath: '/var/run/netns/cni-1', programmed: true, shaping: 'none', bandwidth: null, policyEntries: 0, isolation: { ingress: false, egress: false } }],
    }, true);
    expect(lines[1]).toMatch(/demo\/a\/net1 .* container 0123456789ab\s+netns \/var\/run\/netns\/cni-1$/);
  });
  it('says what a node that is not ready waits for', () => {
    const lines = formatStatus({ node: 'n', ready: false, unsynced: ['pod', 'networkpolicy'], pods: 0, malformedIntents: 1, maps: { ipcache: 0, policy: 0, endpoints: 0 }, endpoints: [] });
    expect(lines[0]).toContain('NOT READY (waiting for pod, networkpolicy)');
    expect(lines[0]).toContain('1 malformed intent(s)');
  });
});
