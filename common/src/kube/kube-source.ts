/**
 * The thin adapter between the Reflector and a real API server: client-node's Watch as a WatchFn,
 * a list response as a ListResult, and the small helpers callers share (object keys, line loggers).
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { isRecord } from './records.js';
import type { ListResult, ReflectorLogger, WatchFn } from './reflector.js';

/** client-node's Watch bound to a kubeconfig. */
export function kubeWatch(kc: KubeConfig): WatchFn {
  const watcher = new Watch(kc);
  return (path, query, onEvent, onDone) => watcher.watch(path, query, onEvent, onDone);
}

/** Items and resourceVersion of a list response body (typed or custom-object list). */
export function toListResult(body: unknown): ListResult {
  const o = isRecord(body) ? body : {};
  const items: unknown[] = Array.isArray(o['items']) ? (o['items'] as unknown[]) : [];
  const meta = isRecord(o['metadata']) ? o['metadata'] : {};
  const rv = meta['resourceVersion'];
  return { items, resourceVersion: typeof rv === 'string' ? rv : '' };
}

/** "namespace/name" (or "name" when cluster-scoped) of an API object; undefined without a name. */
export function objectKey(obj: unknown): string | undefined {
  if (!isRecord(obj) || !isRecord(obj['metadata'])) return undefined;
  const { name, namespace } = obj['metadata'];
  if (typeof name !== 'string' || name === '') return undefined;
  return typeof namespace === 'string' && namespace !== '' ? `${namespace}/${name}` : name;
}

/** A parse that keeps the object as sent; for callers that read the raw object themselves. */
export function rawObject(obj: unknown): { key: string; value: unknown } | undefined {
  const key = objectKey(obj);
  return key === undefined ? undefined : { key, value: obj };
}

/** A ReflectorLogger writing one line per message, for callers that log lines (the lab). */
export function lineLogger(log: (line: string) => void): ReflectorLogger {
  const line = (obj: object, msg: string): void => log(`${msg} ${JSON.stringify(obj)}`);
  return { info: line, warn: line };
}
