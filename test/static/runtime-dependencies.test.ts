import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, it } from 'vitest';

/**
 * The images install production dependencies only (`npm ci --omit=dev` in images/build.sh,
 * `npm prune --omit=dev` in the Dockerfiles) and run compiled JS from dist/. So every package the
 * agent, the webhook and the CLI import at run time must be in package.json `dependencies`, and
 * tooling (tsx, yaml: tests, the lab, benchmarks) must not be (issue 16). This walks the static
 * imports from the three entry points as Node will load them.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY_POINTS = ['agent/src/main.ts', 'webhook/src/main.ts', 'cli/src/main.ts'];
/** Dynamic imports the shipped code may make of checkout-only code, with why that is safe. */
const CHECKOUT_ONLY: Record<string, string> = {
  'lab/cli.ts': 'weir lab / the lab kubeconfig: imported with .catch(), and the CLI says the lab needs a checkout',
};

interface Walk {
  files: Set<string>;
  packages: Map<string, string>; // package -> first file importing it
  dynamic: Set<string>;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** Import or export declarations that survive compilation (type-only ones are erased). */
function runtimeSpecifier(node: ts.Node): string | undefined {
  if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
    const clause = node.importClause;
    if (clause !== undefined) {
      if (clause.phaseModifier === ts.SyntaxKind.TypeKeyword) return undefined;
      const named = clause.namedBindings;
      const onlyTypes = clause.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      if (onlyTypes) return undefined;
    }
    return node.moduleSpecifier.text;
  }
  if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
    return node.moduleSpecifier.text;
  }
  return undefined;
}

function walk(entries: readonly string[]): Walk {
  const result: Walk = { files: new Set(), packages: new Map(), dynamic: new Set() };
  const queue = entries.map((e) => join(ROOT, e));
  const local = (from: string, specifier: string): string => resolve(dirname(from), specifier).replace(/\.js$/, '.ts');
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (result.files.has(file)) continue;
    result.files.add(file);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      const specifier = runtimeSpecifier(node);
      if (specifier !== undefined) {
        if (specifier.startsWith('.')) queue.push(local(file, specifier));
        else if (!result.packages.has(packageName(specifier))) result.packages.set(packageName(specifier), relative(ROOT, file));
      }
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const [arg] = node.arguments;
        if (arg !== undefined && ts.isStringLiteral(arg)) result.dynamic.add(relative(ROOT, local(file, arg.text)));
        else result.dynamic.add(`${relative(ROOT, file)}: import() of a computed specifier`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return result;
}

const pkg: unknown = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const section = (name: string): Record<string, unknown> => {
  const value = typeof pkg === 'object' && pkg !== null ? (pkg as Record<string, unknown>)[name] : undefined;
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
};
const builtins = new Set(builtinModules);
const shipped = walk(ENTRY_POINTS);

it('every package the agent, webhook and CLI import at run time is a production dependency', () => {
  const missing = [...shipped.packages]
    .filter(([name]) => !name.startsWith('node:') && !builtins.has(name) && !(name in section('dependencies')))
    .map(([name, file]) => `${name} (imported by ${file})`);
  expect(missing).toEqual([]);
});

it('the walk follows the real imports (it reaches the runtime packages and the three entry points)', () => {
  for (const name of ['@kubernetes/client-node', 'express', 'pino', 'prom-client', 'node-forge']) expect(shipped.packages.has(name), name).toBe(true);
  expect(shipped.files.has(join(ROOT, 'webhook/src/server/catch-up.ts'))).toBe(true);
  expect(shipped.files.has(join(ROOT, 'native/index.ts'))).toBe(true);
});

it('tooling stays out of the images: tsx and yaml are dev dependencies, and no shipped code imports them', () => {
  expect(Object.keys(section('dependencies'))).not.toContain('tsx');
  expect(Object.keys(section('dependencies'))).not.toContain('yaml');
  expect(Object.keys(section('devDependencies'))).toEqual(expect.arrayContaining(['tsx', 'yaml']));
  expect(shipped.packages.has('tsx')).toBe(false);
  expect(shipped.packages.has('yaml')).toBe(false);
});

it('shipped code dynamically imports only checkout-only code it guards', () => {
  expect([...shipped.dynamic].filter((f) => !(f in CHECKOUT_ONLY))).toEqual([]);
});

it('the images and the chart run compiled JS from dist/, never through tsx', () => {
  const entrypoints = [
    ['images/agent.Dockerfile', 'ENTRYPOINT ["node", "dist/agent/src/main.js"]'],
    ['images/webhook.Dockerfile', 'ENTRYPOINT ["node", "dist/webhook/src/main.js"]'],
    ['images/build.sh', `'["/usr/bin/node", "dist/agent/src/main.js"]'`],
    ['images/build.sh', `'["/usr/bin/node", "dist/webhook/src/main.js"]'`],
    ['charts/weir/templates/tests/check.yaml', '- dist/cli/src/main.js'],
  ];
  for (const [file, line] of entrypoints) {
    const text = readFileSync(join(ROOT, file ?? ''), 'utf8');
    expect(text, file).toContain(line);
    expect(text, file).not.toMatch(/\btsx\b/);
  }
});
