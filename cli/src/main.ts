/**
 * `weir` (also `kubectl weir`): live flows, node status and policy explanations for any cluster in
 * the kubeconfig, plus the local lab. Options are kubectl's (--kubeconfig, --context, -n, -o).
 * Errors are one line that says what to do. Exit codes: 0 ok, 1 the command failed (including an
 * agent that cannot be reached), 2 usage error.
 */
import { basename } from 'node:path';
import { DEFAULT_AGENT_SELECTOR } from './agents.js';
import { KUBE_OPTIONS, outputFormat, parseCommandArgs, podRef, UsageError } from './args.js';
import { checkCommand } from './check.js';
import { completionScript, type CommandTable } from './completion.js';
import { auditReportCommand, parseWindow, type AuditSource } from './audit-report.js';
import { endpointsCommand } from './endpoints.js';
import { CommandError } from './errors.js';
import { explainCommand } from './explain.js';
import { loadCluster, type Cluster } from './kube.js';
import { observeCommand } from './observe.js';
import { statusCommand } from './status.js';
import { uninstallCheckCommand } from './uninstall.js';
import { prepareUninstallCommand } from './uninstall-prepare.js';
import { printVersion, versionReport } from './version.js';

// bin/weir passes the name it was run as; the image runs dist/cli/src/main.js under either name.
const program = [process.env.WEIR_PROGRAM, basename(process.argv[1] ?? '')].includes('kubectl-weir') ? 'kubectl weir' : 'weir';

const KUBE_FLAGS = ['--kubeconfig', '--context', '-n', '--namespace', '-o', '--output', '--selector', '--help'];
/** Every command and the options it takes: what the parser accepts and what completion offers. */
const COMMANDS: CommandTable = {
  status: KUBE_FLAGS,
  endpoints: ['-A', '--all-namespaces', ...KUBE_FLAGS],
  observe: ['--pod', '--verdict', ...KUBE_FLAGS],
  explain: ['--from', '--to', '--to-service', '--port', ...KUBE_FLAGS],
  audit: ['report', '--since', '--for', ...KUBE_FLAGS],
  version: ['--client', ...KUBE_FLAGS],
  check: KUBE_FLAGS,
  uninstall: ['--check', '--prepare', ...KUBE_FLAGS],
  completion: ['bash', 'zsh'],
  lab: ['up', 'down', 'status', 'exec', '--nodes', '--no-demo', '--help'],
  help: [],
};

const SELECTOR = { selector: { type: 'string', short: 'l' } } as const;

