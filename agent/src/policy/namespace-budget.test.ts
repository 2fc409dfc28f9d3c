/**
 * Issue 13, finding 4: a tenant's ipBlock flood cannot fill the node-wide ipcache. Verdicts come
 * from the real compiler and evaluator over the 3×3 test cluster (testkit.ts).
 */
import { Counter, Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { PolicyCompiler } from './compile.js';
import { PolicyIntake } from './intake.js';
import { NamespaceCidrBudget } from './namespace-budget.js';
import { anp, clusterState, compileCluster, deniedPairs, np, RecordedObjectEvents } from './testkit.js';

const LIMIT = 8;
let compiler: PolicyCompiler;
let intake: PolicyIntake;
let events: RecordedObjectEvents;
let registry: Registry;

beforeEach(() => {
  compiler = new PolicyCompiler().load(clusterState());
  events = new RecordedObjectEvents();
  registry = new Registry();
  const parseErrors = new Counter({ name: 'weir_object_parse_errors_total', help: 'h', labelNames: ['resource'], registers: [registry] });
  const log = { info: () => undefined, warn: () => undefined };
  intake = new PolicyIntake({ target: compiler, log, events, parseErrors, registry, ipBlockCidrsPerNamespace: LIMIT });
});

/** The k-th /32 of 198.18.0.0/15 (the benchmarking range: no pod has one). */
const host = (k: number): string => `198.${18 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}/32`;
/** An ingress allow-list for every pod of `ns` naming `n` distinct /32 CIDRs from the `first`-th. */
const blocks = (ns: string, name: string, n: number, first = 1): unknown => np(ns, name, {
  podSelector: {}, ingress: [{ from: Array.from({ length: n }, (_, i) => ({ ipBlock: { cidr: host(first + i) } })) }],
});
const denied = (): string[] => deniedPairs(compileCluster(compiler), 80);
/** Denied pairs "from>to" whose destination is in `ns`. */
const intoNs = (ns: string): string[] => denied().filter((p) => p.split('>')[1]?.startsWith(`${ns}/`) === true);
const ipcacheCidrs = (): number => compiler.ipcache().filter((e) => e.cidr.startsWith('198.18.') || e.cidr.startsWith('198.19.')).length;

describe('per-namespace ipBlock budget', () => {
  it('within the limit: admitted and enforced; the same CIDRs in two policies count once', () => {
    intake.apply('networkpolicy', 'upsert', blocks('x', 'a', 5));
    intake.apply('networkpolicy', 'upsert', blocks('x', 'b', 8)); // 192.0.2.1-8: the union is 8
    expect(events.events).toEqual([]);
    expect(ipcacheCidrs()).toBe(8);
    expect(intoNs('x').length).toBeGreaterThan(0); // x is isolated: only those addresses may enter
  });

  it('a flood over the limit is refused alone: its pods are isolated (fail closed), other namespaces keep their CIDRs', async () => {
    intake.apply('networkpolicy', 'upsert', blocks('y', 'ok', 4, 100));
    intake.apply('networkpolicy', 'upsert', blocks('x', 'flood', 5000));
    expect(ipcacheCidrs()).toBe(4); // only y's: the flood wrote nothing
    // x is isolated by the refused policy's fallback: no other pod (8) reaches any of x's 3 pods.
    expect(intoNs('x').length).toBe(8 * 3);
    const [e] = events.events;
    expect(e?.reason).toBe('WeirNamespaceLimitExceeded');
    expect(e?.object).toMatchObject({ kind: 'NetworkPolicy', namespace: 'x', name: 'flood' });
    expect(e?.message).toMatch(/namespace x's policies would name 5000 distinct ipBlock CIDRs \(this policy 5000\), over the limit of 8 per namespace \(agent\.policy\.ipBlockCidrsPerNamespace\)/);
    expect(e?.message).toMatch(/isolates the pods it selects: default deny for ingress, until the namespace's policies fit$/);
    expect(await registry.metrics()).toMatch(/weir_agent_policy_namespace_limit_refusals\{namespace="x"\} 1/);
    expect(intake.fallbacks().get('NetworkPolicy x/flood')).toBe('isolated');
  });

  it('an update over the limit keeps the last admitted version; freeing room admits the waiting policy', async () => {
    intake.apply('networkpolicy', 'upsert', blocks('x', 'a', 6));
    intake.apply('networkpolicy', 'upsert', blocks('x', 'a', 9)); // over: keeps the 6
    expect(intake.fallbacks().get('NetworkPolicy x/a')).toBe('last-good');
    expect(ipcacheCidrs()).toBe(6);
    intake.apply('networkpolicy', 'upsert', blocks('x', 'b', 4, 50)); // 6 + 4 > 8: waits, isolated
    expect(intake.fallbacks().get('NetworkPolicy x/b')).toBe('isolated');
    intake.apply('networkpolicy', 'upsert', blocks('x', 'a', 2)); // a shrinks: b fits now (2 + 4)
    expect(intake.fallbacks().size).toBe(0);
    expect(ipcacheCidrs()).toBe(6);
    expect(await registry.metrics()).not.toMatch(/weir_agent_policy_namespace_limit_refusals\{/);
    intake.apply('networkpolicy', 'upsert', blocks('x', 'c', 3, 80)); // 2 + 4 + 3 > 8
    expect(intake.fallbacks().get('NetworkPolicy x/c')).toBe('isolated');
    intake.apply('networkpolicy', 'delete', blocks('x', 'b', 4, 50)); // room again: c is admitted
    expect(intake.fallbacks().size).toBe(0);
    expect(ipcacheCidrs()).toBe(5);
  });

  it('cluster-scoped policies (the administrator\'s) have no budget', () => {
    const many = Array.from({ length: 20 }, (_, i) => host(i + 1));
    intake.apply('adminnetworkpolicy', 'upsert', anp('wide', 10, { subject: { namespaces: {} }, egress: [{ name: 'r', action: 'Allow', to: [{ networks: many }] }] }));
    expect(events.events).toEqual([]);
    expect(ipcacheCidrs()).toBe(20);
  });

  it('the budget counts except CIDRs and refuses without touching what was admitted', () => {
    const b = new NamespaceCidrBudget(3);
    expect(b.admit('x', 'p', new Set(['10.0.0.0/8', '10.1.0.0/16']))).toEqual({ ok: true });
    expect(b.admit('x', 'q', new Set(['10.2.0.0/16', '10.3.0.0/16']))).toEqual({ ok: false, total: 4, own: 2 });
    expect(b.admit('y', 'q', new Set(['10.2.0.0/16', '10.3.0.0/16', '10.4.0.0/16']))).toEqual({ ok: true });
    expect(b.admit('x', 'p', new Set(['10.0.0.0/8']))).toEqual({ ok: true });
    expect(b.admit('x', 'q', new Set(['10.2.0.0/16', '10.3.0.0/16']))).toEqual({ ok: true });
  });
});
