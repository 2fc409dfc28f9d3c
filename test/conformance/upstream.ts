/**
 * The network-policy-api conformance suite's own files, read from the Go module (the module proxy
 * serves it; `go mod download` puts it in the module cache). Nothing here restates what the suite
 * expects: the manifests are its YAML, the expectations its Go tests (go-plan.ts reads them).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { isRecord } from '../../common/src/records.js';

const run = promisify(execFile);

export const NETWORK_POLICY_API = 'sigs.k8s.io/network-policy-api';
export const NETWORK_POLICY_API_VERSION = 'v0.3.0';
/** What the suite uses when no --host-network-port-range is given (conformance/utils/suite/suite.go). */
export const HOST_NETWORK_PORTS = [34345, 34346, 34347, 34348, 34349, 34350, 34351, 34352] as const;

/** The module directory, downloading the module if the cache does not hold it yet. */
export async function moduleDir(version = NETWORK_POLICY_API_VERSION): Promise<string> {
  const { stdout } = await run('go', ['mod', 'download', '-json', `${NETWORK_POLICY_API}@${version}`], {
    cwd: '/tmp',
    env: { ...process.env, GOFLAGS: '-mod=mod' },
    maxBuffer: 1 << 20,
  });
  const info: unknown = JSON.parse(stdout);
  if (!isRecord(info) || typeof info.Dir !== 'string') throw new Error(`go mod download gave no Dir: ${stdout}`);
  return info.Dir;
}

/**
 * A manifest with the suite's template applied: the only template the suite uses is
 * `{{ index .HostNetworkPorts N }}` (conformance/utils/kubernetes/apply.go); anything else is an error.
 */
export function applyTemplate(text: string, file: string): string {
  return text.replace(/\{\{(.*?)\}\}/g, (whole, expr: string) => {
    const m = /^\s*index \.HostNetworkPorts (\d+)\s*$/.exec(expr);
    const port = m === null ? undefined : HOST_NETWORK_PORTS[Number(m[1])];
    if (port === undefined) throw new Error(`${file}: template ${whole} is not understood by this harness`);
    return String(port);
  });
}

/** Every object of a suite manifest (relative to conformance/), templated. */
export async function readManifest(dir: string, rel: string): Promise<Record<string, unknown>[]> {
  const text = applyTemplate(await readFile(join(dir, 'conformance', rel), 'utf8'), rel);
  const out: Record<string, unknown>[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${rel}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const js: unknown = doc.toJS();
    if (js === null || js === undefined) continue;
    if (!isRecord(js)) throw new Error(`${rel}: a document is not an object`);
    out.push(js);
  }
  return out;
}

/** The Go test files, name → text. */
export async function readGoTests(dir: string): Promise<Map<string, string>> {
  const testsDir = join(dir, 'conformance', 'tests');
  const files = (await readdir(testsDir)).filter((f) => f.endsWith('.go') && f !== 'main.go').sort();
  const out = new Map<string, string>();
  for (const f of files) out.set(f, await readFile(join(testsDir, f), 'utf8'));
  return out;
}

/** The features each SupportedFeature constant names (conformance/utils/suite/features.go). */
export async function readFeatures(dir: string): Promise<{ names: Map<string, string>; standard: string[]; experimental: string[] }> {
  const text = await readFile(join(dir, 'conformance', 'utils', 'suite', 'features.go'), 'utf8');
  const names = new Map<string, string>();
  for (const m of text.matchAll(/(Support\w+)\s+SupportedFeature\s*=\s*"([^"]+)"/g)) names.set(m[1] ?? '', m[2] ?? '');
  const setOf = (v: string): string[] => {
    const m = new RegExp(`var ${v} = sets\\.New\\(([^)]*)\\)`).exec(text);
    if (m === null) throw new Error(`features.go: ${v} not found`);
    return [...(m[1] ?? '').matchAll(/Support\w+/g)].map((x) => names.get(x[0]) ?? x[0]);
  };
  const standard = setOf('StandardFeatures');
  return { names, standard, experimental: [...setOf('ExperimentalFeatures'), ...standard] };
}
