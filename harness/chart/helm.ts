import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { isRecord } from '../../common/src/records.js';

const run = promisify(execFile);

export const chartDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../charts/weir');

/** helm built by scripts/build-go-tools.sh; null when it has not been built yet. */
export function helmBinary(): string | null {
  const cache = process.env.WEIR_CACHE ?? path.join(homedir(), '.cache', 'weir');
  const bin = path.join(cache, 'bin', 'helm');
  return existsSync(bin) ? bin : null;
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm with an argument array (never a shell string); a non-zero exit is a result, not a throw. */
export async function helm(args: readonly string[]): Promise<HelmResult> {
  const bin = helmBinary();
  if (bin === null) throw new Error('helm is not built: run scripts/build-go-tools.sh');
  try {
    const { stdout, stderr } = await run(bin, [...args], { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err: unknown) {
    if (typeof err === 'object' && err !== null && 'stdout' in err && 'stderr' in err && 'code' in err) {
      if (typeof err.code === 'number') {
        return { code: err.code, stdout: String(err.stdout), stderr: String(err.stderr) };
      }
    }
    throw err;
  }
}

/** A rendered Kubernetes object, narrowed only as far as the tests need. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [k: string]: unknown };
  readonly [k: string]: unknown;
}


function toManifest(doc: unknown, index: number): Manifest {
  if (!isRecord(doc)) throw new Error(`document ${index}: not a mapping`);
  const { apiVersion, kind, metadata } = doc;
  if (typeof apiVersion !== 'string') throw new Error(`document ${index}: apiVersion missing`);
  if (typeof kind !== 'string') throw new Error(`document ${index}: kind missing`);
  if (!isRecord(metadata) || typeof metadata.name !== 'string') {
    throw new Error(`document ${index} (${kind}): metadata.name missing`);
  }
  return doc as Manifest;
}

export interface RenderOptions {
  readonly release?: string;
  readonly namespace?: string;
  /** `--set key=value` pairs. */
  readonly set?: Readonly<Record<string, string>>;
  /** `--set-string key=value` pairs. */
  readonly setString?: Readonly<Record<string, string>>;
  /** Include the `helm test` hooks (templates/tests/); left out by default, as `helm install` leaves them. */
  readonly tests?: boolean;
}

function valueArgs(opts: RenderOptions): string[] {
  const args: string[] = [];
  for (const [k, v] of Object.entries(opts.set ?? {})) args.push('--set', `${k}=${v}`);
  for (const [k, v] of Object.entries(opts.setString ?? {})) args.push('--set-string', `${k}=${v}`);
  return args;
}

export function templateArgs(opts: RenderOptions = {}): string[] {
  return ['template', opts.release ?? 'weir', chartDir, '--namespace', opts.namespace ?? 'weir-system', ...(opts.tests === true ? [] : ['--skip-tests']), ...valueArgs(opts)];
}

/** `helm template` and parse every document; throws with helm's stderr when rendering fails. */
export async function render(opts: RenderOptions = {}): Promise<Manifest[]> {
  const res = await helm(templateArgs(opts));
  if (res.code !== 0) throw new Error(`helm template failed: ${res.stderr}`);
  const out: Manifest[] = [];
  parseAllDocuments(res.stdout).forEach((d, i) => {
    if (d.errors.length > 0) throw new Error(`document ${i}: ${d.errors.map((e) => e.message).join('; ')}`);
    const js: unknown = d.toJS();
    if (js !== null && js !== undefined) out.push(toManifest(js, i));
  });
  return out;
}

/** The one object of that kind (and name, if given); throws naming what was missing. */
export function find(ms: readonly Manifest[], kind: string, name?: string): Manifest {
  const hits = ms.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  const [first] = hits;
  if (first === undefined || hits.length !== 1) {
    throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${hits.length}`);
  }
  return first;
}

/** Walks a dotted path through nested objects/arrays ("spec.template.spec.containers.0.env"). */
export function at(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else if (isRecord(cur)) cur = cur[part];
    else return undefined;
  }
  return cur;
}

export function asArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${what}: not an array`);
  return v;
}
