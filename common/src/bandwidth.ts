/**
 * Bandwidth annotations (`kubernetes.io/ingress-bandwidth`, `kubernetes.io/egress-bandwidth` and
 * Weir's namespace defaults/caps): a Kubernetes Quantity in bits per second, accepted only within
 * 1k..1P, exactly as the container runtime does it (containerd internal/cri/bandwidth,
 * kubernetes pkg/util/bandwidth): `Quantity.Value()` (rounded up to an integer) compared to 1k and
 * 1P, with the runtime's wording. Parsing follows apimachinery's ParseQuantity grammar, including
 * its quirks ("." and "k" parse as 0); the arithmetic is exact (BigInt), never floating point.
 */

export const MIN_BITS_PER_SECOND = 1_000;
export const MAX_BITS_PER_SECOND = 1_000_000_000_000_000;

export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";
export const TOO_SMALL_ERROR = 'resource is unreasonably small (< 1kbit)';
export const TOO_LARGE_ERROR = 'resource is unreasonably large (> 1Pbit)';

export type BandwidthProblem = 'format' | 'too-small' | 'too-large';

export type BandwidthParse =
  | { ok: true; bitsPerSecond: number }
  | { ok: false; problem: BandwidthProblem; error: string };

/** An exact rational value: sign * num * 2^binExp * 10^decExp. */
interface QuantityValue {
  negative: boolean;
  /** All significant digits (integer and fraction concatenated), leading zeros stripped. */
  digits: string;
  /** Power of ten applied to `digits` (already includes the fraction length). */
  decExp: number;
  /** Power of two (binary suffixes Ki..Ei). */
  binExp: number;
}

const DECIMAL_SUFFIX: Readonly<Record<string, number>> = {
  n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18,
};
const BINARY_SUFFIX: Readonly<Record<string, number>> = {
  Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60,
};
const SUFFIX_CHARS = 'eEinumkKMGTP';

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** apimachinery's ParseQuantity, reduced to what Value() needs. */
export function parseQuantity(str: string): { ok: true; value: QuantityValue } | { ok: false; error: string } {
  if (str.length === 0) return { ok: false, error: QUANTITY_FORMAT_ERROR };
  let pos = 0;
  let negative = false;
  if (str[0] === '-') {
    negative = true;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  const numStart = pos;
  while (isDigit(str[pos])) pos++;
  const intPart = str.slice(numStart, pos);
  let fracPart = '';
  if (str[pos] === '.') {
    pos++;
    const fracStart = pos;
    while (isDigit(str[pos])) pos++;
    fracPart = str.slice(fracStart, pos);
  }
  const suffixStart = pos;
  while (pos < str.length && SUFFIX_CHARS.includes(str[pos] ?? '')) pos++;
  if (str[pos] === '-' || str[pos] === '+') pos++;
  while (isDigit(str[pos])) pos++;
  if (pos !== str.length) return { ok: false, error: QUANTITY_FORMAT_ERROR };
  const suffix = str.slice(suffixStart);

  let decExp = 0;
  let binExp = 0;
  const dec = DECIMAL_SUFFIX[suffix];
  const bin = BINARY_SUFFIX[suffix];
  if (dec !== undefined) {
    decExp = dec;
  } else if (bin !== undefined) {
    binExp = bin;
  } else if ((suffix[0] === 'e' || suffix[0] === 'E') && /^[+-]?[0-9]+$/.test(suffix.slice(1))) {
    const exp = Number(suffix.slice(1));
    // Go's strconv.ParseInt(…, 10, 64) fails beyond int64; such a suffix is unparseable there too.
    if (!Number.isSafeInteger(exp)) return { ok: false, error: QUANTITY_SUFFIX_ERROR };
    decExp = exp;
  } else {
    return { ok: false, error: QUANTITY_SUFFIX_ERROR };
  }
  const digits = (intPart + fracPart).replace(/^0+/, '');
  return { ok: true, value: { negative, digits, decExp: decExp - fracPart.length, binExp } };
}

/** Compares ceil(value) with [MIN, MAX]; returns the integer when inside. */
function ceilWithinBounds(v: QuantityValue): { ok: true; n: number } | { ok: false; problem: 'too-small' | 'too-large' } {
  if (v.digits === '' || v.negative) return { ok: false, problem: 'too-small' };
  // Magnitude guard so absurd exponents never build giant BigInts: 2^10 < 10^3.1.
  const magnitude = v.digits.length + v.decExp + Math.ceil((v.binExp * 31) / 100);
  if (magnitude > 20) return { ok: false, problem: 'too-large' };
  if (magnitude < -2) return { ok: false, problem: 'too-small' };
  let num = BigInt(v.digits) * 2n ** BigInt(v.binExp);
  let den = 1n;
  if (v.decExp >= 0) num *= 10n ** BigInt(v.decExp);
  else den = 10n ** BigInt(-v.decExp);
  const ceil = (num + den - 1n) / den;
  if (ceil < BigInt(MIN_BITS_PER_SECOND)) return { ok: false, problem: 'too-small' };
  if (ceil > BigInt(MAX_BITS_PER_SECOND)) return { ok: false, problem: 'too-large' };
  return { ok: true, n: Number(ceil) };
}

/** Parses a bandwidth Quantity into bits/s within the runtime's bounds, with the runtime's errors. */
export function parseBandwidth(value: string): BandwidthParse {
  const q = parseQuantity(value);
  if (!q.ok) return { ok: false, problem: 'format', error: q.error };
  const b = ceilWithinBounds(q.value);
  if (b.ok) return { ok: true, bitsPerSecond: b.n };
  return b.problem === 'too-small'
    ? { ok: false, problem: 'too-small', error: TOO_SMALL_ERROR }
    : { ok: false, problem: 'too-large', error: TOO_LARGE_ERROR };
}

/** Human form for messages: 10000000 → "10M" (exact decimal units only, else plain bits/s). */
export function formatBitsPerSecond(bps: number): string {
  const units: ReadonlyArray<[string, number]> = [['P', 1e15], ['T', 1e12], ['G', 1e9], ['M', 1e6], ['k', 1e3]];
  for (const [unit, size] of units) {
    if (bps >= size && bps % size === 0) return `${bps / size}${unit}`;
  }
  return String(bps);
}
