/**
 * Which folders may import which (issue 11): the lab, the CLI, the benchmarks and the harness
 * (harness/: control plane, netns, CNI and chart helpers shared by the lab, benchmarks and suites)
 * import nothing under test/, which holds suites only; the shipped code (agent, webhook, cli,
 * common, native) imports nothing under harness/ or lab/ except the CLI's dynamic `weir lab`
 * entry (test/static/runtime-dependencies.test.ts covers that one). Read from the sources' import
 * specifiers, so a new file is covered the day it is added.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SPECIFIER = /(?:^|\s)(?:import|export)\b[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) {
      if (name !== 'node_modules' && name !== 'build') out.push(...sources(rel));
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

/** Every relative import of `file`, as a path from the repository root. */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(SPECIFIER)].map((m) => relative(ROOT, resolve(ROOT, dirname(file), m[1] ?? m[2] ?? '')));
}

const violations = (dirs: string[], forbidden: (target: string) => boolean, allowed: (file: string, target: string) => boolean = () => false): string[] =>
  dirs.flatMap((d) => sources(d).flatMap((f) => imports(f).filter((t) => forbidden(t) && !allowed(f, t)).map((t) => `${f} → ${t}`)));

describe('import direction', () => {
  it('lab/, cli/, bench/ and harness/ import nothing under test/', () => {
    expect(violations(['lab', 'cli', 'bench', 'harness'], (t) => t.startsWith('test/'))).toEqual([]);
  });
  it('shipped code imports no harness and no lab (but the CLI\'s `weir lab` entry)', () => {
    expect(violations(['agent/src', 'webhook/src', 'cli/src', 'common/src'], (t) => t.startsWith('harness/') || t.startsWith('lab/') || t.startsWith('test/'),
      (f, t) => t === 'lab/cli.js' && (f === 'cli/src/main.ts' || f === 'cli/src/kube.ts'))).toEqual([]);
  });
  it('agent/src has no loop between its folders (a root file counts as its own node: agent.ts, api.ts, …)', () => {
    const node = (path: string): string => {
      const rest = relative('agent/src', path).split('/');
      return rest.length === 1 ? (rest[0] ?? '').replace(/\.[jt]s$/, '') : (rest[0] ?? '');
    };
    const edges = new Map<string, Set<string>>();
    // Test kits are test helpers that live beside what they exercise; they are not shipped code.
    for (const f of sources('agent/src').filter((x) => !x.endsWith('testkit.ts'))) {
      for (const t of imports(f).filter((x) => x.startsWith('agent/src/'))) {
        const [a, b] = [node(f), node(t)];
        if (a === b) continue;
        let out = edges.get(a);
        if (out === undefined) edges.set(a, (out = new Set()));
        out.add(b);
      }
    }
    expect(edges.size).toBeGreaterThan(5);
    const cycles: string[] = [];
    const walk = (n: string, path: string[]): void => {
      for (const next of edges.get(n) ?? []) {
        if (next === path[0]) cycles.push([...path, next].join(' → '));
        else if (!path.includes(next) && next > (path[0] ?? '')) walk(next, [...path, next]);
      }
    };
    for (const start of edges.keys()) walk(start, [start]);
    expect(cycles).toEqual([]);
  });
  it('the check sees imports (it is not vacuous)', () => {
    expect(imports('lab/supervisor.ts').some((t) => t.startsWith('harness/'))).toBe(true);
  });
});
