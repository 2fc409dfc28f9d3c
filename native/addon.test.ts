// The native addon against the real kernel, without network namespaces: object load with
// `const volatile` config, map CRUD/batch/per-CPU/pinning, ring buffer delivery, error shape, and
// no fd or thread leaks over many operations.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePrivileged } from '../test/support/privileged.js';
import { loadNative, NativeError, type BpfObject, type NativeAddon } from './index.js';

/** The error `fn` throws (vitest's toThrow(expect.objectContaining(...)) is typed any). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to throw');
}

const OBJ = 'build/bpf/smoke.bpf.o';
const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const BPF_MAP_TYPE_HASH = 1;

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
const lpmKey = (prefixlen: number, addr: string): Buffer => {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(prefixlen, 0);
  Buffer.from(addr.split('.').map(Number)).copy(b, 4);
  return b;
};
const fdCount = (): number => readdirSync('/proc/self/fd').length;
const threadCount = (): number => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describePrivileged('native addon: objects, maps, ring buffer', () => {
  let addon: NativeAddon;
  const pinRoot = `/sys/fs/bpf/h3a-addon-${process.pid}`;

  beforeAll(() => {
    execFileSync('make', ['-s', 'native', OBJ], { stdio: 'inherit' });
    addon = loadNative();
  });
  afterAll(() => rmSync(pinRoot, { recursive: true, force: true }));

  it('probes the kernel', () => {
    const f = addon.probeFeatures();
    expect(f).toMatchObject({ ringbuf: true, lpmTrie: true, lruHash: true, tcClsact: true, schTbf: true, ifb: true, btf: true, bpffs: true });
    // The development VM's kernel has no sch_fq (agent/src/datapath/shaping.ts says why Weir shapes
    // with TBF); the probe must say so rather than assume.
    expect(f.schFq).toBe(false);
    expect(f.kernelRelease).toMatch(/^\d+\.\d+/);
  });

  it('lists programs and maps and runs a program', () => {
    const obj = addon.openObject({ path: OBJ });
    try {
      expect(obj.programNames().sort()).toEqual(['smoke_drop', 'smoke_pass']);
      expect(obj.mapNames()).toEqual(expect.arrayContaining(['smoke_hash', 'smoke_lpm', 'smoke_runs', 'smoke_events']));
      expect(obj.program('smoke_pass').testRun({ data: Buffer.alloc(60) }).retval).toBe(TC_ACT_OK);
      expect(obj.program('smoke_drop').testRun({ data: Buffer.alloc(60), repeat: 1000 }).retval).toBe(TC_ACT_SHOT);
      // ctx round-trips as struct __sk_buff (mark at offset 8).
      const ctx = Buffer.alloc(192);
      ctx.writeUInt32LE(0xabc, 8);
      const r = obj.program('smoke_pass').testRun({ data: Buffer.alloc(60), ctx });
      expect(r.ctx?.readUInt32LE(8)).toBe(0xabc);
    } finally {
      obj.close();
    }
  });

  it('applies const volatile config before load and refuses unknown or out-of-range constants', () => {
    const obj = addon.openObject({ path: OBJ, constants: { smoke_verdict: TC_ACT_SHOT, smoke_magic: 0x1122334455667788n, smoke_emit: false } });
    try {
      expect(obj.program('smoke_pass').testRun({ data: Buffer.alloc(60) }).retval).toBe(TC_ACT_SHOT);
    } finally {
      obj.close();
    }
    const err = (() => {
      try {
        addon.openObject({ path: OBJ, constants: { no_such_knob: 1 } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(NativeError);
    expect(err).toMatchObject({ step: 'constants', errno: 2 });
    expect((err as Error).message).toContain("no const volatile global named 'no_such_knob'");
    expect(() => addon.openObject({ path: OBJ, constants: { smoke_emit: 300 } })).toThrow(/does not fit in 1 bytes/);
    expect(() => addon.openObject({ path: OBJ, constants: { smoke_verdict: 1.5 } })).toThrow(/safe integer/);
  });

  it('reports a missing object file with step and errno', () => {
    expect(thrown(() => addon.openObject({ path: 'build/bpf/does-not-exist.bpf.o' }))).toMatchObject({ step: 'bpf_object__open_file', errno: 2 });
  });

  it('does map CRUD, iteration, batches and per-CPU reads', () => {
    const obj = addon.openObject({ path: OBJ });
    try {
      const h = obj.map('smoke_hash');
      expect(h).toMatchObject({ name: 'smoke_hash', keySize: 4, valueSize: 8, maxEntries: 1024, type: BPF_MAP_TYPE_HASH });
      expect(h.fd).toBeGreaterThan(2);
      expect(obj.map('smoke_hash')).toBe(h);
      expect(h.lookup(u32(1))).toBeUndefined();
      h.update(u32(1), u64(11n));
      expect(h.lookup(u32(1))?.readBigUInt64LE()).toBe(11n);
      expect(thrown(() => h.update(u32(1), u64(12n), 'noexist'))).toMatchObject({ step: 'bpf_map_update_elem', errno: 17 });
      expect(thrown(() => h.update(u32(2), u64(12n), 'exist'))).toMatchObject({ errno: 2 });
      expect(thrown(() => h.lookup(Buffer.alloc(3)))).toMatchObject({ step: 'validate key', errno: 22 });
      expect(h.delete(u32(1))).toBe(true);
      expect(h.delete(u32(1))).toBe(false);

      const keys = Array.from({ length: 300 }, (_, i) => u32(i));
      h.updateBatch(keys, keys.map((_, i) => u64(BigInt(i * 2))));
      expect(h.keys()).toHaveLength(300);
      const all = h.lookupBatch();
      expect(all.keys).toHaveLength(300);
      for (let i = 0; i < all.keys.length; i++) {
        const k = all.keys[i]?.readUInt32LE() ?? -1;
        expect(all.values[i]?.readBigUInt64LE()).toBe(BigInt(k * 2));
      }
      // 100 present + 1 absent in the middle: the absent one is skipped, not fatal.
      const del = [...keys.slice(0, 50), u32(5000), ...keys.slice(50, 100)];
      expect(h.deleteBatch(del)).toBe(100);
      expect(h.keys()).toHaveLength(200);

      // LPM tries have no batch ops: the addon falls back to single-element operations.
      const lpm = obj.map('smoke_lpm');
      lpm.updateBatch([lpmKey(24, '10.1.2.0'), lpmKey(32, '10.1.2.3')], [u32(7), u32(9)]);
      expect(lpm.lookup(lpmKey(32, '10.1.2.3'))?.readUInt32LE()).toBe(9);
      expect(lpm.lookup(lpmKey(32, '10.1.2.4'))?.readUInt32LE()).toBe(7);
      expect(lpm.lookupBatch().keys).toHaveLength(2);
      expect(lpm.deleteBatch([lpmKey(24, '10.1.2.0'), lpmKey(24, '10.9.9.0')])).toBe(1);

      const runs = obj.map('smoke_runs');
      obj.program('smoke_pass').testRun({ data: Buffer.alloc(60), repeat: 7 });
      const perCpu = runs.lookupPerCpu(u32(0));
      expect(perCpu.length).toBeGreaterThanOrEqual(1);
      expect(perCpu.reduce((s, b) => s + b.readBigUInt64LE(), 0n)).toBe(7n);
      runs.update(u32(0), u64(0n)); // one value written to every CPU's slot
      expect(runs.lookupPerCpu(u32(0)).every((b) => b.readBigUInt64LE() === 0n)).toBe(true);
    } finally {
      obj.close();
    }
  });

  it('pins maps by name under pinRoot and reuses them on the next load; pins programs', () => {
    const a = addon.openObject({ path: OBJ, pinRoot });
    const b = addon.openObject({ path: OBJ, pinRoot });
    try {
      // Without a pinRoot nothing is pinned (libbpf's default would be /sys/fs/bpf).
      const loose = addon.openObject({ path: OBJ });
      loose.map('smoke_hash').update(u32(42), u64(1n));
      loose.close();
      expect(existsSync('/sys/fs/bpf/smoke_hash')).toBe(false);
      a.map('smoke_hash').update(u32(42), u64(4242n));
      expect(b.map('smoke_hash').lookup(u32(42))?.readBigUInt64LE()).toBe(4242n);
      // Maps without LIBBPF_PIN_BY_NAME stay private to each object.
      a.map('smoke_lpm').update(lpmKey(32, '1.2.3.4'), u32(1));
      expect(b.map('smoke_lpm').lookup(lpmKey(32, '1.2.3.4'))).toBeUndefined();

      const pinned = addon.openPinnedMap(`${pinRoot}/smoke_hash`);
      expect(pinned).toMatchObject({ name: 'smoke_hash', keySize: 4, valueSize: 8 });
      expect(pinned.lookup(u32(42))?.readBigUInt64LE()).toBe(4242n);
      pinned.close();
      expect(pinned.fd).toBe(-1);
      expect(thrown(() => pinned.lookup(u32(42)))).toMatchObject({ errno: 9 });

      const prog = a.program('smoke_pass');
      const progPin = `${pinRoot}/progs/smoke_pass`;
      prog.pin(progPin);
      expect(addon.pinnedProgramId(progPin)).toBe(prog.id);
      prog.unpin(progPin);
      expect(addon.pinnedProgramId(progPin)).toBeUndefined();
    } finally {
      a.close();
      b.close();
    }
    // The pinned map outlives both objects.
    const again = addon.openPinnedMap(`${pinRoot}/smoke_hash`);
    expect(again.lookup(u32(42))?.readBigUInt64LE()).toBe(4242n);
    again.close();
    expect(thrown(() => addon.openPinnedMap(`${pinRoot}/nope`))).toMatchObject({ step: 'bpf_obj_get', errno: 2 });
  });

  it('fails cleanly when a closed object is used', () => {
    const obj = addon.openObject({ path: OBJ });
    const prog = obj.program('smoke_pass');
    const map = obj.map('smoke_hash');
    obj.close();
    expect(prog.fd).toBe(-1);
    expect(thrown(() => prog.testRun({ data: Buffer.alloc(60) }))).toMatchObject({ errno: 9 });
    expect(thrown(() => map.keys())).toMatchObject({ errno: 9 });
  });

  it('delivers ring buffer records emitted by a program run', async () => {
    const obj: BpfObject = addon.openObject({ path: OBJ, constants: { smoke_magic: 0xfeedn } });
    try {
      const records: Buffer[] = [];
      const rb = addon.ringBuffer(obj.map('smoke_events'), (r) => records.push(r));
      rb.start();
      obj.program('smoke_pass').testRun({ data: Buffer.alloc(60), repeat: 1000 });
      await until(() => records.length >= 1000);
      await rb.stop();
      expect(rb.delivered).toBe(1000);
      expect(records.every((r) => r.length === 16 && r.readBigUInt64LE(0) === 0xfeedn && r.readUInt32LE(8) === 60)).toBe(true);
      // Sequence numbers are 1..1000 in order.
      expect(records.map((r) => r.readUInt32LE(12))).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
      // Restartable after a stop.
      rb.start();
      obj.program('smoke_pass').testRun({ data: Buffer.alloc(60) });
      await until(() => records.length === 1001);
      await rb.stop();
      await rb.stop();
      expect(thrown(() => addon.ringBuffer(obj.map('smoke_hash'), () => undefined))).toMatchObject({ errno: 22 });
    } finally {
      obj.close();
    }
  });

  it('leaks no fds or threads over 100 rounds of operations', async () => {
    const round = async (): Promise<void> => {
      const obj = addon.openObject({ path: OBJ, pinRoot });
      const h = obj.map('smoke_hash');
      h.update(u32(1), u64(1n));
      h.lookupBatch();
      obj.program('smoke_pass').testRun({ data: Buffer.alloc(60) });
      const rb = addon.ringBuffer(obj.map('smoke_events'), () => undefined);
      rb.start();
      await rb.stop();
      await addon.netlink.linkIndex(null, 'lo');
      try {
        addon.openObject({ path: OBJ, constants: { nope: 1 } });
      } catch {
        // expected
      }
      obj.close();
    };
    await round(); // warm-up: lazily created pools and caches
    const fds = fdCount();
    const threads = threadCount();
    for (let i = 0; i < 100; i++) await round();
    expect(fdCount()).toBe(fds);
    expect(threadCount()).toBeLessThanOrEqual(threads + 1);
  });
});
