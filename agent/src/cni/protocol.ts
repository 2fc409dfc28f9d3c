/**
 * Wire protocol between the weir CNI plugin (native/cni) and the agent's CNI socket.
 *
 * Transport: a unix stream socket, root-only (directory 0700, socket 0600), default
 * /run/weir/cni.sock. One exchange per connection:
 *   1. the plugin connects, writes ONE JSON object (the request) and shuts down its write side;
 *   2. the agent reads until EOF (at most 1 MiB), answers with ONE JSON object and closes.
 * Both sides bound the exchange in time (plugin: config "timeoutSeconds", default 10 s).
 *
 * Request (version 1):
 *   {"version":1, "command":"ADD"|"DEL"|"CHECK"|"STATUS"|"GC",
 *    "containerId":string, "netns":string, "ifName":string,   // CNI_* env, "" when unset
 *    "args":string,                                           // CNI_ARGS raw, e.g. "K8S_POD_NAME=a;..."
 *    "path":string,                                           // CNI_PATH raw
 *    "config":{...}}                                          // the plugin's stdin, verbatim
 * Response:
 *   {"ok":true} | {"ok":false, "code":number, "message":string, "details"?:string}
 * `code` and `message` become the CNI error object's `code` and `msg` (codes: ./codes.ts).
 * For ADD the plugin echoes `config.prevResult` itself: the agent never builds a CNI result.
 */
import { Reader, type FieldError, type Parsed } from '../policy/read.js';
import { CNI_ERROR_CODES } from './codes.js';

export type { FieldError, Parsed };

export const CNI_PROTOCOL_VERSION = 1;
export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** The pod an attachment belongs to, from the K8S_POD_* CNI_ARGS kubelet's runtime sets. */
export interface PodRef {
  namespace: string;
  name: string;
  infraContainerId?: string;
  uid?: string;
}

/** One interface of one sandbox, as CNI names it. */
export interface Attachment {
  containerId: string;
  ifName: string;
}

interface RequestBase {
  cniVersion: string;
  /** The network (conflist) name. */
  networkName: string;
  /** The plugin's whole stdin config object (includes type, prevResult, runtimeConfig, ...). */
  config: Record<string, unknown>;
  /** CNI_ARGS parsed into key/value pairs, and the raw string. */
  args: Record<string, string>;
  rawArgs: string;
  /** CNI_PATH split on ':'. */
  path: string[];
}

export interface AddRequest extends RequestBase {
  command: 'ADD' | 'CHECK';
  attachment: Attachment & { netns: string };
  pod: PodRef | null;
  /** The interface plugin's result, which the plugin echoes back unchanged. */
  prevResult: Record<string, unknown>;
  runtimeConfig: Record<string, unknown>;
}

export interface DelRequest extends RequestBase {
  command: 'DEL';
  /** netns is null when the runtime no longer has one (DEL after the sandbox died). */
  attachment: Attachment & { netns: string | null };
  pod: PodRef | null;
  prevResult: Record<string, unknown> | null;
  runtimeConfig: Record<string, unknown>;
}

export interface StatusRequest extends RequestBase {
  command: 'STATUS';
}

export interface GcRequest extends RequestBase {
  command: 'GC';
  /** `cni.dev/valid-attachments`: everything NOT listed here may be cleaned up. */
  validAttachments: Attachment[];
}

export type CniRequest = AddRequest | DelRequest | StatusRequest | GcRequest;

export type CniResponse =
  | { ok: true }
  | { ok: false; code: number; message: string; details?: string };

export function cniOk(): CniResponse {
  return { ok: true };
}

export function cniError(code: number, message: string, details?: string): CniResponse {
  return details === undefined ? { ok: false, code, message } : { ok: false, code, message, details };
}

export function encodeCniResponse(r: CniResponse): string {
  return JSON.stringify(r);
}

/**
 * CNI_ARGS: `K=V` pairs separated by ';'. The value is everything after the first '='.
 * Returns the pairs or the errors found (path "args").
 */
