/**
 * The one shape every parser of untrusted input reports in (the webhook's review decoding, the
 * agent's object and CNI readers, the CLI): each bad field with its path and what is wrong, all
 * at once, and one way to put them on a line for a log, an Event or a refusal.
 */
export interface FieldError {
  /** "spec.ingress[0].ports[1].port"; "" when the whole input is wrong. */
  path: string;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** "spec.podSelector: must be an object; metadata.name: is required" */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => (e.path === '' ? e.message : `${e.path}: ${e.message}`)).join('; ');
}
