/**
 * Per-NAD memo of the parsed chain and of its rule check. Every pod review reads the NADs it names,
 * and parsing plus checking spec.config each time was the largest part of a pod decision.
 *
 * Keyed by the NadInfo object itself: the informer cache builds a new one whenever the NAD changes,
 * so an entry never outlives its NAD version and the WeakMap drops it with the object (bounded by
 * the NADs the cache holds). The config string is compared as well, so a NadInfo changed in place
 * is parsed afresh. Results are shared between reviews: callers treat them as read-only.
 */
import { CHAIN_ENABLED, NAD_CHAIN } from '../../../common/src/annotations.js';
import { parseChain, type ChainParse } from '../../../common/src/cni-chain.js';
import { checkParsed, type ConfigCheck } from './chain-rules.js';
import type { NadInfo } from './types.js';

interface Entry {
  config: string;
  weirAnnotated: boolean;
  parsed: ChainParse;
  check: ConfigCheck | undefined;
}

const memo = new WeakMap<NadInfo, Entry>();

function entry(nad: NadInfo): Entry {
  const e = memo.get(nad);
  const weirAnnotated = nad.annotations[NAD_CHAIN] === CHAIN_ENABLED;
  if (e !== undefined && e.config === nad.config && e.weirAnnotated === weirAnnotated) return e;
  const fresh: Entry = { config: nad.config, weirAnnotated, parsed: parseChain(nad.config), check: undefined };
  memo.set(nad, fresh);
  return fresh;
}

/** parseChain(nad.config), computed once per NAD version. */
export function nadChain(nad: NadInfo): ChainParse {
  return entry(nad).parsed;
}

/** checkConfig(nad.config) with the NAD's weir.dev/chain, computed once per NAD version. */
export function nadCheck(nad: NadInfo): ConfigCheck {
  const e = entry(nad);
  e.check ??= checkParsed(e.parsed, { weirAnnotated: e.weirAnnotated });
  return e.check;
}