export function parseCniArgs(raw: string): Parsed<Record<string, string>> {
  const r = new Reader();
  const out: Record<string, string> = {};
  if (raw !== '') {
    for (const [i, pair] of raw.split(';').entries()) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if (eq <= 0) {
        r.fail(`args[${i}]`, `${JSON.stringify(pair)} is not KEY=VALUE`);
        continue;
      }
      out[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return r.result(out);
}

function podRef(r: Reader, args: Record<string, string>): PodRef | null {
  const namespace = args.K8S_POD_NAMESPACE;
  const name = args.K8S_POD_NAME;
  if (namespace === undefined && name === undefined) return null;
  if (!namespace || !name) {
    r.fail('args', 'K8S_POD_NAMESPACE and K8S_POD_NAME must be set together and non-empty');
    return null;
  }
  const pod: PodRef = { namespace, name };
  if (args.K8S_POD_INFRA_CONTAINER_ID) pod.infraContainerId = args.K8S_POD_INFRA_CONTAINER_ID;
  if (args.K8S_POD_UID) pod.uid = args.K8S_POD_UID;
  return pod;
}

function validAttachments(r: Reader, config: Record<string, unknown>): Attachment[] {
  const list = r.array(config['cni.dev/valid-attachments'], 'config["cni.dev/valid-attachments"]') ?? [];
  const out: Attachment[] = [];
  list.forEach((item, i) => {
    const path = `config["cni.dev/valid-attachments"][${i}]`;
    const rec = r.requiredRecord(item, path);
    out.push({
      containerId: r.requiredString(rec.containerID, `${path}.containerID`),
      ifName: r.requiredString(rec.ifname, `${path}.ifname`),
    });
  });
  return out;
}

/** Validates one request as decoded from the socket; reports every bad field with its path. */
export function parseCniRequest(input: unknown): Parsed<CniRequest> {
  const r = new Reader();
  const top = r.requiredRecord(input, '');
  if (top.version !== CNI_PROTOCOL_VERSION) {
    r.fail('version', `must be ${CNI_PROTOCOL_VERSION} (plugin and agent versions differ?)`);
  }
  const commandRaw = r.requiredString(top.command, 'command');
  const command = (CNI_COMMANDS as readonly string[]).includes(commandRaw) ? (commandRaw as CniCommand) : undefined;
  if (command === undefined && commandRaw !== '') r.fail('command', `must be one of ${CNI_COMMANDS.join(', ')}`);
  const containerId = r.string(top.containerId, 'containerId') ?? '';
  const netns = r.string(top.netns, 'netns') ?? '';
  const ifName = r.string(top.ifName, 'ifName') ?? '';
  const rawArgs = r.string(top.args, 'args') ?? '';
  const rawPath = r.string(top.path, 'path') ?? '';
  const config = r.requiredRecord(top.config, 'config');
  const cniVersion = r.requiredString(config.cniVersion, 'config.cniVersion');
  const networkName = r.string(config.name, 'config.name') ?? '';
  const parsedArgs = parseCniArgs(rawArgs);
  if (!parsedArgs.ok) for (const e of parsedArgs.errors) r.fail(e.path, e.message);
  const args = parsedArgs.ok ? parsedArgs.value : {};
  const base: RequestBase = {
    cniVersion,
    networkName,
    config,
    args,
    rawArgs,
    path: rawPath === '' ? [] : rawPath.split(':').filter((p) => p !== ''),
  };
  const runtimeConfig = (): Record<string, unknown> => r.record(config.runtimeConfig, 'config.runtimeConfig') ?? {};
  const need = (value: string, path: string): string => {
    if (value === '') r.fail(path, 'is required');
    return value;
  };

  if (command === undefined) return r.result({ ...base, command: 'STATUS' });
  switch (command) {
    case 'ADD':
    case 'CHECK':
      return r.result({
        ...base,
        command,
        attachment: {
          containerId: need(containerId, 'containerId'),
          ifName: need(ifName, 'ifName'),
          netns: need(netns, 'netns'),
        },
        pod: podRef(r, args),
        prevResult: r.requiredRecord(config.prevResult, 'config.prevResult'),
        runtimeConfig: runtimeConfig(),
      });
    case 'DEL':
      return r.result({
        ...base,
        command,
        attachment: {
          containerId: need(containerId, 'containerId'),
          ifName: need(ifName, 'ifName'),
          netns: netns === '' ? null : netns,
        },
        pod: podRef(r, args),
        prevResult: r.record(config.prevResult, 'config.prevResult') ?? null,
        runtimeConfig: runtimeConfig(),
      });
    case 'STATUS':
      return r.result({ ...base, command });
    case 'GC':
      return r.result({ ...base, command, validAttachments: validAttachments(r, config) });
  }
}

/** The reverse direction, for clients written in TypeScript (tests, `weir` CLI diagnostics). */
export function parseCniResponse(input: unknown): Parsed<CniResponse> {
  const r = new Reader();
  const top = r.requiredRecord(input, '');
  const ok = r.boolean(top.ok, 'ok');
  if (ok === undefined) r.fail('ok', 'is required');
  if (ok !== false) return r.result({ ok: true });
  const code = r.integer(top.code, 'code', 0, 1_000_000_000) ?? CNI_ERROR_CODES.WEIR_ERR_AGENT_PROTOCOL;
  if (top.code === undefined) r.fail('code', 'is required');
  const message = r.requiredString(top.message, 'message');
  const details = r.string(top.details, 'details');
  return r.result(cniError(code, message, details));
}

