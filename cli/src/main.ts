import { KubeConfig } from '@kubernetes/client-node';
import { fetchCluster } from './cluster-fetch.js';
import { explainPod } from '../../agent/src/policy/explain-pods.js';
import { formatFlow } from '../../agent/src/flows/format.js';
import { streamFlows } from './flows-client.js';
import { formatStatus } from './status-format.js';
import type { AgentStatus } from '../../agent/src/agent.js';
import { flagInt, flagString, parseArgs, podRef, UsageError } from './args.js';
import { CommandError, kubeClient, labDown, labExec, labStatus, labUp, readLabState } from './lab.js';
import { runDemo } from '../../lab/demo.js';

/**
 * `weir`: the lab, live flows, node status and policy explanations. Errors are one line that says
 * what to do. Exit codes: 0 ok, 1 the command failed, 2 usage error.
 */
const HELP: Record<string, string> = {
  main: `weir — NetworkPolicy and bandwidth for underlay pods

Usage:
  weir lab up [--nodes N] [--no-demo]   bring up a local lab (control plane, webhook, agents, simulated nodes) and run the demo
  weir lab down                         tear the lab down; nothing is left behind
  weir lab status                       what the lab runs, its pods and the kubeconfig
  weir lab exec <ns>/<pod> -- <cmd...>  run a command inside a lab pod's network namespace
  weir observe [--pod ns/name] [--verdict dropped|allowed] [--agent URL]   live flows from the agents
  weir status [--agent URL]             per node: endpoints, shaping mode, policy entries, map usage
  weir explain <ns>/<pod> [--from ns/pod | --to ns/pod] [--port 80/TCP]   intent, policies, and the verdict for a flow

Outside the lab, pass --agent http://<node>:9962 and set KUBECONFIG.
Run 'weir <command> --help' for details.`,
  lab: `weir lab up [--nodes N] [--no-demo] | down | status | exec <ns>/<pod> -- <cmd...>
  up      starts etcd + kube-apiserver, the webhook, one agent and one simulated node per --nodes (default 2),
          then walks through the demo (skip it with --no-demo). The lab keeps running; its kubeconfig is printed.
  down    stops everything and removes network namespaces, pinned maps and state.
  status  prints the lab's endpoints and pods.
  exec    runs a command inside a pod's network namespace (e.g. weir lab exec demo/client -- ping -c1 10.77.0.3).`,
  observe: `weir observe [--pod ns/name] [--verdict dropped|allowed] [--agent URL]
  Streams flow events from every lab agent (or the one at --agent) as lines like
    demo/client:40312 -> demo/server:80 TCP DROPPED (policy NetworkPolicy demo/deny-all, ingress)
  Stop with Ctrl-C.`,
  status: `weir status [--agent URL]
  Per node: the endpoints the agent enforces, their shaping mode, policy entry counts and map usage.`,
  explain: `weir explain <ns>/<pod> [--from ns/pod | --to ns/pod] [--port 80/TCP]
  Shows the pod's networks and which Weir enforces, the policies that select it, and (with --from/--to)
  whether that traffic is allowed and by which rule — computed by the same compiler the agent uses.`,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    out(HELP.main ?? '');
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case 'lab': return labCommand(rest, out);
    case 'observe': return observeCommand(rest, out);
    case 'status': return statusCommand(rest, out);
    case 'explain': return explainCommand(rest, out);
    default: throw new UsageError(`unknown command ${JSON.stringify(command)}; run: weir --help`);
  }
}

async function labCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const args = parseArgs(argv, { nodes: 'value', 'no-demo': 'switch', help: 'switch' });
  const [sub, target] = args.positionals;
  if (args.flags.has('help') || sub === undefined) {
    out(HELP.lab ?? '');
    return sub === undefined && !args.flags.has('help') ? 2 : 0;
  }
  switch (sub) {
    case 'up': {
      const nodes = flagInt(args, 'nodes', 1, 8) ?? 2;
      out(`Bringing up the Weir lab with ${nodes} node(s)...`);
      const state = await labUp(nodes, out);
      if (!args.flags.has('no-demo')) await runDemo(state, out);
      out('');
      out('The lab keeps running. Go on with kubectl:');
      out(`  export KUBECONFIG=${state.kubeconfig}`);
      out(`  export PATH=$HOME/.cache/weir/bin:$PATH     # kubectl built by the bootstrap`);
      out('  kubectl get pods -A -o wide');
      out('  weir observe --verdict dropped              # live flows');
      out('  weir lab exec demo/client -- ping -c1 <ip>  # run a command in a pod');
      out('Tear it down with: make lab-down   (or: weir lab down)');
      return 0;
    }
    case 'down': await labDown(out); return 0;
    case 'status': await labStatus(out); return 0;
    case 'exec': {
      const ref = podRef(target, 'the pod');
      return labExec(ref.namespace, ref.name, args.rest);
    }
    default: throw new UsageError(`unknown lab command ${JSON.stringify(sub)}; use up, down, status or exec`);
  }
}

