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
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

function isSnapshot(v: unknown): v is Snapshot {
  return typeof v === 'object' && v !== null && 'snapshot' in v && 'nodes' in v && 'edges' in v && 'strings' in v;
}

export function heapTop(file: string, limit = 12): { total: number; top: HeapConsumer[] } {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isSnapshot(parsed)) throw new Error(`${file}: not a V8 heap snapshot (no snapshot/nodes/strings)`);
  const fields = parsed.snapshot.meta.node_fields;
  const types = parsed.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ['type', 'name', 'self_size', 'edge_count'].map((f) => fields.indexOf(f));
  if (typeAt === undefined || nameAt === undefined || sizeAt === undefined || edgeCountAt === undefined || Math.min(typeAt, nameAt, sizeAt, edgeCountAt) < 0) {
    throw new Error(`${file}: node_fields lack type/name/self_size/edge_count`);
  }
  const edgeFields = parsed.snapshot.meta.edge_fields;
  const edgeWidth = edgeFields.length;
  const edgeTypeAt = edgeFields.indexOf('type');
  const edgeNameAt = edgeFields.indexOf('name_or_index');
  const propertyType = parsed.snapshot.meta.edge_types[0].indexOf('property');
  const sums = new Map<string, HeapConsumer>();
  let total = 0;
  let edge = 0;
  const { nodes, edges, strings } = parsed;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt] ?? -1] ?? '?';
    const size = nodes[i + sizeAt] ?? 0;
    const edgeCount = nodes[i + edgeCountAt] ?? 0;
    total += size;
    let name = strings[nodes[i + nameAt] ?? -1] ?? '?';
    if (type === 'object' && name === 'Object') {
      // Plain objects (records, literals) by their first property names: {pod,principal,…}.
      const props: string[] = [];
      for (let e = edge; e < edge + edgeCount * edgeWidth && props.length < 4; e += edgeWidth) {
        const prop = strings[edges[e + edgeNameAt] ?? -1] ?? '?';
        if (edges[e + edgeTypeAt] === propertyType && prop !== '__proto__') props.push(prop);
      }
      name = `{${props.join(',')}${props.length === 4 ? ',…' : ''}}`;
    }
    edge += edgeCount * edgeWidth;
    // Objects and closures by constructor / function name; strings and numbers pooled by kind.
    const label = type === 'object' || type === 'closure' || type === 'native' ? `${type} ${name}` : type;
    const what = label.length > 70 ? `${label.slice(0, 67)}…` : label;
    const cur = sums.get(what) ?? { what, count: 0, bytes: 0 };
    cur.count++;
    cur.bytes += size;
    sums.set(what, cur);
  }
  return { total, top: [...sums.values()].sort((a, b) => b.bytes - a.bytes).slice(0, limit) };
}