const HELP: Record<string, string> = {
  main: `${program} — NetworkPolicy and bandwidth for underlay pods

Usage:
  ${program} status                       per node: endpoints, shaping mode, policy entries, map usage
  ${program} endpoints [-n ns | -A]        per pod interface: addresses, enforced, isolation, shaping (from WeirEndpoints)
  ${program} observe [--pod ns/name] [--verdict dropped|allowed|audit]   live flows from the agents
  ${program} explain <ns>/<pod> [--from ns/pod | --to ns/pod | --to-service ns/svc] [--port 80/TCP]   policies and the verdict for a flow
  ${program} audit report [-n ns] [--since 1h | --for 30s]   per audit policy, the distinct flows it would drop or allow
  ${program} check -n <weir namespace>     the webhook answers and every agent is ready (what helm test runs)
  ${program} uninstall --check             what still depends on Weir (NADs chaining weir, opted-in namespaces)
  ${program} uninstall --prepare -n <ns>   arm every agent to clean its node up at uninstall (the chart's pre-delete hook)
  ${program} version [--client]            versions of this CLI, the API server and the agents
  ${program} completion bash|zsh           shell completion (source <(${program} completion bash))
  weir lab up | down | status | exec      the local lab (from a checkout of the repository)

Options for status, observe, explain and version (as kubectl's):
  --kubeconfig FILE   --context NAME   -n, --namespace NS (for a <pod> given without <ns>/)
  -o, --output json|yaml|wide          -l, --selector LABELS (agent pods; default ${DEFAULT_AGENT_SELECTOR})

The agents are found through the API server and reached through pods/portforward with your
kubeconfig and RBAC (list pods; get and create pods/portforward in Weir's namespace); nothing else is
needed. Run '${program} <command> --help' for details.`,
  observe: `${program} observe [--pod ns/name] [--verdict dropped|allowed|audit] [-o json|yaml|wide]
  Streams flow events from every agent as lines like
    node-1  demo/client:40312 -> demo/server:80 TCP DROPPED (policy NetworkPolicy demo/deny-all, ingress)
  --verdict audit shows only flows an audit namespace (weir.dev/enforcement: audit) let through
  that policy would drop, and new flows an audit policy would drop or allow:
    node-1  demo/client:40312 -> demo/server:80 TCP AUDIT would drop (policy NetworkPolicy demo/deny-all, ingress)
    node-1  demo/batch:51000 -> demo/server:80 TCP AUDIT would allow (policy demo/allow-batch (audit policy), ingress)
  -o json prints one JSON record per line. Stop with Ctrl-C.`,
  audit: `${program} audit report [-n ns] [--since 1h | --for 30s] [-o json|yaml]
  Prints, per audit policy and "would drop" / "would allow", the distinct (source workload,
  destination workload, port) flows and the workloads they came from: what enforcing would change.
  --since (default 1h; 30s, 5m, 1h, 24h) reads the flows each agent kept (its last 10,000 distinct
  audited flows of the last day; an agent restart forgets them). --for listens to the live AUDIT
  events that long instead. -n keeps the flows judged by pods of that namespace. Events are budgeted
  per endpoint, so event counts are lower bounds, and a flow whose only event was over the budget is
  missing. Exits 1 when an agent cannot be read (the report is then incomplete).`,
  status: `${program} status [-o json|yaml|wide]
  Per node: the endpoints the agent enforces, their shaping mode, policy entry counts and map usage.
  Exits 1 when an agent cannot be reached or is not ready.`,
  explain: `${program} explain <ns>/<pod> [--from ns/pod | --to ns/pod | --to-service ns/svc] [--port 80/TCP] [-o json|yaml|wide]
  Shows the pod's networks and which Weir enforces, the policies that select it, and (with --from/--to)
  whether that traffic is allowed and by which rule — computed by the same compiler the agent uses.
  --to-service: traffic to the Service's ClusterIP at the Service port, judged by its backends.
  Without --port it assumes 80/TCP, and says so.`,
  endpoints: `${program} endpoints [-n <ns> | -A] [-o json|yaml|wide]
  Per pod interface that Weir attached: its network and addresses, whether it is enforced, which
  directions are isolated, policy entries and shaping, as the node's agent published them in the
  pod's WeirEndpoint. Needs only 'list' on weirendpoints.weir.dev; no agent has to be reachable.
  Exits 1 when an object does not parse.`,
  version: `${program} version [--client] [-o json|yaml]`,
  check: `${program} check -n <weir namespace> [-l agent selector]
  Sends the NAD webhook a server-side dry run of a NAD Weir refuses (it must come back refused), and
  reads every agent's status in that namespace through pods/portforward (each must be ready).
  Exits 1 when either fails. The chart's helm test pod runs it.`,
  completion: `${program} completion bash|zsh`,
  uninstall: `${program} uninstall --check
  Lists what helm uninstall would break: NADs whose chain runs weir (or carry weir.dev/chain),
  SpiderMultusConfigs that append weir, and opted-in namespaces. Exits 1 while any is left.
  It removes nothing; docs/operations.md says how to uninstall.

${program} uninstall --prepare -n <weir namespace> [-l agent selector]
  Runs 'weir-agent --arm-uninstall' in every agent container (pods/exec): each agent then detaches
  its programs and removes its pins, state and the CNI plugin binary when helm deletes it, instead
  of keeping them as an ordinary restart does. The chart's pre-delete hook runs it; an armed agent
  that is not deleted within 10 minutes forgets it. Exits 1 naming the nodes it could not arm.`,
};

