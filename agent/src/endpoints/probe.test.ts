import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TcFilterInfo } from '../datapath/filters.js';
import { TcAttachProbe } from './probe.js';

const weir = (progId: number, classid = 5): TcFilterInfo => ({ handle: 1, priority: 1, protocol: 3, kind: 'bpf', progId, classid });

describe('TcAttachProbe', () => {
  let netns: string;
  beforeEach(async () => { netns = await mkdtemp(join(tmpdir(), 'weir-probe-')); });
  afterEach(async () => { await rm(netns, { recursive: true, force: true }); });

  const probeWith = (filters: Partial<Record<'ingress' | 'egress', TcFilterInfo[]>>) =>
    new TcAttachProbe({ list: async (t) => filters[t.direction] ?? [] });

  it('attached when both slots hold the node\'s programs with the endpoint\'s classid', async () => {
    expect(await probeWith({ ingress: [weir(7)], egress: [weir(8)] }).check(netns, 'eth0', { ingress: 7, egress: 8 }, 5)).toEqual({ kind: 'attached' });
  });

  it('names a missing slot and a slot holding another program', async () => {
    expect(await probeWith({ egress: [weir(99)] }).check(netns, 'eth0', { ingress: 7, egress: 8 })).toEqual({
      kind: 'missing', directions: ['ingress', 'egress'], foreign: ['egress'],
    });
  });

  it('Weir\'s program under another endpoint\'s classid is foreign', async () => {
    expect(await probeWith({ ingress: [weir(7, 6)], egress: [weir(8)] }).check(netns, 'eth0', { ingress: 7, egress: 8 }, 5)).toEqual({
      kind: 'missing', directions: ['ingress'], foreign: ['ingress'],
    });
  });

  it('a filter ahead of Weir\'s (same priority, other handle or classifier) is foreign; one behind it is not', async () => {
    const ahead: TcFilterInfo = { handle: 2, priority: 1, protocol: 3, kind: 'bpf', progId: 50, classid: 0 };
    const behind: TcFilterInfo = { handle: 1, priority: 2, protocol: 0x800, kind: 'u32', progId: 0, classid: 0 };
    expect(await probeWith({ ingress: [weir(7), ahead], egress: [weir(8), behind] }).check(netns, 'eth0', { ingress: 7, egress: 8 })).toEqual({
      kind: 'missing', directions: ['ingress'], foreign: ['ingress'],
    });
  });

  it('without expected ids, any program counts as attached', async () => {
    expect(await probeWith({ ingress: [weir(1)], egress: [weir(2)] }).check(netns, 'eth0')).toEqual({ kind: 'attached' });
  });

  it('a netns path that no longer exists is netns-gone, not missing', async () => {
    expect(await probeWith({}).check(join(netns, 'gone'), 'eth0', { ingress: 7, egress: 8 })).toEqual({ kind: 'netns-gone' });
  });
});
