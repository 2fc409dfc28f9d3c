/**
 * A tiny boundary reader: walks `unknown` input, records every bad field with its path and keeps
 * going, so a parser reports all problems of an object at once.
 */
import { isList } from '../../../common/src/records.js';

import type { FieldError, Parsed } from '../../../common/src/field-errors.js';

export type { FieldError, Parsed };

export class Reader {
  readonly errors: FieldError[] = [];

  fail(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  }

  record(v: unknown, path: string): Record<string, unknown> | undefined {
    if (v === undefined || v === null) return undefined;
    if (!this.isRecord(v)) {
      this.fail(path, 'must be an object');
      return undefined;
    }
    return v;
  }

  requiredRecord(v: unknown, path: string): Record<string, unknown> {
    if (v === undefined || v === null) {
      this.fail(path, 'is required');
      return {};
    }
    return this.record(v, path) ?? {};
  }

  array(v: unknown, path: string): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isList(v)) {
      this.fail(path, 'must be a list');
      return undefined;
    }
    return v;
  }

  string(v: unknown, path: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.fail(path, 'must be a string');
      return undefined;
    }
    return v;
  }

  requiredString(v: unknown, path: string): string {
    const s = this.string(v, path);
    if (s === undefined || s === '') {
      if (v === undefined || v === null || s === '') this.fail(path, 'is required');
      return '';
    }
    return s;
  }

  integer(v: unknown, path: string, min: number, max: number): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(path, `must be an integer in ${min}..${max}`);
      return undefined;
    }
    return v;
  }

  boolean(v: unknown, path: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.fail(path, 'must be a boolean');
      return undefined;
    }
    return v;
  }

  stringMap(v: unknown, path: string): Record<string, string> {
    const r = this.record(v, path);
    const out: Record<string, string> = {};
    if (r === undefined) return out;
    for (const [k, val] of Object.entries(r)) {
      if (typeof val !== 'string') this.fail(`${path}.${k}`, 'must be a string');
      else out[k] = val;
    }
    return out;
  }

  result<T>(value: T): Parsed<T> {
    return this.errors.length === 0 ? { ok: true, value } : { ok: false, errors: this.errors };
  }
}
