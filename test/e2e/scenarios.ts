/**
 * The NetworkPolicy scenarios, modelled on upstream's network_policy.go and the
 * network-policy-api conformance tests. Every expectation is a hand-written truth table (a
 * predicate over from, to and the probe case): they encode the API's semantics as documented,
 * independently of Weir's compiler, so a compiler bug cannot hide behind a shared oracle.
 */
import { formatFlow } from '../../agent/src/api.js';
import type { E2eCluster, Network, PolicyObject } from './cluster.js';
import { CASES, PODS, caseKey, is, podKey, type PodRef, type ProbeCase, type Truth } from './model.js';

export interface ScenarioContext {
  readonly cluster: E2eCluster;
  apply(...policies: PolicyObject[]): Promise<void>;
  update(policy: PolicyObject): Promise<void>;
  remove(policy: PolicyObject): Promise<void>;
  /** Waits for the matrix to match (bound 10 s), records the time, throws with the tables if not. */
  expect(label: string, truth: Truth, network?: Network): Promise<void>;
  ip(key: string, network?: Network): string;
  /** Runs after the scenario even when it failed (pods or labels it changed). */
  defer(undo: () => Promise<void>): void;
  note(line: string): void;
}

export interface Scenario {
  name: string;
  /** Also checks (and restores) the net1 matrix. */
  usesNet1?: boolean;
  run(ctx: ScenarioContext): Promise<void>;
}

const np = (namespace: string, name: string, spec: Record<string, unknown>): PolicyObject => ({ kind: 'NetworkPolicy', namespace, name, spec });
const sel = (labels: Record<string, string>) => ({ matchLabels: labels });
const tcp = (c: ProbeCase) => c.protocol === 'TCP';
const udp = (c: ProbeCase) => c.protocol === 'UDP';
const anp = (name: string, priority: number, subjectNs: string, ingress: unknown[]): PolicyObject => ({
  kind: 'AdminNetworkPolicy', name, spec: { priority, subject: { namespaces: sel({ ns: subjectNs }) }, ingress },
});

