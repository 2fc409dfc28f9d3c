/**
 * NetworkAttachmentDefinition decisions: validate spec.config against the chain rules, and insert
 * {"type":"weir"} right after the interface plugin when the NAD is annotated weir.dev/chain: enabled.
 */
import { CHAIN_ENABLED, NAD_CHAIN, WEIR_PLUGIN_TYPE, annotationField } from '../../../common/src/annotations.js';
import { chainHas, parseChain, type CniChain } from '../../../common/src/cni-chain.js';
import { annotationsOf, isRecord } from '../../../common/src/records.js';
import { checkParsed } from './chain-rules.js';
import { refusal, toRefusal, uniq, warning } from './findings.js';
import { nadScope } from './nad-scope.js';
import type { ClusterView, Decision, JsonPatchOp, Refusal } from './types.js';

export interface NadObject {
  namespace: string;
  name: string;
  annotations: Record<string, string>;
  /** spec.config; '' when absent. */
  config: string;
  /** Whether spec.config is present (decides add vs replace). */
  hasConfig: boolean;
  hasSpec: boolean;
}


function stringMap(v: unknown, path: string, errors: Refusal[], code: 'NAD_MALFORMED' | 'POD_MALFORMED'): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) {
    errors.push(refusal(code, path, { detail: 'must be a map of strings' }));
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') errors.push(refusal(code, `${path}[${JSON.stringify(k)}]`, { detail: 'must be a string' }));
    else out[k] = val;
  }
  return out;
}
export { stringMap };

export function parseNadObject(nad: unknown): { ok: true; nad: NadObject } | { ok: false; refusals: Refusal[] } {
  const errors: Refusal[] = [];
  if (!isRecord(nad)) return { ok: false, refusals: [refusal('NAD_MALFORMED', '(object)', { detail: 'must be a JSON object' })] };
  const meta = isRecord(nad['metadata']) ? nad['metadata'] : {};
  const annotations = stringMap(meta['annotations'], 'metadata.annotations', errors, 'NAD_MALFORMED');
  const spec = nad['spec'];
  let config = '';
  let hasConfig = false;
  if (spec !== undefined && spec !== null) {
    if (!isRecord(spec)) {
      errors.push(refusal('NAD_MALFORMED', 'spec', { detail: 'must be an object' }));
    } else if (spec['config'] !== undefined && spec['config'] !== null) {
      if (typeof spec['config'] !== 'string') errors.push(refusal('NAD_MALFORMED', 'spec.config', { detail: 'must be a string holding JSON' }));
      else {
        config = spec['config'];
        hasConfig = true;
      }
    }
  }
  if (errors.length > 0) return { ok: false, refusals: errors };
  return {
    ok: true,
    nad: {
      namespace: typeof meta['namespace'] === 'string' ? meta['namespace'] : '',
      name: typeof meta['name'] === 'string' ? meta['name'] : '',
      annotations,
      config,
      hasConfig,
      hasSpec: isRecord(spec),
    },
  };
}

/**
 * The config with {"type":"weir"} inserted after the interface plugin, or undefined when nothing
 * should change (already there, not parseable, or no plugin to insert after).
 */
export function insertWeir(config: string, nadName: string): string | undefined {
  const parsed = parseChain(config);
  if (parsed.kind !== 'chain') return undefined;
  const chain: CniChain = parsed.chain;
  if (chainHas(chain, WEIR_PLUGIN_TYPE)) return undefined;
  const head = chain.plugins.find((p) => p.kind !== 'prelude');
  // Only after something that creates the interface (a known interface plugin, or an unknown one
  // that may be a custom interface plugin); never after policy/coordinator/meta at the head.
  if (head === undefined || (head.kind !== 'interface' && head.kind !== 'unknown')) return undefined;
  const weir = { type: WEIR_PLUGIN_TYPE };
  if (chain.form === 'single') {
    const { cniVersion, name, ...plugin } = chain.raw;
    const out: Record<string, unknown> = {};
    if (cniVersion !== undefined) out['cniVersion'] = cniVersion;
    out['name'] = typeof name === 'string' && name !== '' ? name : nadName;
    out['plugins'] = [plugin, weir];
    return JSON.stringify(out);
  }
  const list = chain.raw['plugins'];
  if (!Array.isArray(list)) return undefined;
  const plugins: unknown[] = [...list];
  plugins.splice(head.index + 1, 0, weir);
  return JSON.stringify({ ...chain.raw, plugins });
}

