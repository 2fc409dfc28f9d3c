/**
 * `weir uninstall --prepare -n <weir namespace>`: what the chart's pre-delete hook runs
 * (charts/weir/templates/uninstall-hook.yaml). It tells every agent that its coming stop is an
 * uninstall by running `weir-agent --arm-uninstall` in the agent container, through pods/exec with
 * the caller's RBAC (as `kubectl exec` does). Each agent then cleans its node up when helm deletes
 * the DaemonSet (agent/src/uninstall.ts); without this, an agent stop keeps enforcing, by design.
 * Exits 1 when any agent could not be armed, naming the nodes that would keep Weir's leftovers.
 */
import { Exec, type KubeConfig } from '@kubernetes/client-node';
import { PassThrough } from 'node:stream';
import { errorText, findAgents, type AgentTarget } from './agents.js';
import { CommandError } from './errors.js';
import type { Cluster } from './kube.js';

/** The agent image's working directory is /opt/weir (images/agent.Dockerfile, images/build.sh). */
export const ARM_COMMAND: readonly string[] = ['node', 'dist/agent/src/main.js', '--arm-uninstall'];
export const AGENT_CONTAINER = 'agent';

export type ExecResult = { ok: true; output: string } | { ok: false; reason: string };
export type ExecInPod = (namespace: string, pod: string, command: readonly string[]) => Promise<ExecResult>;

/** `kubectl exec` through client-node: the command's exit status comes back on the error channel. */
export function kubeExec(kc: KubeConfig, container = AGENT_CONTAINER, timeoutMs = 60_000): ExecInPod {
  return (namespace, pod, command) => new Promise<ExecResult>((resolve) => {
    let settled = false;
    let output = '';
    let errors = '';
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    stderr.on('data', (c: Buffer) => (errors += c.toString('utf8')));
    let close = (): void => undefined;
    const settle = (result: ExecResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      close();
      resolve(result);
    };
    const timer = setTimeout(() => settle({ ok: false, reason: `no exit status within ${timeoutMs / 1000} s` }), timeoutMs);
    new Exec(kc).exec(namespace, pod, container, [...command], stdout, stderr, null, false, (status) => {
      if (status.status === 'Success') settle({ ok: true, output: output.trim() });
      else settle({ ok: false, reason: `${status.message ?? status.reason ?? 'failed'}${errors.trim() === '' ? '' : `: ${errors.trim()}`}` });
    }).then(
      // The WebSocket, typed by what is used of it (its isomorphic-ws type does not resolve for eslint).
      (ws: { close(): void; on(event: 'close', listener: () => void): unknown }) => {
        close = () => ws.close();
        ws.on('close', () => settle({ ok: false, reason: `the exec stream closed without an exit status${errors.trim() === '' ? '' : `: ${errors.trim()}`}` }));
      },
      (error: unknown) => {
        const message = errorText(error); // client-node rejects with a WebSocket ErrorEvent, not an Error
        settle({
          ok: false,
          reason: /\b403\b/.test(message)
            ? `pods/exec on ${namespace}/${pod} is forbidden (HTTP 403): the caller needs "get" and "create" on pods/exec in ${namespace}`
            : `pods/exec on ${namespace}/${pod} failed: ${message}`,
        });
      },
    );
  });
}

/** Runs `work` over `items` with at most `limit` at a time, keeping the input order in the result. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) {
      const item = items[i];
      if (item !== undefined) results[i] = await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function armOne(target: AgentTarget, exec: ExecInPod): Promise<ExecResult> {
  if (target.problem !== undefined) return { ok: false, reason: target.problem };
  const slash = target.source.indexOf('/');
  if (slash <= 0) return { ok: false, reason: `${target.source} is not a pod` };
  return exec(target.source.slice(0, slash), target.source.slice(slash + 1), ARM_COMMAND);
}

export async function prepareUninstallCommand(
  cluster: Cluster,
  selector: string,
  namespace: string,
  out: (line: string) => void,
  exec: ExecInPod = kubeExec(cluster.kc),
): Promise<number> {
  if (cluster.labAgentUrls !== undefined) throw new CommandError('the lab\'s agents are processes on this machine, not pods: weir lab down removes everything they left');
  const targets = await findAgents(cluster, selector, namespace);
  const results = await pool(targets, 10, (t) => armOne(t, exec));
  const failed: string[] = [];
  targets.forEach((target, i) => {
    const result = results[i] ?? { ok: false, reason: 'not tried' };
    if (result.ok) out(`${target.node}: armed (${target.source}): the agent cleans the node up when helm deletes it`);
    else {
      out(`${target.node}: NOT armed (${target.source}): ${result.reason}`);
      failed.push(target.node);
    }
  });
  if (failed.length > 0) {
    throw new CommandError(
      `${failed.length} of ${targets.length} agent(s) not armed (${failed.join(', ')}): after helm uninstall those nodes keep Weir's programs, pins and plugin. Fix the agent and retry, or uninstall anyway with helm uninstall --no-hooks and clean those nodes by hand (docs/operations.md, "Uninstalling")`,
    );
  }
  out(`All ${targets.length} agent(s) armed: helm uninstall now removes Weir from every node.`);
  return 0;
}
