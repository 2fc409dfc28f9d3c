/**
 * The node's ipcache as the compiler keeps it: every claim on an address or prefix (pods by
 * "namespace/name", an ipBlock by ""), and the entry each slot resolves to, kept current claim by
 * claim (rebuilding 10,000+ entries per compile was the cost). A pod's claim beats an equal
 * ipBlock's; two pods claiming one address resolve by pod name, so the result does not depend on
 * the order the cluster was seen in. Part of the policy compiler (compile.ts).
 */
import type { IpCacheEntry } from '../datapath/desired.js';

/** An identity key's ipcache value: undefined while the key has no identity. */
export type IdentityValue = (idKey: string) => Pick<IpCacheEntry, 'identity' | 'namespaceClass'> | undefined;

export class IpCacheTable {
  /** canonical CIDR → owner → identity key */
  private readonly claims = new Map<string, Map<string, string>>();
  private readonly slots = new Map<string, IpCacheEntry>();
  /**
   * entries() as last built, until a slot changes: a compile per event copied every slot (50,000
   * at 50,000 pods) when one or none had changed, and the copies fed the GC (bench/compile.ts).
   */
  private built: IpCacheEntry[] | undefined;

  constructor(private readonly valueOf: IdentityValue) {}

  claim(cidr: string, owner: string, idKey: string): void {
    let m = this.claims.get(cidr);
    if (m === undefined) this.claims.set(cidr, (m = new Map<string, string>()));
    m.set(owner, idKey);
    this.refresh(cidr);
  }

  release(cidr: string, owner: string): void {
    this.claims.get(cidr)?.delete(owner);
    this.refresh(cidr);
  }

  /** The entry an exact address or prefix resolves to, if any (not a longest-prefix lookup). */
  at(cidr: string): IpCacheEntry | undefined {
    return this.slots.get(cidr);
  }

  /** Every slot's entry. The array is shared by callers until the next change: read it, do not modify it. */
  entries(): IpCacheEntry[] {
    this.built ??= [...this.slots.values()];
    return this.built;
  }

  /** Recomputes one slot. */
  private refresh(cidr: string): void {
    const claims = this.claims.get(cidr);
    let winner: string | undefined;
    let winnerKey: string | undefined;
    for (const [owner, idKey] of claims ?? []) {
      if (winner === undefined || (winner === '' && owner !== '') || (owner !== '' && owner < winner)) {
        winner = owner;
        winnerKey = idKey;
      }
    }
    const value = winnerKey === undefined ? undefined : this.valueOf(winnerKey);
    if (value === undefined) {
      if (this.slots.delete(cidr)) this.built = undefined;
      if (claims !== undefined && claims.size === 0) this.claims.delete(cidr);
      return;
    }
    const entry: IpCacheEntry = { cidr, ...value };
    const cur = this.slots.get(cidr);
    if (cur?.identity !== entry.identity || cur.namespaceClass !== entry.namespaceClass) {
      this.slots.set(cidr, entry);
      this.built = undefined;
    }
  }
}
