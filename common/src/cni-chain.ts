/**
 * NAD `spec.config` → a typed chain model. Shared by the webhook (chain rules, `weir` insertion) and
 * the agent (does this attachment run through Weir?). This module only parses and classifies; the
 * ordering rules live in webhook/src/decide/chain-rules.ts.
 *
 * A config is a single plugin (top-level `type`) or a conflist (`plugins` array), as Multus's
 * LoadDelegateNetConf decides: no top-level `type` means conflist.
 */
import { WEIR_PLUGIN_TYPE } from './annotations.js';
import { isRecord } from './records.js';

/**
 * - `prelude`: runs before the interface plugin and prepares the master (Spiderpool's `ifacer`).
 * - `interface`: creates the pod's interface and must come first (after any prelude).
 * - `policy`: enforces policy/bandwidth on that interface (Weir, or the cilium-chaining fork).
 * - `coordinator`: Spiderpool's route/neighbour tuner; needs a prevResult, comes after policy.
 * - `meta`: other chained plugins (tuning, portmap, bandwidth, sbr, …).
 * - `unknown`: not a plugin Weir knows.
 */
export type PluginKind = 'prelude' | 'interface' | 'policy' | 'coordinator' | 'meta' | 'unknown';

/** Known CNI plugin types and their kinds (containernetworking/plugins, Spiderpool, SR-IOV, OVS, Cilium). */
export const KNOWN_PLUGINS: Readonly<Record<string, Exclude<PluginKind, 'unknown'>>> = {
  ifacer: 'prelude',
  macvlan: 'interface',
  ipvlan: 'interface',
  sriov: 'interface',
  'ib-sriov': 'interface',
  ipoib: 'interface',
  vlan: 'interface',
  'host-device': 'interface',
  bridge: 'interface',
  ovs: 'interface',
  ptp: 'interface',
  tap: 'interface',
  dummy: 'interface',
  [WEIR_PLUGIN_TYPE]: 'policy',
  'cilium-cni': 'policy',
  coordinator: 'coordinator',
  tuning: 'meta',
  portmap: 'meta',
  bandwidth: 'meta',
  firewall: 'meta',
  sbr: 'meta',
  vrf: 'meta',
  rdma: 'meta',
};

/** Known IPAM plugin types (the `ipam.type` of an interface plugin). */
export const KNOWN_IPAM = ['spiderpool', 'host-local', 'static', 'dhcp', 'whereabouts'] as const;

/** CNI spec versions libcni accepts. */
export const SUPPORTED_CNI_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/**
 * CNI spec versions the weir plugin accepts (`supported_versions` in native/cni/main.c; a test
 * keeps the two equal). A chain that runs weir with any other cniVersion fails at sandbox creation.
 */
export const WEIR_PLUGIN_CNI_VERSIONS = ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export function pluginKind(type: string): PluginKind {
  return Object.prototype.hasOwnProperty.call(KNOWN_PLUGINS, type) ? (KNOWN_PLUGINS[type] ?? 'unknown') : 'unknown';
}

export interface ChainPlugin {
  /** Position in `plugins` (0 for a single-plugin config). */
  index: number;
  type: string;
  kind: PluginKind;
  /** Field path of this plugin object, e.g. `spec.config.plugins[2]` or `spec.config`. */
  path: string;
  raw: Record<string, unknown>;
}

export interface CniChain {
  form: 'single' | 'conflist';
  /** The conflist (or single config) `name`, when a string. */
  name: string | undefined;
  /** `cniVersion` as written: undefined when absent; non-strings are reported by the parser. */
  cniVersion: string | undefined;
  plugins: ChainPlugin[];
  raw: Record<string, unknown>;
}

export interface ChainIssue {
  path: string;
  message: string;
}

export type ChainParse =
  | { kind: 'empty' }
  | { kind: 'invalid'; issues: ChainIssue[] }
  | { kind: 'chain'; chain: CniChain };

export const CONFIG_PATH = 'spec.config';


/**
 * Parses spec.config. Structural problems (not JSON, not an object, `plugins` not a non-empty array
 * of objects, a plugin without a string `type`, non-string name/cniVersion) are all reported.
 */
