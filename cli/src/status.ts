/**
 * `weir status`: every agent's endpoints, shaping and map use, read from its loopback API through
 * pods/portforward. Exits 1 when any agent cannot be reached or answers something unreadable, so a
 * script (or `helm test`) can rely on it.
 */
import { parseAgentStatus, type AgentStatus } from '../../agent/src/api.js';
import { findAgents, getAgentJson, type AgentTarget } from './agents.js';
import type { OutputFormat } from './args.js';
import { CommandError } from './errors.js';
import type { Cluster } from './kube.js';
import { structured } from './output.js';
import { formatStatus } from './status-format.js';

export type AgentReport = { node: string; source: string; status: AgentStatus } | { node: string; source: string; error: string };

export async function readStatus(target: AgentTarget): Promise<AgentReport> {
  const base = { node: target.node, source: target.source };
  if (target.problem !== undefined) return { ...base, error: target.problem };
  let conn;
  try {
    conn = await target.open();
    const parsed = parseAgentStatus(await getAgentJson(target, conn, '/v1/status'));
    if (!parsed.ok) return { ...base, error: `unreadable status (${parsed.error}); are the CLI and the agent the same version?` };
    return { ...base, status: parsed.status };
  } catch (error) {
    return { ...base, error: error instanceof Error ? error.message : String(error) };
  } finally {
    await conn?.close();
  }
}

export async function statusCommand(cluster: Cluster, selector: string, format: OutputFormat, out: (line: string) => void): Promise<number> {
  const targets = await findAgents(cluster, selector);
  // A few at a time: each is a port-forward through the API server.
  const reports: AgentReport[] = [];
  for (let i = 0; i < targets.length; i += 8) reports.push(...(await Promise.all(targets.slice(i, i + 8).map(readStatus))));
  const text = structured(format, { kind: 'AgentStatusList', items: reports });
  if (text !== undefined) out(text.trimEnd());
  else {
    for (const r of reports) {
      if ('error' in r) out(`node ${r.node}: NOT REACHABLE (${r.source}): ${r.error}`);
      else for (const line of formatStatus(r.status, format === 'wide')) out(line);
    }
  }
  const failed = reports.filter((r) => 'error' in r).length;
  const notReady = reports.filter((r) => 'status' in r && !r.status.ready).length;
  if (failed > 0) throw new CommandError(`${failed} of ${reports.length} agent(s) not reachable`);
  if (notReady > 0) throw new CommandError(`${notReady} of ${reports.length} agent(s) not ready`);
  return 0;
}
