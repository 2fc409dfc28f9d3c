/**
 * Where a heap goes: reads a V8 heap snapshot (node:v8 writeHeapSnapshot) and sums the nodes' own
 * (shallow) sizes by kind and constructor, largest first. Shallow, not retained, sizes: a Map's
 * entries are counted in its backing arrays, not in the objects that hold the Map. For
 * bench/compile.ts.
 */
import { readFileSync } from 'node:fs';

export interface HeapConsumer {
  /** "object Foo", "string", "array (object elements)", … */
  what: string;
  count: number;
  bytes: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

function isSnapshot(v: unknown): v is Snapshot {
  return typeof v === 'object' && v !== null && 'snapshot' in v && 'nodes' in v && 'strings' in v;
}

export function heapTop(file: string, limit = 12): { total: number; top: HeapConsumer[] } {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isSnapshot(parsed)) throw new Error(`${file}: not a V8 heap snapshot (no snapshot/nodes/strings)`);
  const fields = parsed.snapshot.meta.node_fields;
  const types = parsed.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  if (typeAt === undefined || nameAt === undefined || sizeAt === undefined || typeAt < 0 || nameAt < 0 || sizeAt < 0) throw new Error(`${file}: node_fields lack type/name/self_size`);
  const sums = new Map<string, HeapConsumer>();
  let total = 0;
  const { nodes, strings } = parsed;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt] ?? -1] ?? '?';
    const size = nodes[i + sizeAt] ?? 0;
    total += size;
    // Objects and closures by constructor / function name; strings and numbers pooled by kind.
    const name = type === 'object' || type === 'closure' || type === 'array' || type === 'native' ? `${type} ${strings[nodes[i + nameAt] ?? -1] ?? '?'}` : type;
    const what = name.length > 60 ? `${name.slice(0, 57)}…` : name;
    const cur = sums.get(what) ?? { what, count: 0, bytes: 0 };
    cur.count++;
    cur.bytes += size;
    sums.set(what, cur);
  }
  return { total, top: [...sums.values()].sort((a, b) => b.bytes - a.bytes).slice(0, limit) };
}
