/**
 * `weir observe`: live flows from every agent, each through its own port-forward, merged into one
 * stream. An agent that cannot be reached is named on stderr and the others go on; none reachable
 * is a failure.
 */
import { formatFlow, type FlowRecord } from '../../agent/src/api.js';
import { findAgents, type AgentConnection } from './agents.js';
import type { OutputFormat } from './args.js';
import { CommandError } from './errors.js';
import { streamFlows } from './flows-client.js';
import type { Cluster } from './kube.js';
import { toYaml } from './output.js';

export interface ObserveOptions {
  selector: string;
  format: OutputFormat;
  query: URLSearchParams;
  signal?: AbortSignal;
}

export function formatRecord(record: FlowRecord, format: OutputFormat): string {
  switch (format) {
    case 'json': return JSON.stringify(record);
    case 'yaml': return `---\n${toYaml(record).trimEnd()}`;
    case 'wide': return `${record.time}  ${record.node}  ${formatFlow(record)}  reason=${record.reason} endpoint=${record.endpoint} identity=${record.remoteIdentity}`;
    case 'text': return `${record.node}  ${formatFlow(record)}`;
  }
}

export async function observeCommand(cluster: Cluster, opts: ObserveOptions, out: (line: string) => void, warn: (line: string) => void): Promise<number> {
  await streamAgentFlows(cluster, opts.selector, opts.query, (record) => out(formatRecord(record, opts.format)), warn, opts.signal);
  return 0;
}

/**
 * Streams /v1/flows?<query> from every agent (selected by `selector`) until `signal` aborts or the
 * streams end; also used by `weir audit report` (audit-report.ts). Returns how many agents
 * answered; throws when none did and the streams ended on their own.
 */
export async function streamAgentFlows(
  cluster: Cluster, selector: string, query: URLSearchParams, onRecord: (record: FlowRecord) => void, warn: (line: string) => void, signal?: AbortSignal,
): Promise<number> {
  const targets = await findAgents(cluster, selector);
  const connections: AgentConnection[] = [];
  let reached = 0;
  try {
    await Promise.all(targets.map(async (target) => {
      if (target.problem !== undefined) {
        warn(`weir: skipping the agent on ${target.node}: ${target.problem}`);
        return;
      }
      const conn = await target.open();
      connections.push(conn);
      try {
        await streamFlows(`${conn.baseUrl}/v1/flows?${query.toString()}`, onRecord, signal, () => {
          reached++;
        });
      } catch (error) {
        warn(`weir: the agent on ${target.node} (${target.source}): ${conn.lastError() ?? (error instanceof Error ? error.message : String(error))}`);
      }
    }));
  } finally {
    await Promise.all(connections.map((c) => c.close()));
  }
  if (reached === 0 && !signal?.aborted) throw new CommandError(`no agent could be reached (${targets.length} found)`);
  return reached;
}
