/**
 * The compiler's identities: one per (principal, the ipBlock CIDRs containing the address) for pod
 * addresses, one per ipBlock CIDR, with the indexes that answer "which identities does this
 * ipBlock peer name". Numbers come from an allocator that outlives the table (compile.ts rebuilds
 * the table on a reload and keeps the ids of keys that survive). Part of the policy compiler.
 */
import type { IdentityAllocator } from '../identity/allocator.js';
import { CidrSet, cidrContains, type Cidr } from '../../../common/src/ip.js';
import type { IdentityInfo, Principal } from './compile-types.js';

export class IdentityTable {
  private readonly byKey = new Map<string, IdentityInfo>();
  private readonly byId = new Map<number, IdentityInfo>();
  /** ipBlock CIDR (canonical) → pod identities whose address it contains. */
  private readonly members = new Map<string, Set<IdentityInfo>>();
  private readonly blocks = new Map<string, { cidr: Cidr; refs: number }>();
  private readonly blockSet = new CidrSet();

  constructor(private readonly allocator: IdentityAllocator) {}

  get(key: string): IdentityInfo | undefined {
    return this.byKey.get(key);
  }

  byNumber(id: number): IdentityInfo | undefined {
    return this.byId.get(id);
  }

  numbers(): Iterable<number> {
    return this.byId.keys();
  }

  /** Keys of CIDR identities (pods hold their own keys), for a reload to release afterwards. */
  cidrKeys(): string[] {
    return [...this.byKey.values()].filter((i) => i.principal === undefined).map((i) => i.key);
  }

  get blockCount(): number {
    return this.blocks.size;
  }

  /** Takes a reference on an ipBlock CIDR; returns its identity when the CIDR is new. */
  addBlock(c: Cidr): IdentityInfo | undefined {
    const ref = this.blocks.get(c.canonical);
    if (ref !== undefined) {
      ref.refs++;
      return undefined;
    }
    this.blocks.set(c.canonical, { cidr: c, refs: 1 });
    this.blockSet.add(c);
    const key = `c:${c.canonical}`;
    const info: IdentityInfo = { key, id: this.allocator.acquire(key), principal: undefined, cidr: c, members: [] };
    this.byKey.set(key, info);
    this.byId.set(info.id, info);
    return info;
  }

  /** Drops a reference; true when no policy references the CIDR any more (the caller rebuilds). */
  releaseBlock(canonical: string): boolean {
    const ref = this.blocks.get(canonical);
    return ref !== undefined && --ref.refs <= 0;
  }

  unusedBlock(canonical: string): boolean {
    return (this.blocks.get(canonical)?.refs ?? 0) <= 0;
  }

  /**
   * Takes a reference on the identity of a pod address (its principal and the ipBlocks containing
   * it). `fresh` when the identity appeared just now (the compiler patches it into cached rules).
   */
  acquirePod(principal: Principal, host: Cidr): { key: string; info: IdentityInfo; fresh: boolean } {
    const members = this.blockSet.containing(host.family, host.addr).map((c) => c.canonical).sort();
    const key = `p:${principal.key}#${members.join(',')}`;
    const id = this.allocator.acquire(key);
    const known = this.byKey.get(key);
    if (known !== undefined) return { key, info: known, fresh: false };
    const info: IdentityInfo = { key, id, principal, cidr: undefined, members };
    this.byKey.set(key, info);
    this.byId.set(id, info);
    principal.identities.add(info);
    for (const m of members) {
      let s = this.members.get(m);
      if (s === undefined) this.members.set(m, (s = new Set()));
      s.add(info);
    }
    return { key, info, fresh: true };
  }

  /** Drops a pod address's reference; returns the identity when it went (no pod holds it). */
  releasePod(key: string): IdentityInfo | undefined {
    if (!this.allocator.release(key)) return undefined;
    const info = this.byKey.get(key);
    if (info === undefined) return undefined;
    this.byKey.delete(key);
    this.byId.delete(info.id);
    info.principal?.identities.delete(info);
    for (const m of info.members) this.members.get(m)?.delete(info);
    return info;
  }

  /** The identities an ipBlock peer names: CIDR identities inside it and pod identities whose address it contains, minus the excepts. */
  blockPeers(cidr: Cidr, except: readonly Cidr[], out: Set<number>): void {
    const excluded = (c: Cidr): boolean => except.some((e) => cidrContains(e, c));
    for (const ref of this.blocks.values()) {
      if (cidrContains(cidr, ref.cidr) && !excluded(ref.cidr)) {
        const id = this.allocator.lookup(`c:${ref.cidr.canonical}`);
        if (id !== undefined) out.add(id);
      }
    }
    const exceptKeys = except.map((e) => e.canonical);
    for (const info of this.members.get(cidr.canonical) ?? []) {
      if (!exceptKeys.some((e) => info.members.includes(e))) out.add(info.id);
    }
  }

  /** Human description: "ns {labels…}" (and the ipBlocks containing it) or "cidr 10.0.0.0/8". */
  describe(id: number): string | undefined {
    const info = this.byId.get(id);
    if (info === undefined) return undefined;
    if (info.cidr !== undefined) return `cidr ${info.cidr.canonical}`;
    const pr = info.principal;
    if (pr === undefined) return undefined;
    const labels = Object.entries(pr.podLabels).map(([k, v]) => `${k}=${v}`).join(',');
    return `${pr.namespace} {${labels}}${info.members.length ? ` in ${info.members.join(',')}` : ''}`;
  }
}
