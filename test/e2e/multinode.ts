/**
 * Issue 7's checks that only make sense with two nodes, run on the 2-node lab of the scenario
 * suite (after the scenarios, pods x/y/z × a/b/c in place, no policies left):
 * - IP reuse: a pod is deleted and a pod with different labels gets the SAME IP on the other
 *   node; no agent may keep the old identity for that IP (no stale allow, no stale deny).
 * - Agent restart: node-1's agent restarts while iperf3 runs across nodes and denied flows are
 *   probed without pause; the transfer completes, the denied flows never pass, node-2 unaffected.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { E2eCluster, PolicyObject } from './cluster.js';
import { parseProbeLines } from './cluster.js';

const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const REUSED_IP = '10.78.0.10';
export const REUSE_BOUND_MS = 5_000;

interface ReuseStep {
  client: string;
  node: string;
  trusted: boolean;
  /** ms from the client Running until every server's verdict matched (0: the first probe did). */
  ms: number;
  firstProbeRight: boolean;
}

/**
 * Servers s1 (node-1) and s2 (node-2) on a static-IPAM network, each isolated by a
 * MultiNetworkPolicy to clients labelled role=trusted. Clients take turns on 10.78.0.10, the
 * node alternating, the label alternating: every step a stale identity would show.
 */
export async function ipReuse(cluster: E2eCluster, log: (line: string) => void): Promise<ReuseStep[]> {
  await cluster.createNad('x', 'fixed', `${cluster.lab.prefix}-fixed`, { type: 'static' }, true);
  const policy: PolicyObject = {
    kind: 'MultiNetworkPolicy', namespace: 'x', name: 'trusted-only', policyFor: 'x/fixed',
    spec: { podSelector: { matchLabels: { role: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'trusted' } } }] }] },
  };
  await cluster.apply(policy);
  const servers = [{ key: 'x/s1', node: 'node-1', ip: '10.78.0.21' }, { key: 'x/s2', node: 'node-2', ip: '10.78.0.22' }];
  const fixed = (ip: string) => JSON.stringify([{ name: 'fixed', namespace: 'x', interface: 'net2', ips: [`${ip}/24`] }]);
  const steps: ReuseStep[] = [];
  try {
    for (const s of servers) {
      await cluster.createPod({ ns: 'x', pod: s.key.slice(2) }, s.node, { labels: { role: 'server' }, annotations: { 'k8s.v1.cni.cncf.io/networks': fixed(s.ip) } });
      await cluster.waitRunning({ ns: 'x', pod: s.key.slice(2) });
      await cluster.startServer(s.key);
    }
    const plan = [
      { client: 'c1', node: 'node-2', trusted: true },
      { client: 'c2', node: 'node-1', trusted: false },
      { client: 'c3', node: 'node-2', trusted: true },
      { client: 'c4', node: 'node-2', trusted: false },
      { client: 'c5', node: 'node-1', trusted: true },
    ];
    for (const step of plan) {
      const key = `x/${step.client}`;
      await cluster.createPod({ ns: 'x', pod: step.client }, step.node, {
        labels: { role: step.trusted ? 'trusted' : 'untrusted' }, annotations: { 'k8s.v1.cni.cncf.io/networks': fixed(REUSED_IP) },
      });
      await cluster.waitRunning({ ns: 'x', pod: step.client });
      const running = performance.now();
      const specs = servers.flatMap((s) => [`tcp:${s.ip}:80`, `udp:${s.ip}:81`]);
      let firstProbeRight = true;
      for (;;) {
        const lines = await cluster.runProbe(key, ['probe', '1000', ...specs], 10_000);
        const wrong = lines.filter((l) => l.ok !== step.trusted);
        if (wrong.length === 0) break;
        firstProbeRight = false;
        if (performance.now() - running > REUSE_BOUND_MS) {
          throw new Error(`IP reuse: ${key} (${step.trusted ? 'trusted' : 'untrusted'}) on ${step.node} at ${REUSED_IP}: `
            + `${wrong.map((l) => `${l.spec} ${l.ok ? 'ok' : l.why}`).join(', ')} still wrong ${REUSE_BOUND_MS} ms after Running`);
        }
        await sleep(200);
      }
      const ms = firstProbeRight ? 0 : performance.now() - running;
      steps.push({ ...step, client: key, ms, firstProbeRight });
      log(`IP reuse: ${key} ${step.trusted ? 'trusted  ' : 'untrusted'} on ${step.node} at ${REUSED_IP}: ${firstProbeRight ? 'right from the first probe' : `right after ${ms.toFixed(0)} ms`}`);
      await cluster.deletePod(key);
    }
  } finally {
    for (const s of servers) await cluster.deletePod(s.key).catch(() => undefined);
    await cluster.remove(policy).catch(() => undefined);
  }
  return steps;
}

