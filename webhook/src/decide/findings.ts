/**
 * Refusals and warnings built from the reason catalogue, so every message the webhook produces
 * comes from common/src/reasons.ts.
 */
import { renderReason, type ReasonCode, type ReasonParams } from '../../../common/src/reasons.js';
import type { Refusal } from './types.js';

export interface Finding {
  code: ReasonCode;
  field: string;
  params: ReasonParams;
}

export function refusal(code: ReasonCode, field: string, params: ReasonParams): Refusal {
  return { code, field, message: `${field}: ${renderReason(code, params)}` };
}

export function toRefusal(f: Finding): Refusal {
  return refusal(f.code, f.field, f.params);
}

export function warning(code: ReasonCode, params: ReasonParams): string {
  return renderReason(code, params);
}

/** The single status.message: every refusal, each with its stable code. */
export function denialMessage(refusals: Refusal[]): string {
  if (refusals.length === 0) return 'denied by Weir without a reason (this is a bug; please report it)';
  const parts = refusals.map((r) => `${r.message} [${r.code}]`);
  if (parts.length === 1) return parts[0] ?? '';
  return `${parts.length} problems: ${parts.map((p, i) => `(${i + 1}) ${p}`).join('; ')}`;
}

/** Stable de-duplication: the same warning text once, first occurrence order. */
export function uniq(items: string[]): string[] {
  return [...new Set(items)];
}
