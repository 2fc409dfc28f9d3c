/**
 * Numeric identities for string keys, derived from the key itself: a hash of the key picks the id,
 * and a collision with a live key moves on to the next free id. An id stays with its key for as
 * long as something holds the key (reference counted).
 *
 * Why derived rather than counted: the node's ipcache and every endpoint's policy entries name
 * identities by number, and they are two separate maps the agent cannot rewrite atomically. A
 * restarted agent learns the cluster in whatever order its informers deliver it; with a counter it
 * numbered every identity afresh, and between its ipcache write and the policy writes that
 * followed, peers were judged by the other numbering (an allowed peer dropped, and a denied one
 * could match an old allow entry whose number it had inherited). Derived ids make a restart (and
 * any rebuild of the compiler's state) produce the same numbers, so the maps see no churn. No state
 * file is needed, and two nodes give the same workload the same id (flow records line up).
 * Only a hash collision is order-dependent, and it costs churn, never a wrong steady state: the
 * driver diffs against what the maps hold.
 */
import { createHash } from 'node:crypto';

export const MAX_IDENTITY = 0xffff_ffff;

export class IdentityAllocator {
  private readonly ids = new Map<string, { id: number; refs: number }>();
  private readonly keys = new Map<number, string>();
  private readonly span: number;

  /** Ids are allocated in first..max (the policy compiler: agent/src/datapath/desired.ts FIRST/LAST_ALLOCATED_IDENTITY). */
  constructor(private readonly first: number, private readonly max: number) {
    if (!Number.isInteger(first) || !Number.isInteger(max) || first < 0 || max > MAX_IDENTITY || max < first) {
      throw new RangeError(`identity range ${first}..${max} is not a valid u32 range`);
    }
    this.span = max - first + 1;
  }

  /** The id a key gets when no other live key sits on it (its hash, folded into the range). */
  preferredId(key: string): number {
    const h = createHash('sha256').update(key).digest().readUInt32LE(0);
    return this.first + (h % this.span);
  }

  /** Takes a reference on `key`, allocating an id on first use. */
  acquire(key: string): number {
    const cur = this.ids.get(key);
    if (cur !== undefined) {
      cur.refs++;
      return cur.id;
    }
    if (this.keys.size >= this.span) throw new RangeError(`identity space ${this.first}..${this.max} exhausted`);
    let id = this.preferredId(key);
    while (this.keys.has(id)) id = id === this.max ? this.first : id + 1;
    this.ids.set(key, { id, refs: 1 });
    this.keys.set(id, key);
    return id;
  }

  /** Drops a reference; the id is freed when none remain. Returns true when it was freed. */
  release(key: string): boolean {
    const cur = this.ids.get(key);
    if (cur === undefined) return false;
    if (--cur.refs > 0) return false;
    this.ids.delete(key);
    this.keys.delete(cur.id);
    return true;
  }

  lookup(key: string): number | undefined {
    return this.ids.get(key)?.id;
  }

  keyOf(id: number): string | undefined {
    return this.keys.get(id);
  }

  get size(): number {
    return this.ids.size;
  }
}