export interface RestartOutcome {
  restartMs: number;
  iperf: { ok: boolean; bytes: number; seconds: number; error: string };
  /** Probes that should always fail but passed, and allowed ones that failed, during the window. */
  deniedPassed: string[];
  allowedFailed: string[];
  probeRounds: number;
  /** After the window: ms until y/b -> x/a was denied again (-1: not within 20 s). */
  deniedAgainAfterMs: number;
}

/**
 * Policies: x/a (node-1) hears only x/b (node-2); y/a (node-2) hears only namespace z.
 * During node-1's agent restart: iperf3 x/b -> x/a; y/b (node-1) and y/c (node-2) probe x/a
 * (denied, node-1 enforcing) and y/b probes y/a (denied, node-2 enforcing); z/b probes y/a and
 * x/b probes x/a on port 80 (allowed, new flows).
 */
export async function agentRestart(cluster: E2eCluster, log: (line: string) => void): Promise<RestartOutcome> {
  const policies: PolicyObject[] = [
    { kind: 'NetworkPolicy', namespace: 'x', name: 'a-from-b', spec: { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] } },
    { kind: 'NetworkPolicy', namespace: 'y', name: 'a-from-z', spec: { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'z' } } }] }] } },
  ];
  for (const p of policies) await cluster.apply(p);
  const xa = cluster.info('x/a').ips.eth0;
  const ya = cluster.info('y/a').ips.eth0;
  const iperfServer = cluster.spawnInPod('x/a', ['iperf3', '-s', '-1', '-p', '5201']);
  try {
    // Wait until the policies are in force everywhere before starting the clock.
    const deadline = performance.now() + 10_000;
    for (;;) {
      const denied = await cluster.runProbe('y/b', ['probe', '500', `tcp:${xa}:80`, `tcp:${ya}:80`], 10_000);
      // Not port 5201: iperf3 -s -1 would take a probe for its one client.
      const allowed = await cluster.runProbe('x/b', ['probe', '500', `tcp:${xa}:80`], 10_000);
      if (denied.every((l) => !l.ok) && allowed[0]?.ok === true) break;
      if (performance.now() > deadline) throw new Error(`restart: policies not in force after 10 s: ${JSON.stringify([...denied, ...allowed])}`);
      await sleep(200);
    }
    const durationS = 14;
    const windowMs = durationS * 1000;
    const probe = (from: string, specs: string[]) =>
      execFileP('ip', ['netns', 'exec', cluster.info(from).netns, cluster.netprobe, 'repeat', '300', '100', String(windowMs), ...specs], { timeout: windowMs + 20_000, maxBuffer: 16 << 20 });
    const deniedProbes = [probe('y/b', [`tcp:${xa}:80`, `udp:${xa}:81`, `tcp:${ya}:80`, `udp:${ya}:80`]), probe('y/c', [`tcp:${xa}:81`, `udp:${xa}:80`])];
    const allowedProbes = [probe('z/b', [`tcp:${ya}:80`, `udp:${ya}:81`]), probe('x/b', [`tcp:${xa}:80`, `udp:${xa}:81`])];
    const iperf = execFileP('ip', ['netns', 'exec', cluster.info('x/b').netns, 'iperf3', '-c', xa, '-p', '5201', '-t', String(durationS - 2), '-b', '200M', '-J'], { timeout: windowMs + 20_000, maxBuffer: 16 << 20 })
      .then((r) => ({ stdout: r.stdout, failed: '' }), (e: unknown) => ({ stdout: isExecError(e) ? e.stdout : '', failed: e instanceof Error ? e.message : String(e) }));
    await sleep(3_000);
    const restartStarted = performance.now();
    await cluster.lab.restartAgent('node-1');
    const restartMs = performance.now() - restartStarted;
    log(`agent restart: node-1's agent stopped and ready again in ${restartMs.toFixed(0)} ms`);
    const [deniedOut, allowedOut, iperfOut] = await Promise.all([Promise.all(deniedProbes), Promise.all(allowedProbes), iperf]);
    const deniedLines = deniedOut.flatMap((r) => parseProbeLines(r.stdout));
    const allowedLines = allowedOut.flatMap((r) => parseProbeLines(r.stdout));
    const report = parseIperf(iperfOut.stdout, iperfOut.failed);
    log(`agent restart: iperf3 x/b -> x/a ${report.ok ? 'completed' : 'FAILED'}: ${(report.bytes / 1e6).toFixed(0)} MB in ${report.seconds.toFixed(1)} s ${report.error}`);
    log(`agent restart: ${deniedLines.length} denied-flow probes, ${allowedLines.length} allowed-flow probes during the window`);
    const passed = deniedLines.filter((l) => l.ok);
    if (passed.length > 0) log(`agent restart: ${passed.length} denied probes PASSED, from ${passed[0]?.t ?? '?'} ms to ${passed[passed.length - 1]?.t ?? '?'} ms of the window (restart began at ~3000 ms)`);
    const windowEnd = performance.now();
    let deniedAgainAfterMs = -1;
    while (performance.now() - windowEnd < 20_000) {
      const lines = await cluster.runProbe('y/b', ['probe', '500', `tcp:${xa}:80`, `udp:${xa}:81`], 10_000);
      if (lines.every((l) => !l.ok)) {
        deniedAgainAfterMs = performance.now() - windowEnd;
        break;
      }
      await sleep(200);
    }
    if (passed.length > 0) log(`agent restart: agent view now:\n${await cluster.agentView(new Set(['x/a', 'y/b']))}`);
    if (passed.length > 0) log(`agent restart: y/b -> x/a denied again ${deniedAgainAfterMs < 0 ? 'NOT within 20 s' : `${deniedAgainAfterMs.toFixed(0)} ms`} after the window`);
    return {
      deniedAgainAfterMs,
      restartMs,
      iperf: report,
      deniedPassed: deniedLines.filter((l) => l.ok).map((l) => `${l.t}ms ${l.spec}`),
      allowedFailed: allowedLines.filter((l) => !l.ok).map((l) => `${l.t}ms ${l.spec} ${l.why}`),
      probeRounds: deniedLines.length + allowedLines.length,
    };
  } finally {
    iperfServer.kill('SIGKILL');
    for (const p of policies) await cluster.remove(p).catch(() => undefined);
  }
}

function isExecError(e: unknown): e is Error & { stdout: string } {
  return e instanceof Error && 'stdout' in e && typeof e.stdout === 'string';
}

function parseIperf(stdout: string, failed: string): RestartOutcome['iperf'] {
  try {
    const parsed: unknown = JSON.parse(stdout);
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    const error = 'error' in parsed && typeof parsed.error === 'string' ? parsed.error : failed;
    const end = 'end' in parsed && typeof parsed.end === 'object' && parsed.end !== null ? parsed.end : {};
    const received = 'sum_received' in end && typeof end.sum_received === 'object' && end.sum_received !== null ? end.sum_received : {};
    const bytes = 'bytes' in received && typeof received.bytes === 'number' ? received.bytes : 0;
    const seconds = 'seconds' in received && typeof received.seconds === 'number' ? received.seconds : 0;
    return { ok: error === '' && bytes > 0, bytes, seconds, error };
  } catch {
    return { ok: false, bytes: 0, seconds: 0, error: failed || `unparsable iperf3 output: ${stdout.slice(0, 200)}` };
  }
}
