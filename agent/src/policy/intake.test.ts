/**
 * Issue 12: a policy object that fails to parse must not fail open. Verdicts are read from the real
 * compiler and evaluator over a 3×3 cluster (testkit.ts): which pod pairs are denied.
 */
import { Counter, Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { PolicyCompiler } from './compile.js';
import { PolicyIntake, type PolicyResource } from './intake.js';
import { anp, banp, clusterState, compileCluster, deniedPairs, mnp, np, NAMESPACES, PODS, RecordedObjectEvents } from './testkit.js';

const lines: string[] = [];
const log = { info: (_o: object, m: string) => lines.push(m), warn: (_o: object, m: string) => lines.push(m) };

let compiler: PolicyCompiler;
let intake: PolicyIntake;
let events: RecordedObjectEvents;
let registry: Registry;

beforeEach(() => {
  compiler = new PolicyCompiler().load(clusterState());
  events = new RecordedObjectEvents();
  registry = new Registry();
  const parseErrors = new Counter({ name: 'weir_object_parse_errors_total', help: 'h', labelNames: ['resource'], registers: [registry] });
  intake = new PolicyIntake({ target: compiler, log, events, parseErrors, registry });
  lines.length = 0;
});

const upsert = (resource: PolicyResource, object: unknown): void => intake.apply(resource, 'upsert', object);
const denied = (port = 80): string[] => deniedPairs(compileCluster(compiler), port);
/** Every ordered pair of distinct pods matching the two predicates, as deniedPairs writes them. */
function pairs(from: (ns: string, pod: string) => boolean, to: (ns: string, pod: string) => boolean): string[] {
  const all = NAMESPACES.flatMap((n) => PODS.map((p) => [n, p] as const));
  const out: string[] = [];
  for (const [fn, fp] of all) for (const [tn, tp] of all) if (`${fn}/${fp}` !== `${tn}/${tp}` && from(fn, fp) && to(tn, tp)) out.push(`${fn}/${fp}>${tn}/${tp}`);
  return out.sort();
}
const anyPod = (): boolean => true;
const inNs = (ns: string) => (n: string): boolean => n === ns;
const metric = async (): Promise<string> => registry.metrics();

const denyYtoX = (extraRules: unknown[] = []): unknown => anp('deny-y-to-x', 10, {
  subject: { namespaces: { matchLabels: { ns: 'x' } } },
  ingress: [{ name: 'no-y', action: 'Deny', from: [{ namespaces: { matchLabels: { ns: 'y' } } }] }, ...extraRules],
});

describe('a policy that stops parsing keeps its last good version', () => {
  it('an AdminNetworkPolicy Deny keeps denying, with a Warning Event and metrics', async () => {
    upsert('adminnetworkpolicy', denyYtoX());
    const before = denied();
    expect(before).toEqual(pairs(inNs('y'), inNs('x')));

    upsert('adminnetworkpolicy', denyYtoX([{ name: 'typo', action: 'Drop', from: [{ namespaces: {} }] }]));
    expect(denied()).toEqual(before);
    expect(events.events).toEqual([{
      object: { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', namespace: undefined, name: 'deny-y-to-x', uid: '' },
      reason: 'WeirPolicyUnreadable',
      message: 'AdminNetworkPolicy deny-y-to-x does not parse (spec.ingress[1].action: must be Allow, Deny or Pass); Weir keeps enforcing its last good version until these fields are fixed',
    }]);
    expect(intake.fallbacks()).toEqual(new Map([['AdminNetworkPolicy deny-y-to-x', 'last-good']]));
    expect(await metric()).toContain('weir_agent_policy_parse_fallbacks{resource="adminnetworkpolicy",fallback="last-good"} 1');
    expect(await metric()).toContain('weir_object_parse_errors_total{resource="adminnetworkpolicy"} 1');

    // The same broken object again (a re-list) is counted but not announced twice.
    upsert('adminnetworkpolicy', denyYtoX([{ name: 'typo', action: 'Drop', from: [{ namespaces: {} }] }]));
    expect(events.events).toHaveLength(1);

    // Fixed: enforced as written (now also denying z), and no longer reported.
    upsert('adminnetworkpolicy', denyYtoX([{ name: 'no-z', action: 'Deny', from: [{ namespaces: { matchLabels: { ns: 'z' } } }] }]));
    expect(denied()).toEqual([...pairs(inNs('y'), inNs('x')), ...pairs(inNs('z'), inNs('x'))].sort());
    expect(intake.fallbacks().size).toBe(0);
    expect(await metric()).not.toContain('weir_agent_policy_parse_fallbacks{');
  });

  it('a NetworkPolicy keeps isolating with its last good allow-list', () => {
    upsert('networkpolicy', np('x', 'only-from-y', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] }));
    const before = denied();
    expect(before).toEqual(pairs((n) => n !== 'y', inNs('x')));
    upsert('networkpolicy', np('x', 'only-from-y', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] }));
    expect(denied()).toEqual(before);
    expect(events.events[0]?.message).toContain('spec.ingress[0].from[0].ipBlock.cidr: "10.0.0.0/33" is not a CIDR');
  });

  it('deleting the broken object removes what was kept', () => {
    upsert('adminnetworkpolicy', denyYtoX());
    upsert('adminnetworkpolicy', denyYtoX([{ action: 'Drop' }]));
    intake.apply('adminnetworkpolicy', 'delete', denyYtoX([{ action: 'Drop' }]));
    expect(denied()).toEqual([]);
    expect(intake.fallbacks().size).toBe(0);
  });
});

