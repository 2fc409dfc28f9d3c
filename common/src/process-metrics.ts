/**
 * What every Weir process exports besides its own counts: `weir_build_info` (which build runs) and
 * prom-client's default process metrics (CPU, memory, file descriptors, GC, and the event-loop lag
 * `nodejs_eventloop_lag_*` that shows a blocked process before its probes fail). Registered in the
 * process's own Registry, never the global one.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import { isRecord } from './records.js';

/** The version of this checkout or image: package.json's, found from common/src (repo) or dist/common/src (image). */
export function weirVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const value: unknown = JSON.parse(readFileSync(fileURLToPath(new URL(up, import.meta.url)), 'utf8'));
      if (isRecord(value) && value.name === 'weir' && typeof value.version === 'string') return value.version;
    } catch {
      // not at this level; try the next
    }
  }
  return 'unknown';
}

export function registerProcessMetrics(registry: Registry, component: 'agent' | 'webhook'): void {
  const info = new Gauge({
    name: 'weir_build_info',
    help: 'Always 1; the labels say which Weir component, version and Node.js runtime this process is',
    labelNames: ['component', 'version', 'nodejs_version'],
    registers: [registry],
  });
  info.set({ component, version: weirVersion(), nodejs_version: process.versions.node }, 1);
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
}
