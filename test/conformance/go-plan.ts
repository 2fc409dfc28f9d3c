/**
 * Reads the conformance suite's Go tests (conformance/tests/*.go) into plans: each test's short
 * name, features, manifests, and its Test function body as logical statements (one per Go
 * statement, multi-line calls and literals joined, comments dropped), with the file line they
 * start on. interpret.ts executes them. Nothing is inferred from test names or descriptions.
 */

export interface Statement {
  text: string;
  line: number;
}

export interface TestPlan {
  file: string;
  shortName: string;
  features: string[];
  manifests: string[];
  body: Statement[];
}

/** Strips a `//` comment that is not inside a string literal. */
function stripComment(line: string): string {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"' && line[i - 1] !== '\\') inString = !inString;
    if (!inString && c === '/' && line[i + 1] === '/') return line.slice(0, i);
  }
  return line;
}

/** Net count of `open` minus `close` outside string literals. */
function balance(text: string, open: string, close: string): number {
  let n = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' && text[i - 1] !== '\\') inString = !inString;
    else if (!inString && c === open) n++;
    else if (!inString && c === close) n--;
  }
  return n;
}

/**
 * Groups lines into statements: a statement continues while its parentheses are open, or while
 * its braces are open and it is a composite literal (`x := T{`, `x.F = T{`), not a block opener
 * (`t.Run(..., func(t) {`, `if ... {`), whose body is statements of its own.
 */
function statements(lines: readonly string[], firstLine: number): Statement[] {
  const out: Statement[] = [];
  let cur: Statement | undefined;
  lines.forEach((raw, i) => {
    // Comments: `// ...` and one-line `/* ... */` (the tests use no multi-line block comments).
    const text = stripComment(raw).replace(/\/\*.*?\*\//g, '').trim();
    if (text === '') return;
    if (cur === undefined) cur = { text, line: firstLine + i };
    else cur.text += ` ${text}`;
    const parens = balance(cur.text, '(', ')');
    const braces = balance(cur.text, '{', '}');
    const blockOpener = /\bfunc\([^)]*\)\s*\{$/.test(cur.text) || /^(if|else|\} else)\b.*\{$/.test(cur.text);
    const literal = braces > 0 && /^[\w.]+(\s*,\s*\w+)?\s*:?=\s*[^=]*\{/.test(cur.text);
    if (!blockOpener && (parens > 0 || literal)) return;
    out.push(cur);
    cur = undefined;
  });
  if (cur !== undefined) out.push(cur);
  return out;
}

const stringList = (text: string): string[] => [...text.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '');

export function readPlans(file: string, source: string, featureNames: ReadonlyMap<string, string>): TestPlan[] {
  const lines = source.split('\n');
  const plans: TestPlan[] = [];
  lines.forEach((line, i) => {
    if (!/^var \w+ = suite\.ConformanceTest\{$/.test(line)) return;
    let j = i + 1;
    let shortName = '';
    let features: string[] = [];
    let manifests: string[] = [];
    for (; j < lines.length && !/^\tTest: func\(t \*testing\.T, s \*suite\.ConformanceTestSuite\) \{$/.test(lines[j] ?? ''); j++) {
      const l = lines[j] ?? '';
      const name = /^\tShortName:\s*"([^"]+)"/.exec(l);
      if (name) shortName = name[1] ?? '';
      if (/^\tManifests:/.test(l)) manifests = stringList(l);
      if (/^\tFeatures:/.test(l)) {
        const feats: string[] = [];
        for (j++; j < lines.length && !/^\t\},?$/.test(lines[j] ?? ''); j++) {
          const f = /suite\.(Support\w+)/.exec(lines[j] ?? '');
          if (f) feats.push(featureNames.get(f[1] ?? '') ?? `unknown ${f[1] ?? ''}`);
        }
        features = feats;
      }
    }
    const start = j + 1;
    let end = start;
    while (end < lines.length && !/^\t\},?$/.test(lines[end] ?? '')) end++;
    if (shortName === '' || end >= lines.length) throw new Error(`${file}:${i + 1}: could not read the ConformanceTest`);
    plans.push({ file, shortName, features, manifests, body: statements(lines.slice(start, end), start + 1) });
  });
  return plans;
}

/** Package-level string constants (`const name = "value"`), which statements may name. */
export function readConstants(sources: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of sources) for (const m of s.matchAll(/^const (\w+) = "([^"]*)"$/gm)) out.set(m[1] ?? '', m[2] ?? '');
  return out;
}