describe('a policy that never parsed isolates its subjects', () => {
  it('NetworkPolicy: the pods it selects are default-deny in its directions', () => {
    upsert('networkpolicy', np('x', 'broken', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ ipBlock: { cidr: 'nope' } }] }] }));
    expect(denied()).toEqual(pairs(anyPod, (n, p) => n === 'x' && p === 'a'));
    expect(intake.fallbacks()).toEqual(new Map([['NetworkPolicy x/broken', 'isolated']]));
    expect(events.events[0]?.message).toBe(
      'NetworkPolicy x/broken does not parse (spec.ingress[0].from[0].ipBlock.cidr: "nope" is not a CIDR); Weir isolates the pods it selects: default deny for ingress, until these fields are fixed',
    );
    expect(events.events[0]?.object).toMatchObject({ kind: 'NetworkPolicy', namespace: 'x', name: 'broken' });
  });

  it('NetworkPolicy with an unreadable podSelector: every pod of its namespace, egress too when declared', () => {
    upsert('networkpolicy', np('x', 'bad-selector', { podSelector: 'pod=a', policyTypes: ['Egress'] }));
    expect(denied()).toEqual(pairs(inNs('x'), anyPod));
    expect(events.events[0]?.message).toContain('Weir isolates every pod of namespace x (its spec.podSelector cannot be read): default deny for egress, until');
    upsert('networkpolicy', np('y', 'bad-types', { podSelector: {}, policyTypes: ['Ingres'] }));
    expect(events.events[1]?.message).toContain('Weir isolates the pods it selects: default deny for ingress and egress, until');
    // Unreadable policyTypes: both directions.
    expect(denied()).toEqual([...new Set([...pairs(inNs('x'), anyPod), ...pairs(inNs('y'), anyPod), ...pairs(anyPod, inNs('y'))])].sort());
  });

  it('AdminNetworkPolicy: Deny every peer at its priority (a stronger Allow still wins; NetworkPolicy cannot undo it)', () => {
    upsert('networkpolicy', np('z', 'allow-all', { podSelector: {}, ingress: [{}] }));
    upsert('adminnetworkpolicy', anp('allow-y-to-z', 1, {
      subject: { namespaces: { matchLabels: { ns: 'z' } } },
      ingress: [{ name: 'y', action: 'Allow', from: [{ namespaces: { matchLabels: { ns: 'y' } } }] }],
    }));
    upsert('adminnetworkpolicy', anp('broken', 20, {
      subject: { namespaces: { matchLabels: { ns: 'z' } } },
      ingress: [{ name: 'r', action: 'Deny', from: [{ namespaces: { matchLabels: { ns: 'x' } } }], ports: [{ portNumber: { port: 99999 } }] }],
    }));
    const ingressToZ = pairs((n) => n !== 'y', inNs('z'));
    const egressFromZ = pairs(inNs('z'), (n) => n !== 'z');
    expect(denied()).toEqual([...new Set([...ingressToZ, ...egressFromZ])].sort());
    expect(intake.fallbacks()).toEqual(new Map([['AdminNetworkPolicy broken', 'isolated']]));
    expect(events.events[0]?.message).toContain('Weir isolates its subjects: Deny of every peer, ingress and egress, at priority 20, until');
  });

  it('BaselineAdminNetworkPolicy: baseline Deny of every peer, which a NetworkPolicy allow overrides as usual', () => {
    upsert('networkpolicy', np('x', 'allow-from-y', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] }));
    upsert('baselineadminnetworkpolicy', banp({ subject: { namespaces: { matchLabels: { ns: 'x' } } }, ingress: [{ action: 'Pass', from: [] }] }));
    const egressFromX = pairs(inNs('x'), anyPod);
    expect(denied()).toEqual([...new Set([...pairs((n) => n !== 'y', inNs('x')), ...egressFromX])].sort());
    expect(intake.fallbacks()).toEqual(new Map([['BaselineAdminNetworkPolicy default', 'isolated']]));
  });

  it('an AdminNetworkPolicy whose subject cannot be read is not enforced, and says so', async () => {
    upsert('adminnetworkpolicy', anp('no-subject', 5, { subject: { everything: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] }));
    expect(denied()).toEqual([]);
    expect(intake.fallbacks()).toEqual(new Map([['AdminNetworkPolicy no-subject', 'not-enforced']]));
    expect(events.events[0]?.message).toBe(
      'AdminNetworkPolicy no-subject does not parse (spec.subject: must set namespaces or pods); Weir cannot tell what it selects, so it is NOT enforced until these fields are fixed',
    );
    expect(await metric()).toContain('weir_agent_policy_parse_fallbacks{resource="adminnetworkpolicy",fallback="not-enforced"} 1');
    expect(lines).toContain(events.events[0]?.message);
  });

  it('MultiNetworkPolicy: isolates the secondary interfaces its policy-for names; without a readable policy-for it is not enforced', () => {
    compiler = new PolicyCompiler().load(clusterState({ podOpts: () => ({ secondary: true }) }));
    intake = new PolicyIntake({ target: compiler, log, events, parseErrors: new Counter({ name: 'c', help: 'h', labelNames: ['resource'], registers: [] }), registry: new Registry() });
    const net1 = (pod: string) => compiler.compileEndpoint({ namespace: 'x', pod, interface: 'net1' });
    upsert('multinetworkpolicy', mnp('x', 'broken', 'x/macnet', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ port: 0 }] }] }));
    expect([net1('a')?.isolatedIngress, net1('b')?.isolatedIngress]).toEqual([true, false]);
    expect(compiler.compileEndpoint({ namespace: 'x', pod: 'a', interface: 'eth0' })?.isolatedIngress).toBe(false);
    const noTarget = mnp('x', 'no-target', '', { podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] });
    upsert('multinetworkpolicy', noTarget);
    expect(net1('b')?.isolatedIngress).toBe(false);
    expect(intake.fallbacks()).toEqual(new Map([['MultiNetworkPolicy x/broken', 'isolated'], ['MultiNetworkPolicy x/no-target', 'not-enforced']]));
    expect(events.events[1]?.message).toContain('metadata.annotations["k8s.v1.cni.cncf.io/policy-for"]: is required');
  });
});
