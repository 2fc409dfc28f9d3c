/**
 * `-o json|yaml` for the CLI. YAML is emitted here for plain JSON data (what the agent and the
 * explainer return): strings are double-quoted JSON strings, which YAML reads as the same string, so
 * no value can turn into another type or break the document.
 */
import type { OutputFormat } from './args.js';

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_./-]*$/;

function scalar(value: unknown): string | undefined {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean' || typeof value === 'number') return Number.isFinite(value) || typeof value === 'boolean' ? String(value) : 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value) && value.length === 0) return '[]';
  if (typeof value === 'object' && Object.keys(value).length === 0) return '{}';
  return undefined;
}

function lines(value: unknown, indent: string): string[] {
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      const s = scalar(item);
      if (s !== undefined) return [`${indent}- ${s}`];
      const inner = lines(item, `${indent}  `);
      return [`${indent}- ${(inner[0] ?? '').slice(indent.length + 2)}`, ...inner.slice(1)];
    });
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => {
      const key = PLAIN_KEY.test(k) ? k : JSON.stringify(k);
      const s = scalar(v);
      return s !== undefined ? [`${indent}${key}: ${s}`] : [`${indent}${key}:`, ...lines(v, `${indent}  `)];
    });
  }
  return [`${indent}${scalar(value) ?? 'null'}`];
}

export function toYaml(value: unknown): string {
  const top = scalar(value);
  return `${top ?? lines(value, '').join('\n')}\n`;
}

/** json or yaml text of a value; undefined for the human formats (text, wide). */
export function structured(format: OutputFormat, value: unknown): string | undefined {
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  if (format === 'yaml') return toYaml(value);
  return undefined;
}

/** Rows as aligned columns, two spaces apart, no trailing blanks (kubectl's table look). */
export function alignColumns(rows: readonly string[][]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}
