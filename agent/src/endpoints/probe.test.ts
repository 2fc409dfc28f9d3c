import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TcAttachProbe } from './probe.js';

describe('TcAttachProbe', () => {
  let netns: string;
  beforeEach(async () => { netns = await mkdtemp(join(tmpdir(), 'weir-probe-')); });
  afterEach(async () => { await rm(netns, { recursive: true, force: true }); });

  const probeWith = (attached: Partial<Record<'ingress' | 'egress', number>>) =>
    new TcAttachProbe({ query: async (t) => { const id = attached[t.direction]; return id === undefined ? undefined : { progId: id }; } });

  it('attached when both slots hold the node\'s programs', async () => {
    expect(await probeWith({ ingress: 7, egress: 8 }).check(netns, 'eth0', { ingress: 7, egress: 8 })).toEqual({ kind: 'attached' });
  });

  it('names a missing slot and a slot holding another program', async () => {
    expect(await probeWith({ egress: 99 }).check(netns, 'eth0', { ingress: 7, egress: 8 })).toEqual({
      kind: 'missing', directions: ['ingress', 'egress'], foreign: ['egress'],
    });
  });

  it('without expected ids, any program counts as attached', async () => {
    expect(await probeWith({ ingress: 1, egress: 2 }).check(netns, 'eth0')).toEqual({ kind: 'attached' });
  });

  it('a netns path that no longer exists is netns-gone, not missing', async () => {
    expect(await probeWith({}).check(join(netns, 'gone'), 'eth0', { ingress: 7, egress: 8 })).toEqual({ kind: 'netns-gone' });
  });
});
