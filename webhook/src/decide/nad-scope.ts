/**
 * Which NADs the NAD webhook judges (issue 16): a cluster holds many NADs that have nothing to do
 * with Weir (DPDK SR-IOV, host-device, KubeVirt bridges, SpiderMultusConfig output with
 * disableIPAM), and `failurePolicy: Ignore` does not help against a denial. So only NADs in Weir's
 * scope are refused; every other NAD gets its findings as warnings.
 *
 * In scope: the chain runs weir (or a near miss of it, a typo), the NAD carries weir.dev/chain
 * (any value), or it lives in a namespace labelled weir.dev/inject=enabled.
 */
import { INJECT_ENABLED, INJECT_LABEL, NAD_CHAIN, WEIR_PLUGIN_TYPE } from '../../../common/src/annotations.js';
import { nearMiss, type ChainParse } from '../../../common/src/cni-chain.js';
import type { NamespaceInfo } from './types.js';

export type NadScope =
  | { inScope: true; why: 'weir-plugin' | 'chain-annotation' | 'namespace-opted-in' }
  | { inScope: false };

function mentionsWeir(parsed: ChainParse, config: string): boolean {
  switch (parsed.kind) {
    case 'chain':
      return parsed.chain.plugins.some((p) => p.type === WEIR_PLUGIN_TYPE || nearMiss(p.type, [WEIR_PLUGIN_TYPE]) !== undefined);
    case 'invalid':
      // Not a chain yet, but written for Weir: judge it so its author hears why.
      return config.includes(`"${WEIR_PLUGIN_TYPE}"`);
    case 'empty':
      return false;
  }
}

export function nadScope(
  annotations: Readonly<Record<string, string>>,
  parsed: ChainParse,
  config: string,
  namespace: NamespaceInfo | undefined,
): NadScope {
  if (mentionsWeir(parsed, config)) return { inScope: true, why: 'weir-plugin' };
  if (Object.prototype.hasOwnProperty.call(annotations, NAD_CHAIN)) return { inScope: true, why: 'chain-annotation' };
  if (namespace?.labels[INJECT_LABEL] === INJECT_ENABLED) return { inScope: true, why: 'namespace-opted-in' };
  return { inScope: false };
}