export function parseChain(config: string): ChainParse {
  if (config.trim() === '') return { kind: 'empty' };
  let doc: unknown;
  try {
    doc = JSON.parse(config);
  } catch (e: unknown) {
    return { kind: 'invalid', issues: [{ path: CONFIG_PATH, message: `is not valid JSON (${e instanceof Error ? e.message : 'parse error'})` }] };
  }
  if (!isRecord(doc)) {
    return { kind: 'invalid', issues: [{ path: CONFIG_PATH, message: 'must be a JSON object' }] };
  }
  const issues: ChainIssue[] = [];
  const name = doc['name'];
  if (name !== undefined && typeof name !== 'string') issues.push({ path: `${CONFIG_PATH}.name`, message: 'must be a string' });
  const ver = doc['cniVersion'];
  if (ver !== undefined && typeof ver !== 'string') issues.push({ path: `${CONFIG_PATH}.cniVersion`, message: 'must be a string' });
  const plugins: ChainPlugin[] = [];
  let form: CniChain['form'];
  if (doc['type'] === undefined) {
    form = 'conflist';
    const list = doc['plugins'];
    if (list === undefined) {
      issues.push({ path: CONFIG_PATH, message: 'has neither "type" (single plugin) nor "plugins" (conflist)' });
    } else if (!Array.isArray(list)) {
      issues.push({ path: `${CONFIG_PATH}.plugins`, message: 'must be an array of plugin objects' });
    } else if (list.length === 0) {
      issues.push({ path: `${CONFIG_PATH}.plugins`, message: 'is empty; a conflist needs at least one plugin' });
    } else {
      list.forEach((p: unknown, index) => {
        const path = `${CONFIG_PATH}.plugins[${index}]`;
        if (!isRecord(p)) {
          issues.push({ path, message: 'must be a JSON object' });
          return;
        }
        const type = p['type'];
        if (typeof type !== 'string' || type === '') {
          issues.push({ path: `${path}.type`, message: 'is missing; every plugin needs a "type"' });
          return;
        }
        plugins.push({ index, type, kind: pluginKind(type), path, raw: p });
      });
    }
  } else {
    form = 'single';
    const type = doc['type'];
    if (typeof type !== 'string' || type === '') {
      issues.push({ path: `${CONFIG_PATH}.type`, message: 'must be a non-empty string' });
    } else {
      plugins.push({ index: 0, type, kind: pluginKind(type), path: CONFIG_PATH, raw: doc });
    }
  }
  if (issues.length > 0) return { kind: 'invalid', issues };
  return {
    kind: 'chain',
    chain: {
      form,
      name: typeof name === 'string' ? name : undefined,
      cniVersion: typeof ver === 'string' ? ver : undefined,
      plugins,
      raw: doc,
    },
  };
}

export function chainHas(chain: CniChain, type: string): boolean {
  return chain.plugins.some((p) => p.type === type);
}

/** Does this NAD config run Weir's plugin? (Used for "enforced" in the intent and by the agent.) */
export function configRunsWeir(config: string): boolean {
  const r = parseChain(config);
  return r.kind === 'chain' && chainHas(r.chain, WEIR_PLUGIN_TYPE);
}

/** Optimal-string-alignment edit distance (adjacent transpositions count as one edit). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      d[i * cols + j] = v;
    }
  }
  return at(rows - 1, cols - 1);
}

/**
 * The known name an unknown one is a near miss of: case-insensitively equal, or within 1 edit
 * (names of 4+ characters) or 2 edits (8+ characters). Ties go to the alphabetically first name so
 * the answer is deterministic.
 */
export function nearMiss(value: string, known: readonly string[]): string | undefined {
  if (known.includes(value)) return undefined;
  const lower = value.toLowerCase();
  const budget = value.length >= 8 ? 2 : value.length >= 4 ? 1 : 0;
  let best: { name: string; d: number } | undefined;
  for (const k of [...known].sort()) {
    const d = k === lower ? 0 : editDistance(lower, k);
    if (d <= budget && (best === undefined || d < best.d)) best = { name: k, d };
  }
  return best?.name;
}

export function knownPluginTypes(): string[] {
  return Object.keys(KNOWN_PLUGINS).sort();
}
