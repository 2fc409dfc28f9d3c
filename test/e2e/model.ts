/**
 * The upstream NetworkPolicy e2e model (kubernetes test/e2e/network/netpol): namespaces x, y, z,
 * pods a, b, c in each, servers on TCP and UDP ports 80 and 81, and the reachability matrix of
 * every ordered pair of pods for every (protocol, port). Pure: no I/O here.
 */

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
export type NamespaceName = (typeof NAMESPACES)[number];
export type PodName = (typeof POD_NAMES)[number];

export interface PodRef {
  ns: NamespaceName;
  pod: PodName;
}

export const PODS: readonly PodRef[] = NAMESPACES.flatMap((ns) => POD_NAMES.map((pod) => ({ ns, pod })));
export const podKey = (p: PodRef): string => `${p.ns}/${p.pod}`;

/** Pods alternate between nodes: with 2 nodes, 40 of the 72 ordered pairs cross nodes. */
export function alternatingPlacement(nodes: number): (p: PodRef) => string {
  return (p) => `node-${((NAMESPACES.indexOf(p.ns) + POD_NAMES.indexOf(p.pod)) % nodes) + 1}`;
}

export type Protocol = 'TCP' | 'UDP';
export interface ProbeCase {
  protocol: Protocol;
  port: 80 | 81;
}
export const CASES: readonly ProbeCase[] = [
  { protocol: 'TCP', port: 80 },
  { protocol: 'TCP', port: 81 },
  { protocol: 'UDP', port: 80 },
  { protocol: 'UDP', port: 81 },
];
export const caseKey = (c: ProbeCase): string => `${c.protocol}/${c.port}`;

/** Container port names, upstream style: named-port policies refer to these. */
export const portName = (c: ProbeCase): string => `serve-${c.port}-${c.protocol.toLowerCase()}`;

/** Hand-written expectation: may `from` reach `to` on `c`? Loopback (from = to) is never asked. */
export type Truth = (from: PodRef, to: PodRef, c: ProbeCase) => boolean;

export const allowAll: Truth = () => true;
export const is = (p: PodRef, key: string): boolean => podKey(p) === key;

/** Observed or expected reachability: key `${from}>${to}>${case}` → allowed. */
export type Matrix = Map<string, boolean>;
export const cellKey = (from: PodRef, to: PodRef, c: ProbeCase): string => `${podKey(from)}>${podKey(to)}>${caseKey(c)}`;

export function expectedMatrix(truth: Truth, pods: readonly PodRef[] = PODS, cases: readonly ProbeCase[] = CASES): Matrix {
  const m: Matrix = new Map();
  for (const from of pods) for (const to of pods) {
    if (podKey(from) === podKey(to)) continue;
    for (const c of cases) m.set(cellKey(from, to, c), truth(from, to, c));
  }
  return m;
}

export interface Mismatch {
  cell: string;
  expected: boolean;
  observed: boolean | undefined;
}

export function compare(expected: Matrix, observed: Matrix): Mismatch[] {
  const out: Mismatch[] = [];
  for (const [cell, want] of expected) {
    const got = observed.get(cell);
    if (got !== want) out.push({ cell, expected: want, observed: got });
  }
  return out;
}

/**
 * Upstream-style tables, one per case: rows = from, columns = to, `.` allowed, `X` blocked,
 * `-` loopback (not probed); a mismatch shows the observed value followed by `!`.
 */
export function renderMatrices(expected: Matrix, observed: Matrix, pods: readonly PodRef[] = PODS, cases: readonly ProbeCase[] = CASES): string {
  const lines: string[] = [];
  const sym = (v: boolean | undefined): string => (v === undefined ? '?' : v ? '.' : 'X');
  for (const c of cases) {
    lines.push(`${caseKey(c)}   (expected | observed, ! = mismatch)`);
    const header = pods.map((p) => podKey(p).padEnd(4)).join('');
    lines.push(`     ${header}        ${header}`);
    for (const from of pods) {
      let exp = '';
      let obs = '';
      for (const to of pods) {
        if (podKey(from) === podKey(to)) {
          exp += '-   ';
          obs += '-   ';
          continue;
        }
        const k = cellKey(from, to, c);
        const e = expected.get(k);
        const o = observed.get(k);
        exp += sym(e).padEnd(4);
        obs += `${sym(o)}${e !== o ? '!' : ''}`.padEnd(4);
      }
      lines.push(`${podKey(from).padEnd(5)}${exp}   ${podKey(from).padEnd(5)}${obs}`);
    }
  }
  return lines.join('\n');
}
