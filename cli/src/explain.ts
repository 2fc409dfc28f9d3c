/**
 * `weir explain`: the pod's networks, the policies that select it, and (with --from/--to) the
 * verdict for one flow, computed from the API server's objects by the agent's own policy library
 * (agent/src/explain/explain-pods.ts), so the answer is the one the datapath enforces. It says which
 * port and protocol it assumed when none was given.
 */
import { explainPod, type PodExplanation } from '../../agent/src/explain/explain-pods.js';
import { podRef, UsageError, type OutputFormat } from './args.js';
import { fetchCluster } from './cluster-fetch.js';
import { CommandError } from './errors.js';
import type { Cluster } from './kube.js';
import { structured } from './output.js';

export interface ExplainArgs {
  pod: string | undefined;
  from?: string;
  to?: string;
  /** ns/name of a Service: the pod sends to its ClusterIP. */
  toService?: string;
  port?: string;
  format: OutputFormat;
}

const DEFAULT_PORT = '80/TCP';

export function parsePort(text: string): { port: number; protocol: 'TCP' | 'UDP' | 'SCTP' } {
  const match = /^(\d{1,5})\/(TCP|UDP|SCTP)$/i.exec(text);
  const port = Number(match?.[1]);
  const protocol = match?.[2]?.toUpperCase();
  if (!match || port < 1 || port > 65535 || (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP')) {
    throw new UsageError(`--port must look like 80/TCP (protocol TCP, UDP or SCTP), got ${JSON.stringify(text)}`);
  }
  return { port, protocol };
}

export async function explainCommand(cluster: Cluster, args: ExplainArgs, out: (line: string) => void): Promise<number> {
  const pod = podRef(args.pod, 'the pod', cluster.namespace);
  if ([args.from, args.to, args.toService].filter((x) => x !== undefined).length > 1) throw new UsageError('give one of --from, --to and --to-service');
  const peerText = args.from ?? args.to;
  const direction = args.from !== undefined ? 'from' as const : 'to' as const;
  const peer = peerText === undefined ? undefined : { ...podRef(peerText, `--${direction}`, cluster.namespace), direction };
  const { port, protocol } = parsePort(args.port ?? DEFAULT_PORT);
  const assumed = { port, protocol, source: args.port === undefined ? 'default (no --port given)' : '--port' };
  const service = args.toService === undefined ? undefined : podRef(args.toService, '--to-service', cluster.namespace);
  const result = explainPod(await fetchCluster(cluster.kc), { pod, peer, ...(service === undefined ? {} : { service }), port, protocol });
  if (!result.ok) throw new CommandError(result.error);
  const text = structured(args.format, { ...result.explanation, assumed });
  if (text !== undefined) {
    out(text.trimEnd());
    return 0;
  }
  for (const line of explanationLines(result.explanation, args.format === 'wide')) out(line);
  if (peer !== undefined || service !== undefined) out(`  (port and protocol: ${port}/${protocol}, ${assumed.source})`);
  return 0;
}

export function explanationLines(e: PodExplanation, wide: boolean): string[] {
  const lines = [`pod ${e.pod} on node ${e.node ?? '(unscheduled)'}`];
  for (const i of e.interfaces) lines.push(`  ${i.name}: ${i.network} ${i.ips.join(', ') || '(no IP)'} ${i.enforced ? '— enforced by Weir' : '— not enforced by Weir'}`);
  lines.push(`  isolated: ingress ${e.isolatedIngress ? 'yes' : 'no'}, egress ${e.isolatedEgress ? 'yes' : 'no'}`);
  if (wide) for (const p of e.policies) lines.push(`  policy: ${p}`);
  else lines.push(`  policies: ${e.policies.length > 0 ? e.policies.join('; ') : 'none select it'}`);
  if (e.flow) {
    lines.push(`${e.flow.from} -> ${e.flow.to} ${e.flow.port}/${e.flow.protocol}: ${e.flow.verdict === 'allow' ? 'ALLOWED' : 'DENIED'}${e.flow.rule ? ` by ${e.flow.rule.policy} (${e.flow.rule.direction})` : ''}`);
    if (e.flow.audited) lines.push(`  AUDIT would drop: ${e.flow.audited.rule?.policy ?? 'default deny'} (the namespace audits: weir.dev/enforcement: audit)`);
    for (const step of e.flow.steps) lines.push(`  - ${step}`);
    const a = e.flow.auditPolicies;
    if (a !== undefined) {
      const changes = a.verdict !== e.flow.verdict ? (a.verdict === 'deny' ? 'AUDIT would drop' : 'AUDIT would allow') : 'unchanged';
      lines.push(`with audit policies enforced: ${a.verdict === 'allow' ? 'ALLOWED' : 'DENIED'}${a.rule ? ` by ${a.rule.policy} (${a.rule.direction})` : ''} — ${changes}`);
      for (const step of a.steps) lines.push(`  - ${step}`);
    }
  }
  for (const line of e.ignored) lines.push(`  warning: ignored (does not parse): ${line}`);
  for (const line of e.notEnforced) lines.push(`  warning: not enforced: ${line}`);
  return lines;
}
