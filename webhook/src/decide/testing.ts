/**
 * Test support for the decision tests: an in-memory ClusterView and a tiny RFC 6902 applier for the
 * ops the decisions emit (add/replace/remove on object members), so tests can apply a patch and
 * mutate again to prove reinvocation idempotence.
 */
import type { ClusterView, CoordinatorInfo, JsonPatchOp, NadInfo, NamespaceInfo } from './types.js';
import { isRecord } from '../../../common/src/records.js';

export interface FakeCluster {
  namespaces?: NamespaceInfo[];
  nads?: Array<{ namespace: string; name: string; config: string | object; annotations?: Record<string, string> }>;
  coordinators?: CoordinatorInfo[];
}

export function fakeView(c: FakeCluster): ClusterView {
  const nads = new Map<string, NadInfo>();
  for (const n of c.nads ?? []) {
    nads.set(`${n.namespace}/${n.name}`, {
      namespace: n.namespace,
      name: n.name,
      annotations: n.annotations ?? {},
      config: typeof n.config === 'string' ? n.config : JSON.stringify(n.config),
    });
  }
  return {
    namespace: (name) => c.namespaces?.find((n) => n.name === name),
    nad: (namespace, name) => nads.get(`${namespace}/${name}`),
    coordinator: (name) => c.coordinators?.find((x) => x.name === name),
  };
}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}


/** Applies a JSON Patch to a deep copy; throws on a path that does not exist (a test failure). */
export function applyPatch<T>(doc: T, patch: readonly JsonPatchOp[]): T {
  const root: unknown = structuredClone(doc);
  for (const op of patch) {
    const tokens = op.path.split('/').slice(1).map(unescape);
    const last = tokens.pop();
    if (last === undefined) throw new Error(`cannot patch the root: ${op.path}`);
    let cur: unknown = root;
    for (const t of tokens) {
      // Intermediate tokens may index arrays (e.g. /spec/containers/0/securityContext).
      if (Array.isArray(cur) && /^(0|[1-9][0-9]*)$/.test(t) && Number(t) < cur.length) {
        cur = (cur as unknown[])[Number(t)];
        continue;
      }
      if (!isRecord(cur)) throw new Error(`path ${op.path}: ${t} is not inside an object`);
      cur = cur[t];
    }
    if (!isRecord(cur)) throw new Error(`path ${op.path}: parent is not an object`);
    switch (op.op) {
      case 'add':
        cur[last] = structuredClone(op.value);
        break;
      case 'replace':
        if (!(last in cur)) throw new Error(`replace of missing member ${op.path}`);
        cur[last] = structuredClone(op.value);
        break;
      case 'remove':
        if (!(last in cur)) throw new Error(`remove of missing member ${op.path}`);
        delete cur[last];
        break;
    }
  }
  return root as T;
}
