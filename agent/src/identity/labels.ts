/**
 * The security-relevant label set of a pod: its own labels, its namespace's labels under a prefix
 * that no Kubernetes label key can contain (":" is not allowed in keys, so no collision is
 * possible), and the namespace name. Two pods with the same set are indistinguishable to any
 * selector, so they can share one identity.
 */

export const NAMESPACE_LABEL_PREFIX = 'ns:';
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export function securityLabels(
  namespace: string,
  namespaceLabels: Readonly<Record<string, string>>,
  podLabels: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = { ...podLabels };
  for (const [k, v] of Object.entries(namespaceLabels)) out[`${NAMESPACE_LABEL_PREFIX}${k}`] = v;
  out[`${NAMESPACE_LABEL_PREFIX}${NAMESPACE_NAME_LABEL}`] = namespace;
  return out;
}

/** Canonical text of a label set (sorted keys): the allocator key of its identity. */
export function labelSetKey(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k] ?? ''}`)
    .join(';');
}