async function cluster(values: { kubeconfig?: string; context?: string; namespace?: string }): Promise<Cluster> {
  return loadCluster({ kubeconfig: values.kubeconfig, context: values.context, namespace: values.namespace });
}

type Out = (line: string) => void;
const err: Out = (l) => process.stderr.write(`${l}\n`);

/** `weir audit report`'s source: --for listens live, --since (default 1h, at most a day) reads what the agents kept. */
function auditSource(values: { since?: string; for?: string }): AuditSource {
  if (values.since !== undefined && values.for !== undefined) throw new UsageError('--since reads what the agents kept and --for listens live: give one of them');
  if (values.for !== undefined) {
    const listen = parseWindow(values.for);
    if (listen === undefined) throw new UsageError('--for must be a duration like 30s, 5m or 1h');
    return { listen };
  }
  const since = parseWindow(values.since ?? '1h');
  if (since === undefined || since > 86_400) throw new UsageError('--since must be a duration like 30s, 5m or 1h, at most 24h (the agents keep a day)');
  return { since };
}

/** Each command: its arguments after the command name → its exit code. */
const RUNNERS: Record<string, (rest: string[], out: Out) => Promise<number>> = {
  lab: async (rest, out) => {
    const lab = await import('../../lab/cli.js').catch(() => undefined);
    if (lab === undefined) throw new CommandError('weir lab runs from a checkout of the Weir repository (./bin/weir lab up)');
    return lab.labCommand(rest, out);
  },
  status: async (rest, out) => {
    const a = parseCommandArgs(rest, { ...KUBE_OPTIONS, ...SELECTOR });
    if (a.values.help === true) { out(HELP.status ?? ''); return 0; }
    if (a.positionals.length > 0) throw new UsageError(`weir status takes no arguments, got ${JSON.stringify(a.positionals[0])}`);
    const format = outputFormat(a.values.output);
    return statusCommand(await cluster(a.values), a.values.selector ?? DEFAULT_AGENT_SELECTOR, format, out);
  },
  observe: async (rest, out) => {
    const a = parseCommandArgs(rest, { ...KUBE_OPTIONS, ...SELECTOR, pod: { type: 'string' }, verdict: { type: 'string' } });
    if (a.values.help === true) { out(HELP.observe ?? ''); return 0; }
    const format = outputFormat(a.values.output);
    const verdict = a.values.verdict;
    if (verdict !== undefined && verdict !== 'dropped' && verdict !== 'allowed' && verdict !== 'audit') throw new UsageError('--verdict must be dropped, allowed or audit');
    const query = new URLSearchParams();
    if (verdict !== undefined) query.set('verdict', verdict);
    const pod = a.values.pod;
    if (pod !== undefined) podRef(pod, '--pod', a.values.namespace ?? 'default'); // usage check before any cluster I/O
    const c = await cluster(a.values);
    if (pod !== undefined) {
      const ref = podRef(pod, '--pod', c.namespace);
      query.set('pod', `${ref.namespace}/${ref.name}`);
    }
    return observeCommand(c, { selector: a.values.selector ?? DEFAULT_AGENT_SELECTOR, format, query }, out, err);
  },
  explain: async (rest, out) => {
    const a = parseCommandArgs(rest, { ...KUBE_OPTIONS, from: { type: 'string' }, to: { type: 'string' }, 'to-service': { type: 'string' }, port: { type: 'string' } });
    if (a.values.help === true) { out(HELP.explain ?? ''); return 0; }
    const format = outputFormat(a.values.output);
    return explainCommand(await cluster(a.values), { pod: a.positionals[0], from: a.values.from, to: a.values.to, toService: a.values['to-service'], port: a.values.port, format }, out);
  },
  audit: async (rest, out) => {
    const a = parseCommandArgs(rest, { ...KUBE_OPTIONS, ...SELECTOR, since: { type: 'string' }, for: { type: 'string' } });
    if (a.values.help === true) { out(HELP.audit ?? ''); return 0; }
    if (a.positionals[0] !== 'report' || a.positionals.length > 1) throw new UsageError(`usage: ${program} audit report [-n ns] [--since 1h | --for 30s]`);
    const source = auditSource(a.values);
    const format = outputFormat(a.values.output);
    return auditReportCommand(await cluster(a.values), { selector: a.values.selector ?? DEFAULT_AGENT_SELECTOR, namespace: a.values.namespace, source, format }, out, err);
  },
  endpoints: async (rest, out) => {
    const a = parseCommandArgs(rest, { ...KUBE_OPTIONS, 'all-namespaces': { type: 'boolean', short: 'A' } });
    if (a.values.help === true) { out(HELP.endpoints ?? ''); return 0; }
    if (a.positionals.length > 0) throw new UsageError(`weir endpoints takes no arguments, got ${JSON.stringify(a.positionals[0])}`);
    const format = outputFormat(a.values.output);
    return endpointsCommand(await cluster(a.values), { allNamespaces: a.values['all-namespaces'] === true, format }, out);
  },
  check: async (rest, out) => {
    const a = parseCommandArgs(rest, { ...KUBE_OPTIONS, ...SELECTOR });
    if (a.values.help === true) { out(HELP.check ?? ''); return 0; }
    if (a.values.namespace === undefined) throw new UsageError('weir check needs -n <the namespace Weir is installed in>');
    return checkCommand(await cluster(a.values), a.values.selector ?? DEFAULT_AGENT_SELECTOR, out);
  },
  uninstall: async (rest, out) => {
    const a = parseCommandArgs(rest, { ...KUBE_OPTIONS, ...SELECTOR, check: { type: 'boolean' }, prepare: { type: 'boolean' } });
    if (a.values.help === true) { out(HELP.uninstall ?? ''); return 0; }
    if (a.values.check === a.values.prepare) throw new UsageError('weir uninstall takes --check (what still depends on Weir) or --prepare (what the chart\'s pre-delete hook runs); docs/operations.md');
    if (a.values.prepare === true) {
      const namespace = a.values.namespace;
      if (namespace === undefined) throw new UsageError('weir uninstall --prepare needs -n <the namespace Weir is installed in>');
      return prepareUninstallCommand(await cluster(a.values), a.values.selector ?? DEFAULT_AGENT_SELECTOR, namespace, out);
    }
    return uninstallCheckCommand(await cluster(a.values), out);
  },
  version: async (rest, out) => {
    const a = parseCommandArgs(rest, { ...KUBE_OPTIONS, ...SELECTOR, client: { type: 'boolean' } });
    if (a.values.help === true) { out(HELP.version ?? ''); return 0; }
    const format = outputFormat(a.values.output);
    const c = a.values.client === true ? undefined : await cluster(a.values).catch(() => undefined);
    printVersion(await versionReport(c, a.values.selector ?? DEFAULT_AGENT_SELECTOR), format, out);
    return 0;
  },
  completion: (rest, out) => {
    const a = parseCommandArgs(rest, { help: { type: 'boolean', short: 'h' } });
    if (a.values.help === true) { out(HELP.completion ?? ''); return Promise.resolve(0); }
    process.stdout.write(completionScript(a.positionals[0], program === 'weir' ? 'weir' : 'kubectl-weir', COMMANDS));
    return Promise.resolve(0);
  },
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const out: Out = (line) => process.stdout.write(`${line}\n`);
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    out(HELP.main ?? '');
    return command === undefined ? 2 : 0;
  }
  const run = Object.hasOwn(RUNNERS, command) ? RUNNERS[command] : undefined;
  if (run === undefined) throw new UsageError(`unknown command ${JSON.stringify(command)}; run: ${program} --help`);
  return run(rest, out);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage = error instanceof UsageError;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${program}: ${message}\n`);
    process.exit(usage ? 2 : 1);
  },
);
