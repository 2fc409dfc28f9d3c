/**
 * Sizes that keep the code readable (issue 11): no function over 80 lines in shipped code
 * (agent, webhook, common, cli, lab, harness; tests excluded), and no file in agent/src over 400
 * lines. Measured with the TypeScript parser, so every kind of function counts: declarations,
 * methods, constructors, accessors, arrows and function expressions, from their first line to
 * their last (a nested function counts inside its parent too).
 *
 * The allow-lists name what is still over, with its size today: an entry may only shrink (the
 * test fails when the file or function grows past it) and must go once it fits (the test fails
 * when an entry is no longer needed), so the lists can only get shorter.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAX_FUNCTION_LINES = 80;
const MAX_AGENT_FILE_LINES = 400;

/** Functions still over MAX_FUNCTION_LINES: `file:name` → its length today (only ever lower it). None today. */
const LONG_FUNCTIONS: Record<string, number> = {};

/** agent/src files still over MAX_AGENT_FILE_LINES (the policy compiler's split, issue 11) → their length today. */
const LONG_AGENT_FILES: Record<string, number> = {};

function files(dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) {
      if (name !== 'node_modules' && name !== 'build' && name !== 'dist') out.push(...files(rel, keep));
    } else if (keep(name)) out.push(rel);
  }
  return out;
}

const shipped = (name: string): boolean => /\.m?ts$/.test(name) && !name.endsWith('.test.ts') && !name.endsWith('.d.ts');

/** The name a reader would search for: the declaration's own, or the variable/property it is assigned to. */
function nameOf(node: ts.SignatureDeclaration, sf: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) return `${node.parent.name?.text ?? '(class)'}.constructor`;
  if (node.name !== undefined) return node.name.getText(sf);
  const p = node.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) return p.name.getText(sf);
  return `(anonymous at line ${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1})`;
}

interface Measured { file: string; name: string; lines: number }

function longFunctions(file: string): Measured[] {
  const sf = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const out: Measured[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.end).line;
      const lines = last - first + 1;
      if (lines > MAX_FUNCTION_LINES) out.push({ file, name: nameOf(node, sf), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const lineCount = (file: string): number => readFileSync(join(ROOT, file), 'utf8').replace(/\n$/, '').split('\n').length;

/** What is over the limit and not allowed (or grew past its allowance), and allowances no longer needed. */
function judge(over: Map<string, number>, allowed: Record<string, number>): { over: string[]; stale: string[] } {
  return {
    over: [...over].filter(([k, n]) => n > (allowed[k] ?? 0)).map(([k, n]) => `${k}: ${n} lines${allowed[k] === undefined ? '' : ` (allowed ${allowed[k]})`}`),
    stale: Object.keys(allowed).filter((k) => !over.has(k)).map((k) => `${k} fits now: remove it from the allow-list`),
  };
}

describe('sizes', () => {
  it(`no function over ${MAX_FUNCTION_LINES} lines outside tests`, () => {
    const measured = ['agent', 'webhook', 'common', 'cli', 'lab', 'harness'].flatMap((d) => files(d, shipped)).flatMap(longFunctions);
    const over = new Map(measured.map((m) => [`${m.file}:${m.name}`, m.lines]));
    expect(judge(over, LONG_FUNCTIONS)).toEqual({ over: [], stale: [] });
  });

  it(`no file in agent/src over ${MAX_AGENT_FILE_LINES} lines`, () => {
    const all = files('agent/src', (name) => /\.m?ts$/.test(name));
    expect(all.length).toBeGreaterThan(50);
    const over = new Map(all.map((f) => [f, lineCount(f)] as const).filter(([, n]) => n > MAX_AGENT_FILE_LINES));
    expect(judge(over, LONG_AGENT_FILES)).toEqual({ over: [], stale: [] });
  });

  it('the function measure sees functions of every kind (it is not vacuous)', () => {
    const body = (n: number): string => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const source = [
      `function declared() {\n${body(85)}\n}`,
      `class C {\n  constructor() {\n${body(85)}\n  }\n  method() {\n${body(10)}\n  }\n}`,
      `const arrow = () => {\n${body(85)}\n};`,
    ].join('\n');
    const sf = ts.createSourceFile('probe.ts', source, ts.ScriptTarget.Latest, true);
    const found: string[] = [];
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
        const lines = sf.getLineAndCharacterOfPosition(node.end).line - sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
        if (lines > MAX_FUNCTION_LINES) found.push(nameOf(node, sf));
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
    expect(found).toEqual(['declared', 'C.constructor', 'arrow']);
  });
});
