import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_ENDPOINT_ID } from '../datapath/codec.js';
import { EndpointRegistry, endpointKeyOf } from './registry.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-registry-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => { for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true }); });

const fields = { containerId: 'c1', netnsPath: '/var/run/netns/p1', ifName: 'eth0', namespace: 'x', pod: 'a', podUid: 'u1' };

describe('EndpointRegistry', () => {
  it('survives a restart with the same endpoint ids', async () => {
    const dir = await tempDir();
    const first = new EndpointRegistry(dir);
    const a = await first.put(fields);
    const b = await first.put({ ...fields, pod: 'b', containerId: 'c2' });
    const second = new EndpointRegistry(dir);
    expect(await second.load()).toEqual([]);
    expect(second.list()).toEqual([a, b]);
    const c = await second.put({ ...fields, pod: 'c', containerId: 'c3' });
    expect(new Set([a.endpointId, b.endpointId, c.endpointId]).size).toBe(3);
  });

  it('keeps the id when the same pod interface is added again', async () => {
    const registry = new EndpointRegistry(await tempDir());
    const a = await registry.put(fields);
    const again = await registry.put({ ...fields, containerId: 'c9', netnsPath: '/var/run/netns/p9' });
    expect(again.endpointId).toBe(a.endpointId);
    expect(registry.list()).toHaveLength(1);
  });

  it('gives a new endpoint the lowest free id, also after a restart', async () => {
    const dir = await tempDir();
    const registry = new EndpointRegistry(dir);
    const ids = [];
    for (const pod of ['a', 'b', 'c', 'd']) ids.push((await registry.put({ ...fields, pod, containerId: pod })).endpointId);
    expect(ids).toEqual([1, 2, 3, 4]);
    await registry.remove(endpointKeyOf({ ...fields, pod: 'b' }));
    await registry.remove(endpointKeyOf({ ...fields, pod: 'a' }));
    expect((await registry.put({ ...fields, pod: 'e', containerId: 'e' })).endpointId).toBe(1);
    const restarted = new EndpointRegistry(dir);
    await restarted.load();
    expect((await restarted.put({ ...fields, pod: 'f', containerId: 'f' })).endpointId).toBe(2);
    expect((await restarted.put({ ...fields, pod: 'g', containerId: 'g' })).endpointId).toBe(5);
  });

  it('refuses a new endpoint, saying why, when every id is in use', async () => {
    const dir = await tempDir();
    const endpoints = Array.from({ length: MAX_ENDPOINT_ID }, (_, i) => ({ ...fields, pod: `p${i}`, containerId: `c${i}`, endpointId: i + 1 }));
    await writeFile(join(dir, 'endpoints.json'), JSON.stringify({ version: 1, endpoints }));
    const registry = new EndpointRegistry(dir);
    expect(await registry.load()).toEqual([]);
    await expect(registry.put({ ...fields, pod: 'one-more' })).rejects.toThrow(`no free endpoint id: all ${MAX_ENDPOINT_ID} are in use on this node`);
    // A known endpoint keeps its id even then.
    expect((await registry.put({ ...fields, pod: 'p7', containerId: 'new' })).endpointId).toBe(8);
  });

  it('drops malformed records and says so, never throws', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'endpoints.json'), JSON.stringify({ endpoints: [{ ...fields, endpointId: 7 }, { endpointId: 'x' }, null] }));
    const registry = new EndpointRegistry(dir);
    const problems = await registry.load();
    expect(problems).toHaveLength(2);
    expect(registry.list().map((r) => r.endpointId)).toEqual([7]);
    await writeFile(join(dir, 'endpoints.json'), '{not json');
    expect(await new EndpointRegistry(dir).load()).toEqual([expect.stringContaining('is not JSON')]);
  });
});
