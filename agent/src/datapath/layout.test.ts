// Which pins layout.ts reuses, replaces and carries over, on a plain directory standing in for the
// pin root (bpffs itself: test/datapath/upgrade.test.ts).
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LAYOUT, LAYOUT_VERSION, MAPS } from './codec.js';
import { CARRY_OVER, encodeMeta, inspectPins, retirePins, UNVERSIONED } from './layout.js';
import type { PinnedMapPort } from './port.js';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'weir-layout-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

/** Pinned maps by file name: sizes and slot 0 of weir_meta; every open is recorded. */
function pinnedMaps(maps: Record<string, { keySize: number; valueSize: number; value?: Buffer }>) {
  const opened: string[] = [];
  const closed: string[] = [];
  const addon = {
    openPinnedMap(path: string): PinnedMapPort {
      const name = path.slice(dir.length + 1);
      const m = maps[name];
      if (m === undefined) throw new Error(`${path}: ENOENT`);
      opened.push(name);
      return {
        name, keySize: m.keySize, valueSize: m.valueSize,
        lookup: () => m.value, update: () => undefined, delete: () => false, keys: () => [], close: () => closed.push(name),
      };
    },
  };
  return { addon, opened, closed };
}

async function pin(...names: string[]): Promise<void> {
  for (const n of names) await writeFile(join(dir, n), '');
}

describe('inspectPins', () => {
  it('an empty or missing pin root is a fresh start', async () => {
    const { addon } = pinnedMaps({});
    expect(inspectPins(addon, dir)).toEqual({ kind: 'empty' });
    expect(inspectPins(addon, join(dir, 'absent'))).toEqual({ kind: 'empty' });
  });

  it('pins without weir_meta were made before layout versions: replaced', async () => {
    await pin(MAPS.ipcache, MAPS.conntrack);
    const found = inspectPins(pinnedMaps({}).addon, dir);
    expect(found).toMatchObject({ kind: 'other', version: UNVERSIONED });
    expect(found.kind === 'other' ? [...found.pins].sort() : []).toEqual([MAPS.conntrack, MAPS.ipcache].sort());
  });

  it('weir_meta decides: this version is reused, an older or newer one replaced, an unwritten slot counts as none', async () => {
    await pin(MAPS.meta, MAPS.policy);
    const meta = (value?: Buffer) => pinnedMaps({ [MAPS.meta]: { keySize: 4, valueSize: LAYOUT.weir_meta.size, value } });
    expect(inspectPins(meta(encodeMeta(LAYOUT_VERSION)).addon, dir)).toEqual({ kind: 'current' });
    expect(inspectPins(meta(encodeMeta(LAYOUT_VERSION + 1)).addon, dir)).toMatchObject({ kind: 'other', version: LAYOUT_VERSION + 1 });
    expect(inspectPins(meta(encodeMeta(0)).addon, dir)).toMatchObject({ kind: 'other', version: UNVERSIONED });
    const odd = pinnedMaps({ [MAPS.meta]: { keySize: 4, valueSize: 4, value: Buffer.alloc(4, 1) } });
    expect(inspectPins(odd.addon, dir)).toMatchObject({ kind: 'other', version: UNVERSIONED });
    expect(odd.closed).toEqual([MAPS.meta]);
  });
});

describe('retirePins', () => {
  const sized = {
    [MAPS.conntrack]: { keySize: LAYOUT.weir_ct_key.size, valueSize: LAYOUT.weir_ct_value.size },
    [MAPS.endpoints]: { keySize: 4, valueSize: LAYOUT.weir_endpoint_config.size },
  };

  it('opens what can be carried over, then removes every weir_ pin (and nothing else)', async () => {
    await pin(MAPS.conntrack, MAPS.endpoints, MAPS.ipcache, 'unrelated');
    const { addon } = pinnedMaps(sized);
    const found = inspectPins(addon, dir);
    if (found.kind !== 'other') throw new Error('expected pins of another layout');
    const retired = retirePins(addon, dir, found);
    expect(retired.conntrack?.name).toBe(MAPS.conntrack);
    expect(retired.endpoints?.name).toBe(MAPS.endpoints);
    expect(await readdir(dir)).toEqual(['unrelated']);
    retired.close();
  });

  it('carries nothing from a version older than CARRY_OVER allows, from a newer agent, or at another size', async () => {
    await pin(MAPS.conntrack, MAPS.endpoints);
    const names = [MAPS.conntrack, MAPS.endpoints];
    const newer = retirePins(pinnedMaps(sized).addon, dir, { version: LAYOUT_VERSION + 1, pins: [] });
    expect([newer.conntrack, newer.endpoints]).toEqual([undefined, undefined]);
    const resized = pinnedMaps({ ...sized, [MAPS.conntrack]: { keySize: LAYOUT.weir_ct_key.size, valueSize: 16 } });
    const r = retirePins(resized.addon, dir, { version: Math.max(CARRY_OVER.conntrack, CARRY_OVER.endpoints), pins: names });
    expect(r.conntrack).toBeUndefined();
    expect(r.endpoints).toBeDefined();
    expect(resized.closed).toEqual([MAPS.conntrack]);
  });
});
