/**
 * Who owns each pod IP: the one place that decides which pod an address's identity comes from.
 *
 * Claims come in two tiers. Trusted claims are written by something a tenant cannot write: a
 * WeirEndpoint (the agent that ran the CNI ADD) or kubelet's `status.podIPs`. Secondary claims come
 * from Multus's network-status, already filtered by agent/src/identity/secondary.ts. An IP goes to:
 *
 * - among trusted claims, the newest binding (a CNI ADD's time, or the pod's start for podIPs); at
 *   equal times a WeirEndpoint beats podIPs, then the smaller "ns/name" (deterministic on every
 *   node). Two trusted claims from different pods are a conflict the caller reports on both pods;
 * - else, when exactly one pod claims it from network-status, that pod;
 * - else nobody: the address is "world", never a guessed pod identity.
 *
 * Pure and incremental: `set` replaces one pod's claims and says which pods' owned sets changed.
 */
import { formatIp, hostCidr } from '../../../common/src/ip.js';

export type ClaimSource = 'endpoint' | 'podIPs' | 'network-status';

export interface Claim {
  /** The address as written (normalised to its canonical text by `set`). */
  ip: string;
  iface: string;
  source: ClaimSource;
  /** When the binding was made (ms since the epoch); 0 when unknown. */
  atMs: number;
}

export interface Conflict {
  /** Canonical address text. */
  ip: string;
  /** "ns/name" of the pod that keeps it. */
  winner: string;
  /** Every other pod with a trusted claim on it. */
  losers: string[];
}

export interface BindingChange {
  /** Pods whose set of owned IPs changed (the caller re-hands them to the compiler). */
  changed: Set<string>;
  /** Contested IPs touched by this change. */
  conflicts: Conflict[];
}

const trusted = (c: Claim): boolean => c.source !== 'network-status';

/** True when `a` beats `b` for one IP (both trusted). */
function newer(a: Claim & { pod: string }, b: Claim & { pod: string }): boolean {
  if (a.atMs !== b.atMs) return a.atMs > b.atMs;
  if (a.source !== b.source) return a.source === 'endpoint';
  return a.pod < b.pod;
}

export class IpBindings {
  /** pod → canonical IP → its claim (one per IP per pod: the strongest it made). */
  private readonly byPod = new Map<string, Map<string, Claim>>();
  /** canonical IP → pod → claim. */
  private readonly byIp = new Map<string, Map<string, Claim>>();
  private readonly owner = new Map<string, string>();

  /** Replaces every claim of `pod`. Unparseable addresses are dropped (they bind nothing). */
  set(pod: string, claims: readonly Claim[]): BindingChange {
    const next = new Map<string, Claim>();
    for (const c of claims) {
      const host = hostCidr(c.ip);
      if (host === undefined) continue;
      const ip = formatIp(host.family, host.addr);
      const prev = next.get(ip);
      // One pod's own sources never contest each other: keep its strongest claim.
      if (prev === undefined || (trusted(c) && !trusted(prev)) || (c.source === 'endpoint' && prev.source === 'podIPs')) next.set(ip, { ...c, ip });
    }
    const touched = new Set<string>([...(this.byPod.get(pod)?.keys() ?? []), ...next.keys()]);
    for (const ip of this.byPod.get(pod)?.keys() ?? []) this.byIp.get(ip)?.delete(pod);
    if (next.size === 0) this.byPod.delete(pod);
    else this.byPod.set(pod, next);
    for (const [ip, c] of next) {
      let m = this.byIp.get(ip);
      if (m === undefined) this.byIp.set(ip, (m = new Map<string, Claim>()));
      m.set(pod, c);
    }
    return this.refresh(touched, pod);
  }

  remove(pod: string): BindingChange {
    return this.set(pod, []);
  }

  /** The claims `pod` wins, by canonical IP. */
  owned(pod: string): Claim[] {
    return [...(this.byPod.get(pod)?.entries() ?? [])].filter(([ip]) => this.owner.get(ip) === pod).map(([, c]) => c);
  }

  /** Every claim `pod` made, won or not (an interface with a lost IP still exists). */
  claims(pod: string): Claim[] {
    return [...(this.byPod.get(pod)?.values() ?? [])];
  }

  ownerOf(ip: string): string | undefined {
    const host = hostCidr(ip);
    return host === undefined ? undefined : this.owner.get(formatIp(host.family, host.addr));
  }

  /** Number of addresses with an owner. */
  get size(): number {
    return this.owner.size;
  }

  private refresh(ips: Iterable<string>, subject: string): BindingChange {
    const changed = new Set<string>([subject]);
    const conflicts: Conflict[] = [];
    for (const ip of ips) {
      const claims = this.byIp.get(ip);
      const before = this.owner.get(ip);
      const after = claims === undefined ? undefined : this.winner(ip, claims, conflicts);
      if (claims !== undefined && claims.size === 0) this.byIp.delete(ip);
      if (after === undefined) this.owner.delete(ip);
      else this.owner.set(ip, after);
      if (before !== after) {
        if (before !== undefined) changed.add(before);
        if (after !== undefined) changed.add(after);
      }
    }
    return { changed, conflicts };
  }

  private winner(ip: string, claims: Map<string, Claim>, conflicts: Conflict[]): string | undefined {
    let best: (Claim & { pod: string }) | undefined;
    const trustedPods: string[] = [];
    for (const [pod, c] of claims) {
      if (!trusted(c)) continue;
      trustedPods.push(pod);
      const cand = { ...c, pod };
      if (best === undefined || newer(cand, best)) best = cand;
    }
    if (best !== undefined) {
      const win = best.pod;
      if (trustedPods.length > 1) conflicts.push({ ip, winner: win, losers: trustedPods.filter((p) => p !== win).sort() });
      return win;
    }
    // Only network-status claims: one claimant may have it; two or more means nobody can be believed.
    return claims.size === 1 ? [...claims.keys()][0] : undefined;
  }
}
