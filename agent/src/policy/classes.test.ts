/**
 * Identity classes (classes.ts): a wide peer costs one entry per rule whatever the cluster's size,
 * and still decides exactly the flows the per-identity expansion decided. Verdicts are asked of the
 * evaluator over the compiled state (the same lookups the datapath makes, evaluate.ts).
 */
import { describe, expect, it } from 'vitest';
import { CLUSTER_IDENTITY, isNamespaceClass, type DesiredEndpoint } from '../datapath/desired.js';
import { PolicyCompiler } from './compile.js';
import { parseNamespace, parsePod } from './model.js';
import { anp, clusterState, compileCluster, deniedPairs, must, np, probe, rawPod } from './testkit.js';

const endpoint = (c: PolicyCompiler, ns: string, pod: string): DesiredEndpoint => {
  const ep = c.compileEndpoint({ namespace: ns, pod, interface: 'eth0' });
  if (ep === undefined) throw new Error(`no endpoint ${ns}/${pod}`);
  return ep;
};
const ingress = (ep: DesiredEndpoint): number[] => ep.entries.filter((e) => e.direction === 'ingress').map((e) => e.identity);

/** 200 more pods in namespace y, each with its own labels (its own identity). */
const crowd = (c: PolicyCompiler): void => {
  for (let i = 0; i < 200; i++) {
    c.upsertPod(must(parsePod(rawPod('y', `crowd-${i}`, `10.2.${1 + (i >> 8)}.${i & 255}`, { labels: { replica: String(i) } }))));
  }
};

describe('identity classes for wide peers', () => {
  it('namespaceSelector {} is one cluster-class entry, and pods joining the cluster change no entry', () => {
    const c = new PolicyCompiler().load(clusterState({ nps: [np('x', 'all-pods', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] })] }));
    const before = ingress(endpoint(c, 'x', 'a'));
    expect(before).toEqual([CLUSTER_IDENTITY]);
    crowd(c);
    expect(ingress(endpoint(c, 'x', 'a'))).toEqual([CLUSTER_IDENTITY]);
    const st = compileCluster(c);
    expect(deniedPairs(st, 80)).toEqual([]);
    // Only pods are in the class: an address no pod holds is still default-denied.
    expect(probe(st, '172.20.0.9', 'x/a', 80).verdict).toBe('deny');
  });

  it('podSelector {} (same namespace) is one namespace-class entry for that namespace only', () => {
    const c = new PolicyCompiler().load(clusterState({ nps: [np('x', 'same-ns', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] })] }));
    const ids = ingress(endpoint(c, 'x', 'a'));
    expect(ids).toHaveLength(1);
    expect(ids.every(isNamespaceClass)).toBe(true);
    const st = compileCluster(c);
    expect(probe(st, 'x/b', 'x/a', 80).verdict).toBe('allow');
    expect(probe(st, 'y/b', 'x/a', 80).verdict).toBe('deny');
    expect(c.describeIdentity(ids[0] ?? 0)).toBe('every pod of namespace x');
  });

  it('a namespace selector is one class per matching namespace, and follows a relabel', () => {
    const c = new PolicyCompiler().load(clusterState({ nps: [np('x', 'from-y', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'blue' } } }] }] })] }));
    c.upsertNamespace(must(parseNamespace({ metadata: { name: 'y', labels: { team: 'blue' } } })));
    expect(ingress(endpoint(c, 'x', 'a'))).toHaveLength(1);
    crowd(c);
    expect(ingress(endpoint(c, 'x', 'a'))).toHaveLength(1);
    let st = compileCluster(c);
    expect(probe(st, 'y/c', 'x/a', 80).verdict).toBe('allow');
    expect(probe(st, 'z/c', 'x/a', 80).verdict).toBe('deny');
    c.upsertNamespace(must(parseNamespace({ metadata: { name: 'z', labels: { team: 'blue' } } })));
    expect(ingress(endpoint(c, 'x', 'a'))).toHaveLength(2);
    st = compileCluster(c);
    expect(probe(st, 'z/c', 'x/a', 80).verdict).toBe('allow');
  });

  it('a selector on pods still names identities one by one', () => {
    const c = new PolicyCompiler().load(clusterState({ nps: [np('x', 'only-b', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'b' } } }] }] })] }));
    const ids = ingress(endpoint(c, 'x', 'a'));
    expect(ids.some((i) => isNamespaceClass(i) || i === CLUSTER_IDENTITY)).toBe(false);
    expect(deniedPairs(compileCluster(c), 80).filter((p) => p.endsWith('>x/a'))).toEqual(['x/c>x/a', 'y/a>x/a', 'y/c>x/a', 'z/a>x/a', 'z/c>x/a']);
  });

  it('egress to a named port of every pod resolves per destination identity, not by class', () => {
    const c = new PolicyCompiler().load(clusterState({ nps: [np('x', 'named', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'serve-80-tcp' }] }] })] }));
    const eg = endpoint(c, 'x', 'a').entries.filter((e) => e.direction === 'egress');
    expect(eg.some((e) => e.identity === CLUSTER_IDENTITY)).toBe(false);
    const st = compileCluster(c);
    expect(probe(st, 'x/a', 'z/b', 80).verdict).toBe('allow');
    expect(probe(st, 'x/a', 'z/b', 81).verdict).toBe('deny');
  });

  it('admin tier: a class Deny and an exact Allow of higher priority keep their order', () => {
    const c = new PolicyCompiler().load(clusterState({
      anps: [
        anp('allow-yb', 1, { subject: { namespaces: { matchLabels: { ns: 'x' } } }, ingress: [{ action: 'Allow', from: [{ pods: { namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } } }] }] }),
        anp('deny-y', 2, { subject: { namespaces: { matchLabels: { ns: 'x' } } }, ingress: [{ action: 'Deny', from: [{ namespaces: { matchLabels: { ns: 'y' } } }] }] }),
      ],
    }));
    crowd(c);
    const st = compileCluster(c);
    expect(probe(st, 'y/b', 'x/a', 80).verdict).toBe('allow');
    expect(probe(st, 'y/a', 'x/a', 80).verdict).toBe('deny');
    expect(probe(st, 'z/a', 'x/a', 80).verdict).toBe('allow');
    // Two admin entries per subject endpoint: y's class, and y/b's identity.
    expect(ingress(endpoint(c, 'x', 'a'))).toHaveLength(2);
  });
});
