/**
 * Numeric identities for string keys. An id stays with its key for as long as something holds the
 * key (reference counted), so recomputing the same state yields the same ids and the datapath sees
 * no churn. Released ids are reused oldest-first, after fresh ids run out of room.
 */
import { FIRST_ALLOCATED_IDENTITY } from '../datapath/desired.js';

export const MAX_IDENTITY = 0xffff_ffff;

export class IdentityAllocator {
  private readonly ids = new Map<string, { id: number; refs: number }>();
  private readonly keys = new Map<number, string>();
  private readonly free: number[] = [];
  private next: number;

  constructor(private readonly first: number = FIRST_ALLOCATED_IDENTITY, private readonly max: number = MAX_IDENTITY) {
    this.next = first;
  }

  /** Takes a reference on `key`, allocating an id on first use. */
  acquire(key: string): number {
    const cur = this.ids.get(key);
    if (cur !== undefined) {
      cur.refs++;
      return cur.id;
    }
    let id: number;
    if (this.next <= this.max) id = this.next++;
    else {
      const reused = this.free.shift();
      if (reused === undefined) throw new RangeError(`identity space ${this.first}..${this.max} exhausted`);
      id = reused;
    }
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
    this.free.push(cur.id);
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
