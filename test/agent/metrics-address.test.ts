/**
 * Issue 16 item 2, the way Prometheus meets it: the agent's metrics are scraped from the node's
 * address by a client on another host (here a network namespace behind a veth), in Prometheus text
 * format, while status and flows stay on loopback and are not reachable from that host at all.
 * The listener is configured from the environment exactly as the chart sets it (WEIR_METRICS_HOST
 * = the node's IP from the downward API, WEIR_METRICS_PORT its own port).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AgentMetrics } from '../../agent/src/metrics.js';
import { readAgentConfig } from '../../agent/src/config.js';
import { startAgentHttp, type AgentHttpServer } from '../../agent/src/http.js';
import type { AgentStatus } from '../../agent/src/api.js';
import { FlowHub } from '../../agent/src/flows/hub.js';
import { AuditHistory } from '../../agent/src/flows/audit-history.js';
import { registerProcessMetrics } from '../../common/src/process-metrics.js';
import { freeLoopbackPorts } from '../../harness/controlplane/ports.js';
import { execInNetns, NetLab, runChecked } from '../../harness/support/netns.js';
import { describePrivileged } from '../support/privileged.js';

const NODE_IP = '10.213.7.1';
const PROM_IP = '10.213.7.2';

/** Prometheus text exposition format 0.0.4, line by line; returns sample name → type from # TYPE. */
function parseExposition(text: string): { types: Map<string, string>; samples: Map<string, number[]> } {
  const types = new Map<string, string>();
  const samples = new Map<string, number[]>();
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type?.[1] !== undefined && type[2] !== undefined) {
      types.set(type[1], type[2]);
      continue;
    }
    // Values parse as Go's strconv.ParseFloat does in Prometheus (NaN in any case): prom-client writes
    // "Nan" for the event-loop lag mean until the first sample, so a scrape right after start sees it.
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/i.exec(line);
    if (sample?.[1] === undefined || sample[3] === undefined) throw new Error(`line ${i + 1} is not Prometheus text format: ${JSON.stringify(line)}`);
    samples.set(sample[1], [...(samples.get(sample[1]) ?? []), Number(sample[3])]);
  }
  return { types, samples };
}

describePrivileged('agent metrics on the node address', () => {
  const lab = new NetLab('wmetr');
  let server: AgentHttpServer;
  let prom: string;
  let ports: { api: number; metrics: number };

  beforeAll(async () => {
    await lab.sweep();
    prom = await lab.netns('prom');
    // The node's side of the link stays in this (host) namespace, where the agent listens.
    await lab.veth('wmetr-node', 'eth0', { peerNs: prom });
    await runChecked(['ip', 'addr', 'add', `${NODE_IP}/30`, 'dev', 'wmetr-node']);
    await runChecked(['ip', '-n', prom, 'addr', 'add', `${PROM_IP}/30`, 'dev', 'eth0']);
    const [api = 0, metrics = 0] = await freeLoopbackPorts(2);
    ports = { api, metrics };
    const cfg = readAgentConfig({ WEIR_NODE_NAME: 'node-a', WEIR_METRICS_HOST: NODE_IP, WEIR_METRICS_PORT: String(metrics), WEIR_API_PORT: String(api) }, '/x');
    if (!cfg.ok) throw new Error(cfg.errors.join('; '));
    const agentMetrics = new AgentMetrics({
      counters: () => Promise.resolve([{ endpointId: 3, reason: 'policy-deny', packets: 7n, bytes: 420n }]),
      endpointName: (id) => `demo/server/eth0#${id}`,
    });
    registerProcessMetrics(agentMetrics.registry, 'agent');
    agentMetrics.reattachments.inc();
    const status: AgentStatus = { node: 'node-a', ready: true, unsynced: [], endpoints: [], maps: { ipcache: 0, policy: 0, endpoints: 0 }, pods: 0, malformedIntents: 0 };
    server = await startAgentHttp({ isReady: true, status: () => status, flows: new FlowHub(), auditHistory: new AuditHistory(), metrics: agentMetrics }, cfg.config);
  });

  afterAll(async () => {
    await server.close();
    await lab.cleanup();
  });

  const curl = (url: string) => execInNetns(prom, ['curl', '-sS', '--max-time', '3', '-o', '-', '-w', '\n%{http_code}', url]);

  it('serves Prometheus text to another host on the node address', async () => {
    const res = await curl(`http://${NODE_IP}:${ports.metrics}/metrics`);
    expect(res.code, res.stderr).toBe(0);
    const body = res.stdout.slice(0, res.stdout.lastIndexOf('\n'));
    expect(res.stdout.endsWith('\n200')).toBe(true);
    const { types, samples } = parseExposition(body);
    expect(types.get('weir_agent_datapath_packets_total')).toBe('counter');
    expect(samples.get('weir_agent_datapath_packets_total')).toEqual([7]);
    expect(samples.get('weir_agent_datapath_bytes_total')).toEqual([420]);
    expect(samples.get('weir_agent_reattachments_total')).toEqual([1]);
    expect(samples.get('weir_build_info')).toEqual([1]);
    expect(types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(body).toMatch(/weir_agent_datapath_packets_total\{endpoint="demo\/server\/eth0#3",reason="policy-deny",verdict="dropped"\} 7/);
  });

  it('serves nothing but /metrics there: status and flows are not on the network', async () => {
    const status = await curl(`http://${NODE_IP}:${ports.metrics}/v1/status`);
    expect(status.stdout.endsWith('\n404')).toBe(true);
    expect(status.stdout).toContain('only /metrics is served here');
    // The API port does not listen on the node address at all.
    const api = await curl(`http://${NODE_IP}:${ports.api}/v1/status`);
    expect(api.code).not.toBe(0);
    expect(api.stderr).toMatch(/refused|Couldn't connect/i);
  });

  it('keeps the API on loopback, and the metrics listener off it', async () => {
    const status = await fetch(`http://127.0.0.1:${ports.api}/v1/status`);
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ node: 'node-a', ready: true });
    await expect(fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).rejects.toThrow();
  });
});
