import { invokeCni, type CniCommand } from '../../harness/support/cni.js';
import { isRecord } from '../../common/src/records.js';
import { COORDINATOR_STANDIN_TYPE, coordinatorStandIn } from './coordinator.js';

/** A plugin's outcome with the raw result object (passed on verbatim as the next prevResult). */
export type CniOutcome =
  | { ok: true; result: Record<string, unknown> | undefined }
  | { ok: false; code: number; message: string; details: string };

/**
 * libcni's network-list semantics, for the simulated node: ADD runs the plugins in order, each
 * getting the previous plugin's result as `prevResult`; DEL and CHECK run with the cached result,
 * DEL in reverse order and past failures (a DEL must clean up as much as it can).
 * A single-plugin config is a list of one.
 */

export interface NetworkList {
  name: string;
  cniVersion: string;
  plugins: Record<string, unknown>[];
}

export type ParsedList = { ok: true; list: NetworkList } | { ok: false; error: string };

/** Parses a NAD `spec.config` the way Multus hands it to libcni (no `type` at top level = conflist). */
export function networkListFromConfig(config: string, fallbackName: string): ParsedList {
  let value: unknown;
  try {
    value = JSON.parse(config);
  } catch (error) {
    return { ok: false, error: `spec.config is not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (!isRecord(value)) return { ok: false, error: 'spec.config must be a JSON object' };
  const cniVersion = typeof value.cniVersion === 'string' ? value.cniVersion : '0.3.1';
  const name = typeof value.name === 'string' ? value.name : fallbackName;
  if (typeof value.type === 'string') return { ok: true, list: { name, cniVersion, plugins: [value] } };
  const plugins = value.plugins;
  if (!Array.isArray(plugins) || plugins.length === 0) return { ok: false, error: 'spec.config has neither "type" nor a non-empty "plugins" list' };
  const objects: Record<string, unknown>[] = [];
  for (const [index, plugin] of plugins.entries()) {
    if (!isRecord(plugin) || typeof plugin.type !== 'string') return { ok: false, error: `spec.config.plugins[${index}] has no "type"` };
    objects.push(plugin);
  }
  return { ok: true, list: { name, cniVersion, plugins: objects } };
}

export interface ChainContext {
  containerId: string;
  /** Name of the pod's network namespace. */
  netns: string;
  ifName: string;
  args: string;
  binDir: string;
  env?: Record<string, string>;
  netnsToRunIn?: string;
  /** Values offered to plugins that declare the matching `capabilities` (ips, mac, bandwidth, ...). */
  runtimeConfig?: Record<string, unknown>;
}

function pluginConfig(list: NetworkList, plugin: Record<string, unknown>, ctx: ChainContext, prevResult: unknown): Record<string, unknown> {
  const config: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  delete config.capabilities;
  const capabilities = isRecord(plugin.capabilities) ? plugin.capabilities : {};
  const runtime: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(ctx.runtimeConfig ?? {})) {
    if (capabilities[key] === true) runtime[key] = value;
  }
  if (Object.keys(runtime).length > 0) config.runtimeConfig = runtime;
  if (prevResult !== undefined) config.prevResult = prevResult;
  return config;
}

async function invoke(command: CniCommand, list: NetworkList, plugin: Record<string, unknown>, ctx: ChainContext, prev: unknown): Promise<CniOutcome> {
  const type = String(plugin.type);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(type)) return { ok: false, code: 1, message: `plugin type ${JSON.stringify(type)} is not a plain binary name`, details: '' };
  if (type === COORDINATOR_STANDIN_TYPE) {
    // The lab's stand-in for Spiderpool's coordinator runs in-process (coordinator.ts).
    if (ctx.netnsToRunIn === undefined) return { ok: false, code: 1, message: `${type}: needs the node's netns (netnsToRunIn)`, details: '' };
    const outcome = await coordinatorStandIn(command, pluginConfig(list, plugin, ctx, prev), { containerId: ctx.containerId, podNetns: ctx.netns, nodeNetns: ctx.netnsToRunIn });
    return outcome.ok ? outcome : { ok: false, code: 1, message: outcome.message, details: '' };
  }
  const outcome = await invokeCni({
    plugin: type, command, containerId: ctx.containerId, netns: ctx.netns, ifName: ctx.ifName, cniArgs: ctx.args,
    cniPath: ctx.binDir, env: ctx.env, hostNetns: ctx.netnsToRunIn, config: pluginConfig(list, plugin, ctx, prev),
  });
  if (outcome.kind === 'error') return { ok: false, code: outcome.code, message: `${type}: ${outcome.msg}`, details: outcome.details };
  if (outcome.stdout.trim() === '') return { ok: true, result: undefined };
  const raw: unknown = JSON.parse(outcome.stdout);
  return { ok: true, result: isRecord(raw) ? raw : undefined };
}

/** ADD: returns the final result, or the first failure (after which the caller runs DEL). */
export async function addNetworkList(list: NetworkList, ctx: ChainContext): Promise<CniOutcome> {
  let prev: Record<string, unknown> | undefined;
  for (const plugin of list.plugins) {
    const outcome = await invoke('ADD', list, plugin, ctx, prev);
    if (!outcome.ok) return outcome;
    prev = outcome.result;
  }
  return { ok: true, result: prev };
}

/** DEL: every plugin, in reverse, with the cached result; returns the failures (possibly none). */
export async function delNetworkList(list: NetworkList, ctx: ChainContext, cachedResult: unknown): Promise<CniOutcome[]> {
  const failures: CniOutcome[] = [];
  for (const plugin of [...list.plugins].reverse()) {
    const outcome = await invoke('DEL', list, plugin, ctx, cachedResult);
    if (!outcome.ok) failures.push(outcome);
  }
  return failures;
}

/** The addresses a CNI result assigned, as CIDR strings, and the interface MAC if reported. */
export function resultAddresses(result: unknown): { ips: string[]; mac: string | undefined } {
  if (!isRecord(result)) return { ips: [], mac: undefined };
  const ips: string[] = [];
  if (Array.isArray(result.ips)) {
    for (const ip of result.ips) {
      if (isRecord(ip) && typeof ip.address === 'string') ips.push(ip.address);
    }
  }
  let mac: string | undefined;
  if (Array.isArray(result.interfaces)) {
    for (const iface of result.interfaces) {
      if (isRecord(iface) && typeof iface.mac === 'string' && typeof iface.sandbox === 'string' && iface.sandbox !== '') mac = iface.mac;
    }
  }
  return { ips, mac };
}
