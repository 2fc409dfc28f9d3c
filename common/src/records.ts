/** The one type guard for "a JSON object" used when reading untrusted API and CNI data. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `Array.isArray` for untrusted data: it narrows to `unknown[]`, not `any[]`, so each element is still checked. */
export function isList(value: unknown): value is unknown[] {
  return Array.isArray(value);
}

/** namespace, name and uid of an untrusted API object ('' for each one it lacks). */
export function metaOf(object: unknown): { namespace: string; name: string; uid: string } {
  const meta = isRecord(object) && isRecord(object['metadata']) ? object['metadata'] : {};
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  return { namespace: str(meta['namespace']), name: str(meta['name']), uid: str(meta['uid']) };
}

/** The string-valued annotations of an untrusted API object. */
export function annotationsOf(object: unknown): Record<string, string> {
  const meta = isRecord(object) && isRecord(object['metadata']) ? object['metadata'] : {};
  const annotations = isRecord(meta['annotations']) ? meta['annotations'] : {};
  return Object.fromEntries(Object.entries(annotations).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
