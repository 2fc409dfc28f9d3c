/**
 * The agent's plain-HTTP endpoint (WEIR_METRICS_HOST:WEIR_METRICS_PORT, loopback by default):
 *   /metrics    Prometheus text (the agent's own Registry)
 *   /healthz    200 while the process serves
 *   /readyz     200 once caches synced and the first reconcile ran, else 503 with the reason
 *   /v1/status  JSON AgentStatus (`weir status`)
 *   /v1/flows   live flows, one JSON FlowRecord per line (`weir observe`);
 *               query: pod=ns/name, verdict=allowed|dropped
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Agent } from './agent.js';
import { parseFlowFilter } from './flows/hub.js';

export interface AgentHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

export function agentRequestHandler(agent: Agent): http.RequestListener {
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
        agent.metrics.registry.metrics().then(
          (text) => send(res, 200, agent.metrics.registry.contentType, text),
          (e: unknown) => send(res, 500, 'text/plain', `metrics failed: ${e instanceof Error ? e.message : String(e)}\n`),
        );
        return;
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
      default:
        return send(res, 404, 'text/plain', 'not found (try /metrics, /healthz, /readyz, /v1/status, /v1/flows)\n');
    }
  };
}

export async function startAgentHttp(agent: Agent, host: string, port: number): Promise<AgentHttpServer> {
  const server = http.createServer(agentRequestHandler(agent));
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 0; // /v1/flows streams for as long as the client reads
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