/** Agent URLs: --agent, or every node of the running lab. */
function agentUrls(agent: string | undefined): string[] {
  if (agent !== undefined) return [agent.replace(/\/+$/, '')];
  const state = readLabState();
  if (!state) throw new CommandError('no agent to ask: start the lab (weir lab up) or pass --agent http://<node>:9962');
  return state.nodes.map((n) => n.agentUrl);
}

async function observeCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const args = parseArgs(argv, { pod: 'value', verdict: 'value', agent: 'value', help: 'switch' });
  if (args.flags.has('help')) { out(HELP.observe ?? ''); return 0; }
  const pod = flagString(args, 'pod');
  if (pod !== undefined) podRef(pod, '--pod');
  const verdict = flagString(args, 'verdict');
  if (verdict !== undefined && verdict !== 'dropped' && verdict !== 'allowed') throw new UsageError('--verdict must be dropped or allowed');
  const query = new URLSearchParams();
  if (pod !== undefined) query.set('pod', pod);
  if (verdict !== undefined) query.set('verdict', verdict);
  const streams = agentUrls(flagString(args, 'agent')).map((url) => streamFlows(`${url}/v1/flows?${query.toString()}`, (record) => out(`${record.node}  ${formatFlow(record)}`)));
  await Promise.all(streams);
  return 0;
}

async function statusCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const args = parseArgs(argv, { agent: 'value', help: 'switch' });
  if (args.flags.has('help')) { out(HELP.status ?? ''); return 0; }
  for (const url of agentUrls(flagString(args, 'agent'))) {
    const response = await fetch(`${url}/v1/status`).catch(() => undefined);
    if (!response?.ok) { out(`${url}: not reachable (is the agent running?)`); continue; }
    // The agent is ours and versioned with this CLI; its status is read as it describes itself.
    for (const line of formatStatus((await response.json()) as AgentStatus)) out(line);
  }
  return 0;
}

async function explainCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const args = parseArgs(argv, { from: 'value', to: 'value', port: 'value', help: 'switch' });
  if (args.flags.has('help')) { out(HELP.explain ?? ''); return 0; }
  const pod = podRef(args.positionals[0], 'the pod');
  const from = flagString(args, 'from');
  const to = flagString(args, 'to');
  if (from !== undefined && to !== undefined) throw new UsageError('give --from or --to, not both');
  const peerText = from ?? to;
  const peer = peerText === undefined ? undefined : { ...podRef(peerText, from !== undefined ? '--from' : '--to'), direction: from !== undefined ? 'from' as const : 'to' as const };
  const portText = flagString(args, 'port') ?? '80/TCP';
  const portMatch = /^(\d{1,5})\/(TCP|UDP|SCTP)$/i.exec(portText);
  const port = Number(portMatch?.[1]);
  if (!portMatch || port < 1 || port > 65535) throw new UsageError(`--port must look like 80/TCP (protocol TCP, UDP or SCTP), got ${JSON.stringify(portText)}`);
  const protocol = (portMatch[2] ?? 'TCP').toUpperCase() as 'TCP' | 'UDP' | 'SCTP';
  const result = explainPod(await fetchCluster(kubeconfig()), { pod, peer, port, protocol });
  if (!result.ok) throw new CommandError(result.error);
  const e = result.explanation;
  out(`pod ${e.pod} on node ${e.node ?? '(unscheduled)'}`);
  for (const i of e.interfaces) out(`  ${i.name}: ${i.network} ${i.ips.join(', ') || '(no IP)'} ${i.enforced ? '— enforced by Weir' : '— not enforced by Weir'}`);
  out(`  isolated: ingress ${e.isolatedIngress ? 'yes' : 'no'}, egress ${e.isolatedEgress ? 'yes' : 'no'}`);
  out(`  policies: ${e.policies.length > 0 ? e.policies.join('; ') : 'none select it'}`);
  if (e.flow) {
    out(`${e.flow.from} -> ${e.flow.to} ${e.flow.port}/${e.flow.protocol}: ${e.flow.verdict === 'allow' ? 'ALLOWED' : 'DENIED'}${e.flow.rule ? ` by ${e.flow.rule.policy} (${e.flow.rule.direction})` : ''}`);
    for (const step of e.flow.steps) out(`  - ${step}`);
  }
  for (const line of e.ignored) out(`  warning: ignored (does not parse): ${line}`);
  for (const line of e.notEnforced) out(`  warning: not enforced: ${line}`);
  return 0;
}

function kubeconfig(): KubeConfig {
  const state = readLabState();
  if (process.env.KUBECONFIG === undefined && state) return kubeClient(state);
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage = error instanceof UsageError;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`weir: ${message}\n`);
    process.exit(usage ? 2 : 1);
  },
);
