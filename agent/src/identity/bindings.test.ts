import { describe, expect, it } from 'vitest';
import { IpBindings, type Claim } from './bindings.js';

const ep = (ip: string, atMs: number, iface = 'eth0'): Claim => ({ ip, iface, source: 'endpoint', atMs });
const kubelet = (ip: string, atMs: number): Claim => ({ ip, iface: 'eth0', source: 'podIPs', atMs });
const status = (ip: string, iface = 'net1'): Claim => ({ ip, iface, source: 'network-status', atMs: 0 });

describe('IpBindings: who owns an address', () => {
  it('a network-status claim never overrides a WeirEndpoint or status.podIPs binding, whichever came first', () => {
    const b = new IpBindings();
    b.set('kube-system/coredns', [kubelet('10.0.0.10', 1_000)]);
    const attack = b.set('t/attacker', [status('10.0.0.10')]);
    expect(b.ownerOf('10.0.0.10')).toBe('kube-system/coredns');
    expect(attack.conflicts).toEqual([]);
    expect(b.owned('t/attacker')).toEqual([]);
    // Claimed before the victim's binding arrives: the trusted binding takes it when it comes.
    const c = new IpBindings();
    c.set('t/attacker', [status('10.0.0.11')]);
    expect(c.ownerOf('10.0.0.11')).toBe('t/attacker');
    const change = c.set('p/victim', [ep('10.0.0.11', 5)]);
    expect(c.ownerOf('10.0.0.11')).toBe('p/victim');
    expect([...change.changed].sort()).toEqual(['p/victim', 't/attacker']);
  });

  it('the tie-break is no longer the smaller ns/name: two trusted bindings go to the newest CNI ADD, as a conflict', () => {
    const b = new IpBindings();
    b.set('z/new', [ep('10.0.0.5', 2_000)]);
    const change = b.set('a/old', [ep('10.0.0.5', 1_000)]);
    expect(b.ownerOf('10.0.0.5')).toBe('z/new');
    expect(change.conflicts).toEqual([{ ip: '10.0.0.5', winner: 'z/new', losers: ['a/old'] }]);
    // The winner's interface goes away (CNI DEL): the older binding is all that is left.
    const after = b.set('z/new', []);
    expect(b.ownerOf('10.0.0.5')).toBe('a/old');
    expect([...after.changed].sort()).toEqual(['a/old', 'z/new']);
  });

  it('a WeirEndpoint beats podIPs at the same time; one pod never conflicts with itself', () => {
    const b = new IpBindings();
    expect(b.set('n/p', [kubelet('10.0.0.7', 10), ep('10.0.0.7', 9)]).conflicts).toEqual([]);
    expect(b.claims('n/p')).toEqual([ep('10.0.0.7', 9)]);
    b.set('n/q', [kubelet('10.0.0.8', 10)]);
    b.set('n/r', [ep('10.0.0.8', 10)]);
    expect(b.ownerOf('10.0.0.8')).toBe('n/r');
  });

  it('two network-status claims for one address: nobody owns it (world)', () => {
    const b = new IpBindings();
    b.set('t/a', [status('192.0.2.1')]);
    b.set('t/b', [status('192.0.2.1')]);
    expect(b.ownerOf('192.0.2.1')).toBeUndefined();
    b.remove('t/b');
    expect(b.ownerOf('192.0.2.1')).toBe('t/a');
  });

  it('addresses are canonical (an IPv6 spelling cannot dodge a binding) and removal prunes every index', () => {
    const b = new IpBindings();
    b.set('n/v6', [ep('fd00:0:0:0::1', 1)]);
    b.set('t/x', [status('fd00::1')]);
    expect(b.ownerOf('FD00::1')).toBe('n/v6');
    b.remove('n/v6');
    b.remove('t/x');
    expect(b.size).toBe(0);
    expect(b.ownerOf('fd00::1')).toBeUndefined();
    b.set('n/bad', [ep('not-an-ip', 1)]);
    expect(b.claims('n/bad')).toEqual([]);
  });
});
