/**
 * The chain rules for a NAD's spec.config (issue 3, "NetworkAttachmentDefinitions"). Pure: takes the
 * parsed chain model from common/src/cni-chain.ts and returns findings with paths. Used by the NAD
 * webhook and again by the pod webhook for every NAD a pod references (the NAD webhook fails open).
 */
import {
  CONFIG_PATH,
  KNOWN_IPAM,
  SUPPORTED_CNI_VERSIONS,
  WEIR_PLUGIN_CNI_VERSIONS,
  chainHas,
  knownPluginTypes,
  nearMiss,
  parseChain,
  type ChainParse,
  type ChainPlugin,
  type CniChain,
} from '../../../common/src/cni-chain.js';
import { WEIR_PLUGIN_TYPE } from '../../../common/src/annotations.js';
import type { ReasonCode, ReasonParams } from '../../../common/src/reasons.js';
import type { Finding } from './findings.js';
import { isRecord } from '../../../common/src/records.js';

export interface ChainCheck {
  refusals: Finding[];
  warnings: Array<{ code: ReasonCode; params: ReasonParams }>;
}

const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru'] as const;
const IPVLAN_MODES = ['l2', 'l3', 'l3s'] as const;
const COORDINATOR_MODES = ['auto', 'underlay', 'overlay', 'disable'] as const;
export const CHAINER_NAME = 'spidernet-chainer';
export const LEGACY_CHAINER_NAME = 'terway-chainer';


