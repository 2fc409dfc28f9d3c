/**
 * Which tc filters on an endpoint's clsact hooks are Weir's, and which run ahead of it.
 *
 * Weir's filter sits in one slot per hook: handle 1, priority 1, protocol ETH_P_ALL, kind bpf
 * (native/src/netlink.cc AttachBpfFilter). The kernel runs a hook's classifiers by ascending
 * priority and stops at the first direct-action verdict; Weir's program always returns one, so a
 * filter at a later priority never sees a packet. What can get past Weir is a filter at Weir's own
 * priority: another handle in Weir's cls_bpf instance (newer filters run first) or, when Weir's
 * filter is missing, another classifier holding priority 1 (it would also make re-attaching fail:
 * one priority holds one classifier kind and protocol). Those are "ahead" and are removed.
 */
export const WEIR_FILTER = { handle: 1, priority: 1, protocol: 3 /* ETH_P_ALL */, kind: 'bpf' } as const;

/** Classid bit of a filter on a link a later chained plugin added (bpf/include/antispoof.h WEIR_CLASSID_ADOPTED). */
export const ADOPTED_CLASSID_BIT = 0x8000;

/** A filter as native/index.ts TcApi.list reports it. */
export interface TcFilterInfo {
  handle: number;
  priority: number;
  protocol: number;
  kind: string;
  progId: number;
  classid: number;
}

/** In the same classifier instance as Weir's slot: removable by handle without touching Weir's filter. */
export const inWeirInstance = (f: TcFilterInfo): boolean =>
  f.priority === WEIR_FILTER.priority && f.protocol === WEIR_FILTER.protocol && f.kind === WEIR_FILTER.kind;

export const isWeirSlot = (f: TcFilterInfo): boolean => inWeirInstance(f) && f.handle === WEIR_FILTER.handle;

/** Filters that run before Weir's or block its slot (every filter at Weir's priority but the slot). */
export const filtersAhead = (filters: readonly TcFilterInfo[]): TcFilterInfo[] =>
  filters.filter((f) => f.priority <= WEIR_FILTER.priority && !isWeirSlot(f));

/** How one hook looks: Weir's slot missing, holding something else, or fine; and what runs ahead. */
export function hookState(
  filters: readonly TcFilterInfo[], expect: { progId?: number; classid?: number },
): { slot: 'missing' | 'foreign' | 'ok'; ahead: TcFilterInfo[] } {
  const slot = filters.find(isWeirSlot);
  const ahead = filtersAhead(filters);
  if (slot === undefined) return { slot: 'missing', ahead };
  const foreign = (expect.progId !== undefined && slot.progId !== expect.progId) || (expect.classid !== undefined && slot.classid !== expect.classid);
  return { slot: foreign ? 'foreign' : 'ok', ahead };
}

export const describeFilter = (f: TcFilterInfo): string =>
  `${f.kind} filter handle ${f.handle} priority ${f.priority} protocol 0x${f.protocol.toString(16)}${f.progId !== 0 ? ` (program id ${f.progId})` : ''}`;
