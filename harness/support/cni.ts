import { spawn } from 'node:child_process';
import { isAbsolute, join } from 'node:path';
import { netnsPath } from './netns.js';

/**
 * Runs real CNI plugin binaries (Debian containernetworking-plugins in /usr/lib/cni) the way a
 * runtime does: CNI_* environment, network configuration on stdin, result or error on stdout.
 */

export const DEFAULT_CNI_PATH = '/usr/lib/cni';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';

export interface CniInvocation {
  /** Plugin name (looked up in cniPath) or absolute path. */
  readonly plugin: string;
  readonly command: CniCommand;
  readonly containerId: string;
  /** Named network namespace of the "pod" (path is /var/run/netns/<name>). */
  readonly netns: string;
  readonly ifName: string;
  /** The network configuration object given on stdin. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly cniPath?: string;
  /** Run the plugin inside this named netns (the lab's "node"), so the host is never touched. */
  readonly hostNetns?: string;
  readonly cniArgs?: string;
  /** Extra environment for the plugin (the lab points `weir` at its node's agent socket). */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface CniInterface {
  readonly name: string;
  readonly mac?: string;
  readonly sandbox?: string;
}
export interface CniIp {
  readonly address: string;
  readonly gateway?: string;
  readonly interface?: number;
}
export interface CniRoute {
  readonly dst: string;
  readonly gw?: string;
}
export interface CniResult {
  readonly cniVersion: string;
  readonly interfaces: readonly CniInterface[];
  readonly ips: readonly CniIp[];
  readonly routes: readonly CniRoute[];
}

export type CniOutcome =
  | { readonly kind: 'ok'; readonly result: CniResult | null; readonly stdout: string }
  | { readonly kind: 'error'; readonly code: number; readonly msg: string; readonly details: string; readonly exitCode: number; readonly stderr: string };

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly string[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function optString(o: Obj, key: string, path: string, errors: string[]): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    errors.push(`${path}.${key}: expected a string`);
    return undefined;
  }
  return v;
}

function list<T>(o: Obj, key: string, errors: string[], item: (v: Obj, path: string) => T | undefined): T[] {
  const v = o[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    errors.push(`${key}: expected an array`);
    return [];
  }
  const out: T[] = [];
  v.forEach((e: unknown, i) => {
    const path = `${key}[${i}]`;
    if (!isObj(e)) return void errors.push(`${path}: expected an object`);
    const t = item(e, path);
    if (t !== undefined) out.push(t);
  });
  return out;
}

/** Parses a CNI success result (spec 1.0 shape); every bad field is reported with its path. */
export function parseCniResult(input: unknown): Parsed<CniResult> {
  const errors: string[] = [];
  if (!isObj(input)) return { ok: false, errors: ['(root): expected an object'] };
  const cniVersion = input.cniVersion;
  if (typeof cniVersion !== 'string') errors.push('cniVersion: expected a string');
  const interfaces = list(input, 'interfaces', errors, (e, path) => {
    const name = e.name;
    if (typeof name !== 'string') return void errors.push(`${path}.name: expected a string`);
    const mac = optString(e, 'mac', path, errors);
    const sandbox = optString(e, 'sandbox', path, errors);
    return { name, ...(mac === undefined ? {} : { mac }), ...(sandbox === undefined ? {} : { sandbox }) };
  });
  const ips = list(input, 'ips', errors, (e, path) => {
    const address = e.address;
    if (typeof address !== 'string') return void errors.push(`${path}.address: expected a string`);
    const gateway = optString(e, 'gateway', path, errors);
    const iface = e.interface;
    if (iface !== undefined && typeof iface !== 'number') errors.push(`${path}.interface: expected a number`);
    return {
      address,
      ...(gateway === undefined ? {} : { gateway }),
      ...(typeof iface === 'number' ? { interface: iface } : {}),
    };
  });
  const routes = list(input, 'routes', errors, (e, path) => {
    const dst = e.dst;
    if (typeof dst !== 'string') return void errors.push(`${path}.dst: expected a string`);
    const gw = optString(e, 'gw', path, errors);
    return { dst, ...(gw === undefined ? {} : { gw }) };
  });
  if (errors.length > 0 || typeof cniVersion !== 'string') return { ok: false, errors };
  return { ok: true, value: { cniVersion, interfaces, ips, routes } };
}

function parseCniError(stdout: string): { code: number; msg: string; details: string } {
  try {
    const v: unknown = JSON.parse(stdout);
    if (isObj(v)) {
      return {
        code: typeof v.code === 'number' ? v.code : -1,
        msg: typeof v.msg === 'string' ? v.msg : '',
        details: typeof v.details === 'string' ? v.details : '',
      };
    }
  } catch {
    // not JSON: fall through
  }
  return { code: -1, msg: stdout.trim(), details: '' };
}

/** Invokes the plugin once. A malformed success result is reported as an error outcome. */
export function invokeCni(inv: CniInvocation): Promise<CniOutcome> {
  const cniPath = inv.cniPath ?? DEFAULT_CNI_PATH;
  const binary = isAbsolute(inv.plugin) ? inv.plugin : join(cniPath, inv.plugin);
  const argv = inv.hostNetns === undefined ? [binary] : ['ip', 'netns', 'exec', inv.hostNetns, binary];
  const [file, ...args] = argv;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: inv.command,
    CNI_CONTAINERID: inv.containerId,
    CNI_NETNS: netnsPath(inv.netns),
    CNI_IFNAME: inv.ifName,
    CNI_PATH: cniPath,
    ...(inv.cniArgs === undefined ? {} : { CNI_ARGS: inv.cniArgs }),
    ...inv.env,
  };
  const timeoutMs = inv.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    if (file === undefined) return reject(new Error('invokeCni: empty argv'));
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (exitCode !== 0) {
        const e = parseCniError(stdout);
        const msg = signal === null ? e.msg : `killed by ${signal} (timeout ${timeoutMs} ms)`;
        return resolve({ kind: 'error', ...e, msg, exitCode: exitCode ?? -1, stderr });
      }
      if (stdout.trim() === '') return resolve({ kind: 'ok', result: null, stdout });
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        return resolve({ kind: 'error', code: -1, msg: 'result is not JSON', details: stdout, exitCode: 0, stderr });
      }
      if (inv.command !== 'ADD' && inv.command !== 'CHECK') return resolve({ kind: 'ok', result: null, stdout });
      const parsed = parseCniResult(json);
      if (!parsed.ok) {
        return resolve({ kind: 'error', code: -1, msg: 'malformed result', details: parsed.errors.join('; '), exitCode: 0, stderr });
      }
      resolve({ kind: 'ok', result: parsed.value, stdout });
    });
    child.stdin.end(JSON.stringify(inv.config));
  });
}

/** invokeCni that throws on an error outcome and returns the (ADD) result. */
export async function cniOrThrow(inv: CniInvocation): Promise<CniResult | null> {
  const o = await invokeCni(inv);
  switch (o.kind) {
    case 'ok':
      return o.result;
    case 'error':
      throw new Error(`CNI ${inv.command} ${inv.plugin} failed: code ${o.code}: ${o.msg} ${o.details} ${o.stderr}`.trim());
  }
}