export function mutateNad(nad: unknown, _view: ClusterView): Decision {
  const parsed = parseNadObject(nad);
  // Malformed objects are the validating side's to refuse; mutation leaves them alone.
  if (!parsed.ok) return { kind: 'allow', patch: [], warnings: [] };
  const n = parsed.nad;
  if (n.annotations[NAD_CHAIN] !== CHAIN_ENABLED) return { kind: 'allow', patch: [], warnings: [] };
  const next = insertWeir(n.config, n.name);
  if (next === undefined) return { kind: 'allow', patch: [], warnings: [] };
  const patch: JsonPatchOp[] = n.hasSpec
    ? [{ op: n.hasConfig ? 'replace' : 'add', path: '/spec/config', value: next }]
    : [{ op: 'add', path: '/spec', value: { config: next } }];
  return { kind: 'allow', patch, warnings: [] };
}

/** Out of Weir's scope, a refusal becomes a short warning naming its field and stable code. */
function outOfScope(refusals: readonly Refusal[]): string[] {
  return refusals.map((r) => warning('W_NAD_OUT_OF_SCOPE', { field: r.field, code: r.code }));
}

/**
 * `requestNamespace` is the AdmissionReview's namespace, used when the object does not carry one.
 * NADs outside Weir's scope (nad-scope.ts) are never refused: their findings come back as warnings.
 */
export function validateNad(nad: unknown, view: ClusterView, requestNamespace = ''): Decision {
  const parsed = parseNadObject(nad);
  if (!parsed.ok) {
    // The API server's schema makes this rare; the scope is judged from what can still be read.
    const meta = isRecord(nad) && isRecord(nad['metadata']) ? nad['metadata'] : {};
    const ns = typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : requestNamespace;
    const scope = nadScope(annotationsOf(nad), { kind: 'empty' }, '', view.namespace(ns));
    if (scope.inScope) return { kind: 'deny', refusals: parsed.refusals, warnings: [] };
    return { kind: 'allow', patch: [], warnings: outOfScope(parsed.refusals) };
  }
  const n = parsed.nad;
  const chain = parseChain(n.config);
  const scope = nadScope(n.annotations, chain, n.config, view.namespace(n.namespace !== '' ? n.namespace : requestNamespace));
  const check = checkParsed(chain, { weirAnnotated: n.annotations[NAD_CHAIN] === CHAIN_ENABLED });
  if ('empty' in check) return { kind: 'allow', patch: [], warnings: [warning('W_NAD_CONFIG_EMPTY', {})] };
  const warnings = uniq(check.warnings.map((w) => warning(w.code, w.params)));
  const refusals = check.refusals.map(toRefusal);
  // weir.dev/chain: enabled, weir insertable, yet absent: the mutating webhook did not run (it
  // fails open). Without this the NAD would be stored unenforced while saying it is enforced.
  if (
    n.annotations[NAD_CHAIN] === CHAIN_ENABLED &&
    chain.kind === 'chain' &&
    !chainHas(chain.chain, WEIR_PLUGIN_TYPE) &&
    insertWeir(n.config, n.name) !== undefined
  ) {
    refusals.push(refusal('NAD_CHAIN_WEIR_MISSING', annotationField(NAD_CHAIN), {}));
  }
  if (refusals.length === 0) return { kind: 'allow', patch: [], warnings };
  if (scope.inScope) return { kind: 'deny', refusals, warnings };
  return { kind: 'allow', patch: [], warnings: uniq([...warnings, ...outOfScope(refusals)]) };
}
