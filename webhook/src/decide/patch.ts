/** RFC 6901/6902 helpers for the small patches the decisions build. */
import type { JsonPatchOp } from './types.js';

/** One JSON Pointer reference token: `~` → `~0`, `/` → `~1`. */
export function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Ops that set `annotations` (a key → value map) on an object whose annotations are `current`
 * (undefined when the object has no annotations map). Keys already at the wanted value produce
 * no op, so the patch is empty on reinvocation.
 */
export function annotationOps(current: Record<string, string> | undefined, wanted: ReadonlyArray<[string, string]>): JsonPatchOp[] {
  const changes = wanted.filter(([k, v]) => current?.[k] !== v);
  if (changes.length === 0) return [];
  if (current === undefined) {
    return [{ op: 'add', path: '/metadata/annotations', value: Object.fromEntries(changes) }];
  }
  return changes.map(([k, v]) => ({
    op: Object.prototype.hasOwnProperty.call(current, k) ? ('replace' as const) : ('add' as const),
    path: `/metadata/annotations/${escapePointer(k)}`,
    value: v,
  }));
}
