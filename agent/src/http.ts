/**
 * The agent's two plain-HTTP listeners.
 *
 * API, always on 127.0.0.1:WEIR_API_PORT (9962); reached from outside the node only the kubectl way
 * (pods/portforward to the agent pod, with the caller's kubeconfig and RBAC), never on the network:
 *   /healthz    200 while the process serves
 *   /readyz     200 once caches synced and the first reconcile ran, else 503 with the reason
 *   /metrics    Prometheus text (the same registry as below, for local use)
 *   /v1/status  JSON AgentStatus (`weir status`; agent/src/api.ts)
 *   /v1/flows   live flows, one JSON FlowRecord per line (`weir observe`);
 *               query: pod=ns/name, verdict=allowed|dropped|audit
 *   /v1/audit   the distinct audited flows kept (`weir audit report --since`), JSON AuditFlowEntry[];
 *               query: since=<seconds> (default 3600)
 *
 * Metrics, on WEIR_METRICS_HOST:WEIR_METRICS_PORT (the chart passes the node's IP through the
 * downward API; port 9963): /metrics only. Read-only counts, as node exporters serve them: no flows,
 * no pod-level status beyond the metric labels, nothing that changes state. Port 0 turns it off.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { AgentStatus, AuditFlowEntry } from './api.js';
import type { FlowHub } from './flows/hub.js';
import { parseFlowFilter } from './flows/hub.js';

/** What the API serves; the Agent is one (agent/src/agent.ts). */
export interface AgentApiSource {
  readonly isReady: boolean;
  status(): AgentStatus;
  readonly flows: Pick<FlowHub, 'subscribe'>;
  readonly auditHistory: { since(sinceMs: number, nowMs: number): AuditFlowEntry[] };
  readonly metrics: { readonly registry: Registry };
}

export interface AgentHttpOptions {
  apiPort: number;
  metricsHost: string;
  /** 0: no metrics listener. */
  metricsPort: number;
}

export interface AgentHttpServer {
  readonly apiPort: number;
  /** undefined when the metrics listener is off. */
  readonly metricsPort: number | undefined;
  close(): Promise<void>;
}

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function sendMetrics(registry: Registry, res: http.ServerResponse): void {
  registry.metrics().then(
    (text) => send(res, 200, registry.contentType, text),
    (e: unknown) => send(res, 500, 'text/plain', `metrics failed: ${errorMessage(e)}\n`),
  );
}

/** /v1/audit's window in seconds (default one hour), or what is wrong with the query. */
function parseSince(params: URLSearchParams): number | string {
  for (const key of params.keys()) if (key !== 'since') return `unknown query parameter ${JSON.stringify(key)} (use since=<seconds>)`;
  const text = params.get('since') ?? '3600';
  return /^[1-9]\d{0,6}$/.test(text) ? Number(text) : `since=${JSON.stringify(text)} must be a whole number of seconds, 1 to 9999999`;
}

export function agentRequestHandler(agent: AgentApiSource): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'only GET\n');
    switch (url.pathname) {
      case '/healthz':
        return send(res, 200, 'text/plain', 'ok\n');
      case '/readyz': {
        if (agent.isReady) return send(res, 200, 'text/plain', 'ok\n');
        const unsynced = agent.status().unsynced;
        return send(res, 503, 'text/plain', `not ready${unsynced.length ? `: caches not synced (${unsynced.join(', ')})` : ''}\n`);
      }
      case '/metrics':
        return sendMetrics(agent.metrics.registry, res);
      case '/v1/status':
        return send(res, 200, 'application/json', `${JSON.stringify(agent.status(), null, 1)}\n`);
      case '/v1/flows': {
        const parsed = parseFlowFilter(url.searchParams);
        if (!parsed.ok) return send(res, 400, 'text/plain', `${parsed.error}\n`);
        res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
        res.flushHeaders();
        const unsubscribe = agent.flows.subscribe(parsed.filter, (record) => {
          // Drop rather than buffer without bound when the reader is slow.
          if (!res.writableNeedDrain) res.write(`${JSON.stringify(record)}\n`);
        });
        req.on('close', unsubscribe);
        res.on('close', unsubscribe);
        return;
      }
      case '/v1/audit': {
        const since = parseSince(url.searchParams);
        if (typeof since === 'string') return send(res, 400, 'text/plain', `${since}\n`);
        const now = Date.now();
        return send(res, 200, 'application/json', `${JSON.stringify(agent.auditHistory.since(now - since * 1000, now))}\n`);
      }
      default:
        return send(res, 404, 'text/plain', 'not found (try /metrics, /healthz, /readyz, /v1/status, /v1/flows, /v1/audit)\n');
    }
  };
}

/** The node-address listener: /metrics and nothing else. */
export function metricsRequestHandler(registry: Registry): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'only GET\n');
    if (url.pathname === '/metrics') return sendMetrics(registry, res);
    return send(res, 404, 'text/plain', 'only /metrics is served here; status and flows are on the agent\'s loopback API (weir status, weir observe)\n');
  };
}

async function listen(handler: http.RequestListener, host: string, port: number, streams: boolean): Promise<http.Server> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 5_000;
  // /v1/flows streams for as long as the client reads; the metrics listener has no streams.
  server.requestTimeout = streams ? 0 : 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startAgentHttp(agent: AgentApiSource, opts: AgentHttpOptions): Promise<AgentHttpServer> {
  const api = await listen(agentRequestHandler(agent), '127.0.0.1', opts.apiPort, true);
  let metrics: http.Server | undefined;
  try {
    metrics = opts.metricsPort === 0 ? undefined : await listen(metricsRequestHandler(agent.metrics.registry), opts.metricsHost, opts.metricsPort, false);
  } catch (e) {
    await closeServer(api);
    throw new Error(`cannot serve metrics on ${opts.metricsHost}:${opts.metricsPort} (WEIR_METRICS_HOST/WEIR_METRICS_PORT): ${errorMessage(e)}`);
  }
  return {
    apiPort: (api.address() as AddressInfo).port,
    metricsPort: metrics ? (metrics.address() as AddressInfo).port : undefined,
    close: async () => {
      await Promise.all([closeServer(api), metrics ? closeServer(metrics) : Promise.resolve()]);
    },
  };
}
