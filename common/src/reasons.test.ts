import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REASONS, reasonCodes, reasonsMarkdown, renderReason, templateParams } from './reasons.js';

const DOC = fileURLToPath(new URL('../../docs/reasons.md', import.meta.url));

describe('reason catalogue', () => {
  it('docs/reasons.md is generated from the catalogue (WEIR_UPDATE_DOCS=1 rewrites it)', () => {
    const want = reasonsMarkdown();
    if (process.env.WEIR_UPDATE_DOCS === '1') writeFileSync(DOC, want);
    expect(readFileSync(DOC, 'utf8')).toBe(want);
  });
  it('every code appears in the doc, and every code in the doc is in the catalogue', () => {
    const doc = readFileSync(DOC, 'utf8');
    const inDoc = new Set([...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    expect([...inDoc].sort()).toEqual(reasonCodes().sort());
  });
  it('codes are SCREAMING_SNAKE; warnings start with W_, skips with SKIP_', () => {
    for (const code of reasonCodes()) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      const sev = REASONS[code].severity;
      expect(code.startsWith('W_')).toBe(sev === 'warning');
      expect(code.startsWith('SKIP_')).toBe(sev === 'skip');
    }
  });
  it('rendering fills every placeholder; warnings render under 120 characters with short values', () => {
    for (const code of reasonCodes()) {
      const params = Object.fromEntries(templateParams(code).map((p) => [p, 'x']));
      const out = renderReason(code, params);
      expect(out).not.toMatch(/\{[A-Za-z]+\}/);
      if (REASONS[code].severity === 'warning') expect(out.length).toBeLessThan(100);
    }
  });
});