function shown(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

export type ConfigCheck = ChainCheck | { empty: true };

export interface ChainContext {
  /**
   * The NAD is annotated weir.dev/chain: enabled, so weir will be in the chain once the mutating
   * webhook has inserted it: the rules for a Weir chain apply even before it is there.
   */
  weirAnnotated: boolean;
}

/** Full check of a config string: structure, then the chain rules. */
export function checkConfig(config: string, ctx: ChainContext): ConfigCheck {
  return checkParsed(parseChain(config), ctx);
}

/** The check of an already parsed config (see nad-chain.ts, which parses each NAD once). */
export function checkParsed(parsed: ChainParse, ctx: ChainContext): ConfigCheck {
  switch (parsed.kind) {
    case 'empty':
      return { empty: true };
    case 'invalid':
      return {
        refusals: parsed.issues.map((i) => ({ code: 'NAD_CONFIG_INVALID', field: i.path, params: { detail: i.message } })),
        warnings: [],
      };
    case 'chain':
      return checkChain(parsed.chain, ctx);
  }
}

/** weir runs in this chain now, or will once the NAD webhook inserts it. */
export function isWeirChain(chain: CniChain, ctx: ChainContext): boolean {
  return ctx.weirAnnotated || chainHas(chain, WEIR_PLUGIN_TYPE);
}

function checkCniVersion(chain: CniChain, weirChain: boolean, refusals: Finding[], warnings: ChainCheck['warnings']): void {
  const field = `${CONFIG_PATH}.cniVersion`;
  const v = chain.cniVersion;
  if (v !== undefined && !(SUPPORTED_CNI_VERSIONS as readonly string[]).includes(v)) {
    refusals.push({ code: 'NAD_CNI_VERSION_UNSUPPORTED', field, params: { version: v, supported: SUPPORTED_CNI_VERSIONS.join(', ') } });
    return;
  }
  // The weir plugin refuses versions before 0.3.1 (and a missing one) at ADD: the late failure at
  // sandbox creation that admission exists to prevent (native/cni/main.c, supported_versions).
  if (weirChain && (v === undefined || !(WEIR_PLUGIN_CNI_VERSIONS as readonly string[]).includes(v))) {
    refusals.push({
      code: 'NAD_CNI_VERSION_BELOW_WEIR',
      field,
      params: { version: v === undefined ? 'missing' : JSON.stringify(v), supported: WEIR_PLUGIN_CNI_VERSIONS.join(', ') },
    });
    return;
  }
  if (v === undefined) warnings.push({ code: 'W_NAD_CNI_VERSION_MISSING', params: {} });
}

export function checkChain(chain: CniChain, ctx: ChainContext): ChainCheck {
  const refusals: Finding[] = [];
  const warnings: ChainCheck['warnings'] = [];
  const known = knownPluginTypes();
  const weirChain = isWeirChain(chain, ctx);

  checkCniVersion(chain, weirChain, refusals, warnings);

  // Types: near misses are refused, other unknown types pass with a warning; duplicates refused.
  const firstOfType = new Map<string, ChainPlugin>();
  for (const p of chain.plugins) {
    if (p.kind === 'unknown') {
      const suggestion = nearMiss(p.type, known);
      if (suggestion !== undefined) {
        refusals.push({ code: 'NAD_PLUGIN_NEAR_MISS', field: `${p.path}.type`, params: { value: p.type, suggestion } });
      } else {
        warnings.push({ code: 'W_NAD_PLUGIN_UNKNOWN', params: { path: p.path, type: p.type } });
      }
    }
    const first = firstOfType.get(p.type);
    if (first !== undefined) {
      refusals.push({ code: 'NAD_DUPLICATE_PLUGIN', field: `${p.path}.type`, params: { type: p.type, firstIndex: first.index } });
    } else {
      firstOfType.set(p.type, p);
    }
  }

  checkOrder(chain, refusals);

  // The plugin that creates the interface: the first of kind interface, wherever it stands (when it
  // is not first, checkOrder has already said so once).
  const iface = chain.plugins.find((p) => p.kind === 'interface');
  if (iface !== undefined) checkInterfacePlugin(iface, weirChain, refusals);

  for (const p of chain.plugins) {
    if (p.type === 'coordinator' && p.raw['mode'] !== undefined) {
      const mode = p.raw['mode'];
      if (typeof mode !== 'string' || !(COORDINATOR_MODES as readonly string[]).includes(mode)) {
        const hint =
          mode === 'disabled'
            ? ' (the coordinator CNI knows "disable", not "disabled"; it would fail with "unknown tuneMode: disabled")'
            : '';
        refusals.push({ code: 'NAD_COORDINATOR_MODE_INVALID', field: `${p.path}.mode`, params: { value: shown(mode), hint } });
      }
    }
    if (p.type === 'bandwidth' && iface !== undefined && (iface.type === 'macvlan' || iface.type === 'ipvlan')) {
      refusals.push({ code: 'NAD_BANDWIDTH_PLUGIN_NO_VETH', field: `${p.path}.type`, params: { iface: iface.type } });
    }
  }

  if (firstOfType.has('cilium-cni')) {
    const name = chain.form === 'conflist' ? chain.name : undefined;
    if (name === LEGACY_CHAINER_NAME) {
      warnings.push({ code: 'W_NAD_LEGACY_CHAINER', params: {} });
    } else if (name !== CHAINER_NAME) {
      refusals.push({
        code: 'NAD_CILIUM_CHAINER_NAME',
        field: `${CONFIG_PATH}.name`,
        params: { name: name === undefined ? 'missing' : shown(name) },
      });
    }
  }
  return { refusals, warnings };
}

function checkOrder(chain: CniChain, refusals: Finding[]): void {
  const plugins = chain.plugins;
  const ifaceIdx = plugins.findIndex((p) => p.kind !== 'prelude');
  const head = plugins[ifaceIdx];
  if (head === undefined) {
    // Only preludes: nothing creates an interface.
    for (const p of plugins) {
      refusals.push({ code: 'NAD_CHAIN_ORDER', field: `${p.path}.type`, params: { type: p.type, where: 'directly before an interface plugin, and the chain has none' } });
    }
    return;
  }
  if (head.kind === 'policy' || head.kind === 'coordinator' || head.kind === 'meta') {
    refusals.push({ code: 'NAD_INTERFACE_NOT_FIRST', field: `${head.path}.type`, params: { type: head.type } });
  }
  // The interface plugin the rest of the order is judged against: the head when it can create an
  // interface, else the first interface plugin (already reported as not first).
  const creator = head.kind === 'interface' || head.kind === 'unknown' ? head : plugins.find((p) => p.kind === 'interface');
  let firstPolicy: ChainPlugin | undefined;
  let coordinator: ChainPlugin | undefined;
  for (let i = ifaceIdx + 1; i < plugins.length; i++) {
    const p = plugins[i];
    if (p === undefined) continue;
    switch (p.kind) {
      case 'prelude':
        refusals.push({ code: 'NAD_CHAIN_ORDER', field: `${p.path}.type`, params: { type: p.type, where: 'before the interface plugin' } });
        break;
      case 'interface':
        if (creator !== undefined && p !== creator && p.type !== creator.type) {
          refusals.push({
            code: 'NAD_CHAIN_ORDER',
            field: `${p.path}.type`,
            params: { type: p.type, where: `first, and "${creator.type}" already creates the interface (one interface plugin per chain)` },
          });
        }
        break;
      case 'policy':
        if (firstPolicy === undefined) {
          firstPolicy = p;
          if (coordinator !== undefined) {
            refusals.push({
              code: 'NAD_CHAIN_ORDER',
              field: `${coordinator.path}.type`,
              params: { type: 'coordinator', where: `after the policy plugin "${p.type}"` },
            });
          }
        } else if (p.type !== firstPolicy.type) {
          refusals.push({
            code: 'NAD_POLICY_MULTIPLE',
            field: `${p.path}.type`,
            params: { type: p.type, first: firstPolicy.type, firstIndex: firstPolicy.index },
          });
        }
        break;
      case 'coordinator':
        coordinator ??= p;
        break;
      case 'meta':
      case 'unknown':
        break;
    }
  }
}

function checkInterfacePlugin(p: ChainPlugin, weirChain: boolean, refusals: Finding[]): void {
  const ipam = p.raw['ipam'];
  const ipamType = isRecord(ipam) ? ipam['type'] : undefined;
  if (typeof ipamType !== 'string' || ipamType === '') {
    // Only Weir needs the IPs (identities, policy, source checks). Elsewhere an interface without
    // IPAM is normal: DPDK SR-IOV VFs, host-device, L2-only bridges, tap, disableIPAM output.
    if (weirChain) refusals.push({ code: 'NAD_IPAM_MISSING', field: `${p.path}.ipam`, params: { type: p.type } });
  } else {
    const suggestion = nearMiss(ipamType, KNOWN_IPAM);
    if (suggestion !== undefined) {
      refusals.push({ code: 'NAD_IPAM_NEAR_MISS', field: `${p.path}.ipam.type`, params: { value: ipamType, suggestion } });
    }
  }
  const modes = p.type === 'macvlan' ? MACVLAN_MODES : p.type === 'ipvlan' ? IPVLAN_MODES : undefined;
  const mode = p.raw['mode'];
  // An absent or empty mode means the plugin's default (macvlan bridge, ipvlan l2).
  if (modes !== undefined && mode !== undefined && mode !== '') {
    if (typeof mode !== 'string' || !(modes as readonly string[]).includes(mode)) {
      refusals.push({ code: 'NAD_MODE_INVALID', field: `${p.path}.mode`, params: { value: shown(mode), type: p.type, modes: modes.join(', ') } });
    } else if (weirChain && p.type === 'ipvlan' && mode === 'l3s') {
      // l3s hands traffic to the L3 stack through netfilter hooks of the master, bypassing the
      // slave's tc ingress hook where Weir's ingress program runs: policy would never see it.
      refusals.push({ code: 'NAD_IPVLAN_L3S_WEIR', field: `${p.path}.mode`, params: {} });
    }
  }
}