export const SCENARIOS: Scenario[] = [
  {
    name: 'deny-all ingress in x',
    async run(ctx) {
      await ctx.apply(np('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }));
      await ctx.expect('x isolated for ingress', (_f, t) => t.ns !== 'x');
    },
  },
  {
    name: 'namespace audit mode: deny-all ingress in x breaks nothing until x is enforced',
    async run(ctx) {
      const audit = (value: string | null) => ctx.cluster.annotateNamespace('x', { 'weir.dev/enforcement': value });
      await audit('audit');
      ctx.defer(() => audit(null));
      await ctx.apply(np('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }));
      // All allowed is also the state before the policy: first see the agents program x isolated, in audit.
      const xPods = new Set(['x/a', 'x/b', 'x/c']);
      for (const deadline = Date.now() + 10_000; ;) {
        const view = await ctx.cluster.agentView(xPods);
        const eth0 = view.split('\n').filter((l) => l.includes(' eth0 '));
        if (eth0.length === xPods.size && eth0.every((l) => l.includes('"ingress":true') && l.includes('audit=true'))) break;
        if (Date.now() > deadline) throw new Error(`x/* eth0 not isolated in audit mode after 10 s:\n${view}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const flows = await ctx.cluster.watchFlows('verdict=audit');
      ctx.defer(async () => flows.stop());
      await ctx.expect('x audits: every pair still allowed', () => true);
      // What `weir observe --verdict audit` shows: the probes into x, each an AUDIT naming the isolating policy.
      flows.stop();
      const lines = flows.records.map((r) => `${r.endpoint} ${r.verdict} ${r.reason} ${r.policy}`);
      if (!lines.some((l) => /^x\/. AUDIT default-deny NetworkPolicy x\/deny-ingress \(default deny\)$/.test(l))) {
        throw new Error(`no AUDIT event naming NetworkPolicy x/deny-ingress; got ${lines.length}:\n${lines.slice(0, 10).join('\n')}`);
      }
      const strays = flows.records.filter((r) => r.verdict !== 'AUDIT' || !r.endpoint.startsWith('x/'));
      if (strays.length > 0) throw new Error(`--verdict audit delivered other records: ${JSON.stringify(strays.slice(0, 3))}`);
      // Every flow the policy would drop is reported: the distinct (from, to, case) are the truth table's denied cells.
      const host = (hostPort: string): string => hostPort.replace(/:\d+$/, '');
      const port = (hostPort: string): string => /:(\d+)$/.exec(hostPort)?.[1] ?? '';
      const seen = new Set(flows.records.map((r) => `${host(r.source)}>${host(r.destination)}>${r.protocol}/${port(r.destination)}`));
      const predicted = new Set(PODS.flatMap((f) => PODS.filter((t) => t.ns === 'x' && podKey(t) !== podKey(f))
        .flatMap((t) => CASES.map((c) => `${podKey(f)}>${podKey(t)}>${caseKey(c)}`))));
      const missing = [...predicted].filter((k) => !seen.has(k));
      const extra = [...seen].filter((k) => !predicted.has(k));
      if (missing.length + extra.length > 0) throw new Error(`AUDIT events differ from the truth table: missing ${missing.slice(0, 5).join(', ')}; extra ${extra.slice(0, 5).join(', ')}`);
      ctx.note(`${flows.records.length} AUDIT events, e.g. ${flows.records[0] === undefined ? '-' : formatFlow(flows.records[0])}`);
      await audit(null);
      await ctx.expect('annotation removed: x isolated for ingress', (_f, t) => t.ns !== 'x');
    },
  },
  {
    name: 'deny-all egress in x (policyTypes must name Egress)',
    async run(ctx) {
      await ctx.apply(np('x', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] }));
      await ctx.expect('x isolated for egress', (f) => f.ns !== 'x');
    },
  },
  {
    name: 'allow to x/a from pod selector pod=b (own namespace only)',
    async run(ctx) {
      await ctx.apply(np('x', 'allow-from-b', { podSelector: sel({ pod: 'a' }), ingress: [{ from: [{ podSelector: sel({ pod: 'b' }) }] }] }));
      await ctx.expect('only x/b reaches x/a', (f, t) => !is(t, 'x/a') || is(f, 'x/b'));
    },
  },
  {
    name: 'allow to x/a from namespace selector ns=y',
    async run(ctx) {
      await ctx.apply(np('x', 'allow-from-y', { podSelector: sel({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: sel({ ns: 'y' }) }] }] }));
      await ctx.expect('only y/* reach x/a', (f, t) => !is(t, 'x/a') || f.ns === 'y');
    },
  },
  {
    name: 'namespaceSelector AND podSelector in one peer',
    async run(ctx) {
      await ctx.apply(np('x', 'allow-y-and-b', {
        podSelector: sel({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: sel({ ns: 'y' }), podSelector: sel({ pod: 'b' }) }] }],
      }));
      await ctx.expect('only y/b reaches x/a', (f, t) => !is(t, 'x/a') || is(f, 'y/b'));
    },
  },
  {
    name: 'namespaceSelector OR podSelector as two peers',
    async run(ctx) {
      await ctx.apply(np('x', 'allow-y-or-b', {
        podSelector: sel({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: sel({ ns: 'y' }) }, { podSelector: sel({ pod: 'b' }) }] }],
      }));
      await ctx.expect('y/* or x/b reach x/a', (f, t) => !is(t, 'x/a') || f.ns === 'y' || is(f, 'x/b'));
    },
  },
  {
    name: 'ports: ingress to x/a only on TCP 81',
    async run(ctx) {
      await ctx.apply(np('x', 'tcp-81', { podSelector: sel({ pod: 'a' }), ingress: [{ ports: [{ protocol: 'TCP', port: 81 }] }] }));
      await ctx.expect('x/a: TCP 81 only', (_f, t, c) => !is(t, 'x/a') || (tcp(c) && c.port === 81));
    },
  },
  {
    name: 'named ports on ingress: serve-81-udp and serve-80-tcp resolved on x/a',
    async run(ctx) {
      await ctx.apply(np('x', 'named', {
        podSelector: sel({ pod: 'a' }),
        ingress: [{ ports: [{ protocol: 'UDP', port: 'serve-81-udp' }, { port: 'serve-80-tcp' }] }],
      }));
      await ctx.expect('x/a: UDP 81 and TCP 80', (_f, t, c) => !is(t, 'x/a') || (udp(c) && c.port === 81) || (tcp(c) && c.port === 80));
    },
  },
  {
    name: 'named port on egress resolved on each destination pod; a name with the wrong protocol matches nothing',
    async run(ctx) {
      await ctx.apply(np('x', 'named-egress', {
        podSelector: sel({ pod: 'a' }), policyTypes: ['Egress'],
        // serve-80-udp is a UDP port: asking for it over TCP must not open TCP 80.
        egress: [{ ports: [{ protocol: 'TCP', port: 'serve-81-tcp' }, { protocol: 'TCP', port: 'serve-80-udp' }] }],
      }));
      await ctx.expect('x/a sends TCP 81 only', (f, _t, c) => !is(f, 'x/a') || (tcp(c) && c.port === 81));
    },
  },
  {
    name: 'endPort ranges: TCP 81-90 and UDP 70-80',
    async run(ctx) {
      await ctx.apply(np('x', 'ranges', {
        podSelector: sel({ pod: 'a' }),
        ingress: [{ ports: [{ protocol: 'TCP', port: 81, endPort: 90 }, { protocol: 'UDP', port: 70, endPort: 80 }] }],
      }));
      await ctx.expect('x/a: TCP 81 and UDP 80', (_f, t, c) => !is(t, 'x/a') || (tcp(c) && c.port === 81) || (udp(c) && c.port === 80));
    },
  },
  {
    name: 'ipBlock with except (a /24 holding every pod, minus y/b/32)',
    async run(ctx) {
      const cidr = slash24(ctx.ip('x/a'));
      await ctx.apply(np('x', 'ipblock', {
        podSelector: sel({ pod: 'a' }), ingress: [{ from: [{ ipBlock: { cidr, except: [`${ctx.ip('y/b')}/32`] } }] }],
      }));
      await ctx.expect('everyone but y/b reaches x/a', (f, t) => !is(t, 'x/a') || !is(f, 'y/b'));
    },
  },
  {
    name: 'an IP in one ipBlock\'s except but allowed by another peer is allowed',
    async run(ctx) {
      const cidr = slash24(ctx.ip('x/a'));
      await ctx.apply(np('x', 'ipblock-overlap', {
        podSelector: sel({ pod: 'a' }),
        ingress: [{ from: [{ ipBlock: { cidr, except: [`${ctx.ip('y/b')}/32`] } }, { ipBlock: { cidr: `${ctx.ip('y/b')}/32` } }] }],
      }));
      await ctx.expect('everyone reaches x/a', () => true);
    },
  },
  {
    name: 'egress ipBlock with except: x/a may not reach z/c',
    async run(ctx) {
      const cidr = slash24(ctx.ip('x/a'));
      await ctx.apply(np('x', 'egress-except', {
        podSelector: sel({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr, except: [`${ctx.ip('z/c')}/32`] } }] }],
      }));
      await ctx.expect('x/a reaches all but z/c', (f, t) => !is(f, 'x/a') || !is(t, 'z/c'));
    },
  },
  {
    name: 'both sides required: client egress deny wins over server ingress allow',
    async run(ctx) {
      await ctx.apply(
        np('x', 'a-no-egress', { podSelector: sel({ pod: 'a' }), policyTypes: ['Egress'] }),
        np('y', 'b-from-x', { podSelector: sel({ pod: 'b' }), ingress: [{ from: [{ namespaceSelector: sel({ ns: 'x' }) }] }] }),
      );
      await ctx.expect('x/a sends nothing; y/b hears x/b and x/c only', (f, t) => !is(f, 'x/a') && (!is(t, 'y/b') || f.ns === 'x'));
    },
  },
  {
    name: 'policies are additive: two allow-lists on x/a union',
    async run(ctx) {
      await ctx.apply(
        np('x', 'from-y', { podSelector: sel({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: sel({ ns: 'y' }) }] }] }),
        np('x', 'from-z-c', { podSelector: sel({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: sel({ ns: 'z' }), podSelector: sel({ pod: 'c' }) }] }] }),
      );
      await ctx.expect('y/* and z/c reach x/a', (f, t) => !is(t, 'x/a') || f.ns === 'y' || is(f, 'z/c'));
    },
  },
  {
    name: 'policy update reaches new flows and cuts an existing connection',
    async run(ctx) {
      const v1 = np('x', 'port-switch', { podSelector: sel({ pod: 'a' }), ingress: [{ ports: [{ protocol: 'TCP', port: 80 }] }] });
      await ctx.apply(v1);
      await ctx.expect('x/a: TCP 80 only', (_f, t, c) => !is(t, 'x/a') || (tcp(c) && c.port === 80));
      // A long-lived connection y/b -> x/a:80, allowed under v1, exchanging data every 200 ms.
      const hold = holdConnection(ctx.cluster, 'y/b', `tcp:${ctx.ip('x/a')}:80`);
      await hold.waitOk(3);
      const updatedAt = performance.now();
      await ctx.update(np('x', 'port-switch', { podSelector: sel({ pod: 'a' }), ingress: [{ ports: [{ protocol: 'TCP', port: 81 }] }] }));
      await ctx.expect('x/a: TCP 81 only after the update', (_f, t, c) => !is(t, 'x/a') || (tcp(c) && c.port === 81));
      const cutAfter = await hold.firstFailureAfter(updatedAt, 10_000);
      ctx.note(`existing connection y/b -> x/a:80 stopped passing ${cutAfter.toFixed(0)} ms after the update`);
    },
  },
  {
    name: 'a new pod selected by an existing policy is isolated from its first packet',
    async run(ctx) {
      await ctx.apply(np('x', 'new-pod', { podSelector: sel({ pod: 'd' }), ingress: [{ from: [{ podSelector: sel({ pod: 'b' }) }] }] }));
      // Give every agent time to see the policy: the claim is about the pod, not about the race with a new policy.
      await new Promise((r) => setTimeout(r, 1_000));
      const node = ctx.cluster.info('x/a').node;
      await ctx.cluster.createPod({ ns: 'x', pod: 'd' }, node);
      ctx.defer(() => ctx.cluster.deletePod('x/d'));
      const d = await ctx.cluster.waitRunning({ ns: 'x', pod: 'd' });
      // No server yet: an allowed SYN is answered with a reset ("refused"), a dropped one times out.
      const first = await ctx.cluster.runProbe('x/c', ['probe', '1000', `tcp:${d.ips.eth0}:80`, `udp:${d.ips.eth0}:80`], 10_000);
      const firstAllowed = await ctx.cluster.runProbe('x/b', ['probe', '1000', `tcp:${d.ips.eth0}:80`], 10_000);
      const verdicts = first.map((l) => `${l.spec} ${l.ok ? 'ok' : 'fail'} ${l.why}`).join('; ');
      if (first.some((l) => l.ok || (l.why !== 'timeout-connect' && l.why !== 'timeout-echo'))) throw new Error(`x/c reached the new pod x/d on its first packets: ${verdicts}\n${await ctx.cluster.agentView(new Set(['x/d', 'x/c']))}`);
      if (firstAllowed[0]?.why !== 'refused') throw new Error(`x/b should have reached x/d (reset from the closed port): ${JSON.stringify(firstAllowed)}`);
      await ctx.cluster.startServer('x/d');
      const sources = ['x/a', 'x/b', 'x/c', 'y/a', 'z/b'];
      const bad: string[] = [];
      for (const source of sources) {
        const lines = await ctx.cluster.runProbe(source, ['probe', '1000', `tcp:${d.ips.eth0}:80`, `udp:${d.ips.eth0}:81`], 10_000);
        for (const l of lines) if (l.ok !== (source === 'x/b')) bad.push(`${source} -> ${l.spec} ${l.ok ? 'ok' : l.why}`);
      }
      if (bad.length > 0) throw new Error(`new pod x/d: unexpected ${bad.join(', ')}`);
      await ctx.expect('the 3x3 matrix is untouched', () => true);
    },
  },
  {
    name: 'MultiNetworkPolicy on net1 and NetworkPolicy on eth0 stay on their own interface',
    usesNet1: true,
    async run(ctx) {
      await ctx.apply(
        { kind: 'MultiNetworkPolicy', namespace: 'x', name: 'net1-deny', policyFor: 'x/sec', spec: { podSelector: {}, policyTypes: ['Ingress'] } },
        np('y', 'eth0-deny', { podSelector: {}, policyTypes: ['Ingress'] }),
      );
      await ctx.expect('net1: x isolated', (_f, t) => t.ns !== 'x', 'net1');
      await ctx.expect('eth0: y isolated', (_f, t) => t.ns !== 'y', 'eth0');
    },
  },
  {
    name: 'MultiNetworkPolicy with a peer selector on net1',
    usesNet1: true,
    async run(ctx) {
      await ctx.apply({
        kind: 'MultiNetworkPolicy', namespace: 'z', name: 'net1-from-y', policyFor: 'z/sec',
        spec: { podSelector: sel({ pod: 'c' }), ingress: [{ from: [{ namespaceSelector: sel({ ns: 'y' }) }], ports: [{ protocol: 'UDP', port: 81 }] }] },
      });
      await ctx.expect('net1: z/c hears y/* on UDP 81 only', (f, t, c) => !is(t, 'z/c') || (f.ns === 'y' && udp(c) && c.port === 81), 'net1');
      await ctx.expect('eth0 untouched', () => true, 'eth0');
    },
  },
  {
    name: 'AdminNetworkPolicy Deny cannot be re-allowed by a NetworkPolicy',
    async run(ctx) {
      await ctx.apply(
        anp('deny-y-to-x', 10, 'x', [{ name: 'deny-y', action: 'Deny', from: [{ namespaces: sel({ ns: 'y' }) }] }]),
        np('x', 'allow-all', { podSelector: {}, ingress: [{}] }),
      );
      await ctx.expect('y cannot reach x', (f, t) => !(f.ns === 'y' && t.ns === 'x'));
    },
  },
  {
    name: 'AdminNetworkPolicy Allow cannot be denied by a NetworkPolicy',
    async run(ctx) {
      await ctx.apply(
        anp('allow-z-to-x', 5, 'x', [{ name: 'allow-z', action: 'Allow', from: [{ namespaces: sel({ ns: 'z' }) }] }]),
        np('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] }),
      );
      await ctx.expect('x hears only z', (f, t) => t.ns !== 'x' || f.ns === 'z');
    },
  },
  {
    name: 'AdminNetworkPolicy Pass skips lower-priority ANP rules and delegates to NetworkPolicy',
    async run(ctx) {
      await ctx.apply(
        anp('pass-y', 10, 'x', [{ name: 'pass-y', action: 'Pass', from: [{ namespaces: sel({ ns: 'y' }) }] }]),
        anp('deny-y-low', 20, 'x', [{ name: 'deny-y', action: 'Deny', from: [{ namespaces: sel({ ns: 'y' }) }] }]),
        np('x', 'a-from-y', { podSelector: sel({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: sel({ ns: 'y' }) }] }] }),
      );
      await ctx.expect('y reaches all of x; x/a hears only y', (f, t) => !is(t, 'x/a') || f.ns === 'y');
    },
  },
  {
    name: 'BaselineAdminNetworkPolicy denies only where no NetworkPolicy selects the pod',
    async run(ctx) {
      await ctx.apply(
        { kind: 'BaselineAdminNetworkPolicy', spec: { subject: { namespaces: sel({ ns: 'x' }) }, ingress: [{ name: 'deny-z', action: 'Deny', from: [{ namespaces: sel({ ns: 'z' }) }] }] } },
        np('x', 'a-from-z', { podSelector: sel({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: sel({ ns: 'z' }) }] }] }),
      );
      await ctx.expect('x/a hears only z; x/b and x/c hear all but z', (f, t) => (is(t, 'x/a') ? f.ns === 'z' : !(t.ns === 'x' && f.ns === 'z')));
    },
  },
  {
    name: 'ClusterNetworkPolicy Admin Deny on net1 (policy-for) blocks what a MultiNetworkPolicy allows',
    usesNet1: true,
    async run(ctx) {
      await ctx.apply(
        { kind: 'MultiNetworkPolicy', namespace: 'x', name: 'net1-allow-all', policyFor: 'x/sec', spec: { podSelector: {}, ingress: [{}] } },
        {
          kind: 'ClusterNetworkPolicy', name: 'net1-deny-y', policyFor: 'x/sec',
          spec: { tier: 'Admin', priority: 10, subject: { namespaces: sel({ ns: 'x' }) }, ingress: [{ name: 'deny-y', action: 'Deny', from: [{ namespaces: sel({ ns: 'y' }) }] }] },
        },
      );
      await ctx.expect('net1: y cannot reach x', (f, t) => !(f.ns === 'y' && t.ns === 'x'), 'net1');
      await ctx.expect('eth0: the policy-for CNP does not apply here', () => true, 'eth0');
    },
  },
  {
    name: 'ClusterNetworkPolicy Baseline Deny yields to a NetworkPolicy allow',
    async run(ctx) {
      await ctx.apply(
        {
          kind: 'ClusterNetworkPolicy', name: 'baseline-deny-z',
          spec: { tier: 'Baseline', priority: 10, subject: { namespaces: sel({ ns: 'x' }) }, ingress: [{ name: 'deny-z', action: 'Deny', from: [{ namespaces: sel({ ns: 'z' }) }] }] },
        },
        np('x', 'a-from-z', { podSelector: sel({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: sel({ ns: 'z' }) }] }] }),
      );
      await ctx.expect('x/a hears only z; x/b and x/c hear all but z', (f, t) => (is(t, 'x/a') ? f.ns === 'z' : !(t.ns === 'x' && f.ns === 'z')));
    },
  },
  {
    name: 'policyTypes [Egress] ignores the ingress section',
    async run(ctx) {
      await ctx.apply(np('x', 'egress-only', {
        podSelector: sel({ pod: 'a' }), policyTypes: ['Egress'],
        ingress: [{ from: [{ podSelector: sel({ pod: 'nobody' }) }] }],
        egress: [{ to: [{ namespaceSelector: sel({ ns: 'y' }) }] }],
      }));
      await ctx.expect('x/a sends only to y; receives from all', (f, t) => !is(f, 'x/a') || t.ns === 'y');
    },
  },
  {
    name: 'policyTypes defaulting: an egress section without policyTypes isolates both directions',
    async run(ctx) {
      await ctx.apply(np('x', 'defaulted', { podSelector: sel({ pod: 'a' }), egress: [{ to: [{ namespaceSelector: sel({ ns: 'z' }) }] }] }));
      await ctx.expect('x/a hears nobody and sends only to z', (f, t) => !is(t, 'x/a') && (!is(f, 'x/a') || t.ns === 'z'));
    },
  },
  {
    name: 'matchExpressions in the pod selector and in a peer; unselected pods stay open',
    async run(ctx) {
      await ctx.apply(np('y', 'exprs', {
        podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['a', 'b'] }] },
        ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['c'] }] } }] }],
      }));
      await ctx.expect('y/a, y/b hear every a and b; y/c open', (f, t) => !(t.ns === 'y' && t.pod !== 'c') || f.pod !== 'c');
    },
  },
  {
    name: 'a policy selecting no pod changes nothing (default allow)',
    async run(ctx) {
      await ctx.apply(np('x', 'selects-nothing', { podSelector: sel({ pod: 'nobody' }), policyTypes: ['Ingress', 'Egress'] }));
      await ctx.expect('all allowed', () => true);
    },
  },
  {
    name: 'UDP-only and port-only rules',
    async run(ctx) {
      await ctx.apply(
        np('x', 'udp-only', { podSelector: sel({ pod: 'a' }), ingress: [{ ports: [{ protocol: 'UDP' }] }] }),
        np('x', 'port-80-any-ns', { podSelector: sel({ pod: 'b' }), ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 80 }] }] }),
      );
      await ctx.expect('x/a: UDP only; x/b: TCP 80 only', (_f, t, c) =>
        is(t, 'x/a') ? udp(c) : is(t, 'x/b') ? tcp(c) && c.port === 80 : true);
    },
  },
  {
    name: 'SCTP is not TCP: an SCTP 80 rule opens no TCP or UDP port',
    async run(ctx) {
      await ctx.apply(np('x', 'sctp', { podSelector: sel({ pod: 'a' }), ingress: [{ ports: [{ protocol: 'SCTP', port: 80 }] }] }));
      await ctx.expect('x/a closed on TCP and UDP', (_f, t) => !is(t, 'x/a'));
    },
  },
  {
    name: 'namespace and pod label changes reach existing policies',
    async run(ctx) {
      await ctx.apply(np('x', 'from-blue', {
        podSelector: sel({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: sel({ team: 'blue' }) }, { namespaceSelector: {}, podSelector: sel({ role: 'probe' }) }] }],
      }));
      await ctx.expect('x/a hears nobody', (_f, t) => !is(t, 'x/a'));
      ctx.defer(() => ctx.cluster.labelNamespace('y', { team: null }));
      await ctx.cluster.labelNamespace('y', { team: 'blue' });
      await ctx.expect('x/a hears y after labelling y team=blue', (f, t) => !is(t, 'x/a') || f.ns === 'y');
      ctx.defer(() => ctx.cluster.labelPod('z/c', { role: null }));
      await ctx.cluster.labelPod('z/c', { role: 'probe' });
      await ctx.expect('... and z/c after labelling it role=probe', (f, t) => !is(t, 'x/a') || f.ns === 'y' || is(f, 'z/c'));
      await ctx.cluster.labelNamespace('y', { team: null });
      await ctx.expect('y loses access when the label goes', (f, t) => !is(t, 'x/a') || is(f, 'z/c'));
    },
  },
  {
    name: 'deleting a policy restores traffic',
    async run(ctx) {
      const deny = np('z', 'deny-both', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      await ctx.apply(deny);
      await ctx.expect('z cut off both ways', (f, t) => f.ns !== 'z' && t.ns !== 'z');
      await ctx.remove(deny);
      await ctx.expect('z restored', () => true);
    },
  },
];

function slash24(ip: string): string {
  const parts = ip.split('.');
  return `${parts.slice(0, 3).join('.')}.0/24`;
}

/** A long-lived TCP connection from a pod, one echo exchange every 200 ms, observed line by line. */
function holdConnection(cluster: E2eCluster, from: string, spec: string) {
  const child = cluster.spawnInPod(from, [cluster.netprobe, 'hold', '500', '200', '20000', spec]);
  const events: Array<{ at: number; ok: boolean; why: string }> = [];
  let buffer = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const [, , verdict, why = ''] = buffer.slice(0, nl).split(' ');
      buffer = buffer.slice(nl + 1);
      events.push({ at: performance.now(), ok: verdict === 'ok', why: verdict === 'ok' ? '' : why });
    }
  });
  const poll = async (done: () => boolean, timeoutMs: number, what: string) => {
    const deadline = performance.now() + timeoutMs;
    while (!done()) {
      if (performance.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`long-lived connection ${from} -> ${spec}: ${what} (events: ${JSON.stringify(events.slice(-5))})`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    async waitOk(n: number) {
      await poll(() => events.filter((e) => e.ok).length >= n, 5_000, `never exchanged ${n} echoes`);
    },
    async firstFailureAfter(t: number, boundMs: number): Promise<number> {
      await poll(() => events.some((e) => e.at > t && !e.ok), boundMs, `still passing ${boundMs} ms after the update`);
      child.kill('SIGKILL');
      const first = events.find((e) => e.at > t && !e.ok);
      return (first?.at ?? t) - t;
    },
  };
}

export type { PodRef };
