/** The one type guard for "a JSON object" used when reading untrusted API and CNI data. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
