/**
 * Audit policies (issue 17): a policy annotated weir.dev/enforcement: audit is compiled into the
 * audit keyspaces and never enforced. Attacked through the truth table over the netpol model: with
 * the policy in audit, the enforced verdicts are exactly those of the cluster WITHOUT it, and the
 * what-if verdicts (the evaluator's auditPolicies, which mirrors the datapath's weir_whatif_eval)
 * are exactly those of the cluster WITH it enforced.
 */
import { describe, expect, it } from 'vitest';
import { NS_ENFORCEMENT } from '../../../common/src/annotations.js';
import { encodePolicyKey, decodePolicyKey } from '../datapath/codec.js';
import type { DesiredNodeState } from '../datapath/desired.js';
import { PolicyCompiler } from './compile.js';
import { parseNetworkPolicy } from './model.js';
import { NAMESPACES, PODS, anp, banp, clusterState, cnp, compileCluster, mnp, np, probe, type Objects } from './testkit.js';

/** The object with weir.dev/enforcement set. */
function annotated(obj: unknown, value: string): unknown {
  const o = obj as { metadata: { annotations?: Record<string, string> } };
  return { ...o, metadata: { ...o.metadata, annotations: { ...(o.metadata.annotations ?? {}), [NS_ENFORCEMENT]: value } } };
}
const audit = (obj: unknown): unknown => annotated(obj, 'audit');

const compile = (o: Objects): DesiredNodeState => compileCluster(new PolicyCompiler().load(clusterState(o)));

const ALL = NAMESPACES.flatMap((n) => PODS.map((p) => `${n}/${p}`));

/** Denied pairs of the 9×9 table, as enforced or as the what-if (audit policies enforced) says. */
function denied(state: DesiredNodeState, port: number, whatIf: boolean, iface = ''): string[] {
  const out: string[] = [];
  for (const f of ALL) {
    for (const t of ALL) {
      if (f === t) continue;
      const r = probe(state, `${f}${iface}`, `${t}${iface}`, port);
      const verdict = whatIf ? r.auditPolicies?.verdict ?? r.verdict : r.verdict;
      if (verdict === 'deny') out.push(`${f}>${t}`);
    }
  }
  return out;
}

const denyIngressX = np('x', 'deny-in', { podSelector: {} });
const allowYtoXa = np('x', 'allow-y', {
  podSelector: { matchLabels: { pod: 'a' } },
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 80, protocol: 'TCP' }] }],
});
const anpDenyZ = anp('deny-z', 10, {
  subject: { namespaces: { matchLabels: { ns: 'x' } } },
  ingress: [{ name: 'z', action: 'Deny', from: [{ namespaces: { matchLabels: { ns: 'z' } } }] }],
});
const cnpDenyZ = cnp('deny-z', 'Admin', 10, {
  subject: { namespaces: { matchLabels: { ns: 'x' } } },
  ingress: [{ name: 'z', action: 'Deny', from: [{ namespaces: { matchLabels: { ns: 'z' } } }] }],
});
const banpDenyY = banp({
  subject: { namespaces: {} },
  egress: [{ name: 'y', action: 'Deny', to: [{ namespaces: { matchLabels: { ns: 'y' } } }] }],
});

interface Case {
  name: string;
  /** The cluster's policies, with the one under test passed through `wrap` (enforced, absent or in audit). */
  with: (wrap: (o: unknown) => unknown) => Objects;
}

const cases: Case[] = [
  { name: 'NetworkPolicy deny-all (would drop: isolation)', with: (w) => ({ nps: [w(denyIngressX)] }) },
  { name: 'NetworkPolicy allow over an enforced deny-all (would allow)', with: (w) => ({ nps: [denyIngressX, w(allowYtoXa)] }) },
  { name: 'NetworkPolicy isolating and allowing, over nothing (would drop, except what it allows)', with: (w) => ({ nps: [w(allowYtoXa)] }) },
  { name: 'AdminNetworkPolicy Deny', with: (w) => ({ nps: [allowYtoXa], anps: [w(anpDenyZ)] }) },
  { name: 'ClusterNetworkPolicy Admin-tier Deny', with: (w) => ({ cnps: [w(cnpDenyZ)] }) },
  { name: 'BaselineAdminNetworkPolicy Deny', with: (w) => ({ banp: w(banpDenyY) }) },
];

describe('audit policies: compiled, evaluated, never enforced', () => {
  for (const c of cases) {
    it(`${c.name}: enforced table = without it; what-if table = with it enforced`, () => {
      const without = compile(stripUndefined(c.with(() => undefined)));
      const enforced = compile(c.with((o) => o));
      const audited = compile(c.with(audit));
      for (const port of [80, 81]) {
        const expectedDrops = denied(enforced, port, false);
        expect(denied(audited, port, false)).toEqual(denied(without, port, false));
        expect(denied(audited, port, true)).toEqual(expectedDrops);
        // The case changes something, or it proves nothing.
        if (port === 80) expect(expectedDrops).not.toEqual(denied(without, port, false));
      }
    });
  }

  it('a would-drop names the audit policy; the enforced rule table keeps its enforced twin apart', () => {
    const state = compile({ nps: [audit(denyIngressX)] });
    const r = probe(state, 'y/a', 'x/a', 80);
    expect(r.verdict).toBe('allow');
    expect(r.auditPolicies?.verdict).toBe('deny');
    expect(r.auditPolicies?.rule).toEqual({ kind: 'NetworkPolicy', policy: 'x/deny-in', direction: 'ingress', audit: true });
    // Not isolated as enforced: the audit isolation is an entry, never the endpoint's flag.
    const xa = state.endpoints.find((e) => e.namespace === 'x' && e.pod === 'a');
    expect(xa?.isolatedIngress).toBe(false);
    expect(xa?.entries.filter((e) => e.audit === 'isolation').map((e) => e.direction)).toEqual(['ingress']);
    // Flows to pods no audit policy selects carry no what-if at all.
    expect(probe(state, 'y/a', 'y/b', 80).auditPolicies).toBeUndefined();
  });

  it('promotion: removing the annotation enforces the same rules (the compiler drops the audit entries)', () => {
    const c = new PolicyCompiler().load(clusterState({ nps: [audit(denyIngressX)] }));
    expect(probe(compileCluster(c), 'y/a', 'x/a', 80).verdict).toBe('allow');
    const parsed = parseNetworkPolicy(denyIngressX);
    if (!parsed.ok) throw new Error('fixture');
    c.upsertPolicy(parsed.value);
    const after = compileCluster(c);
    expect(probe(after, 'y/a', 'x/a', 80).verdict).toBe('deny');
    expect(after.endpoints.flatMap((e) => e.entries).filter((e) => e.audit !== undefined)).toEqual([]);
  });

  it('MultiNetworkPolicy in audit on net1: would drop on the secondary interface only', () => {
    const secondary = { podOpts: () => ({ secondary: true }) };
    const denyNet1 = mnp('x', 'deny-net1', 'x/macnet', { podSelector: {}, policyTypes: ['Ingress'] });
    const state = compile({ ...secondary, mnps: [audit(denyNet1)] });
    const r = probe(state, 'x/b:net1', 'x/a:net1', 80);
    expect(r.verdict).toBe('allow');
    expect(r.auditPolicies?.verdict).toBe('deny');
    expect(r.auditPolicies?.rule?.kind).toBe('MultiNetworkPolicy');
    expect(probe(state, 'x/b', 'x/a', 80).auditPolicies).toBeUndefined();
  });

  it('a value other than enforce or audit refuses the object, naming the field', () => {
    const r = parseNetworkPolicy(annotated(denyIngressX, 'Audit'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toContain(`metadata.annotations["${NS_ENFORCEMENT}"]`);
    const ok = parseNetworkPolicy(annotated(denyIngressX, 'enforce'));
    expect(ok.ok && ok.value.audit).toBe(undefined);
  });

  it('the keyspace travels in the policy key (weir_policy_key.reserved) and back', () => {
    const base = { tier: 'network', direction: 'ingress', identity: 300, protocol: 6, port: 80, portPrefixLength: 16 } as const;
    const keys = [base, { ...base, audit: 'rule' as const }, { ...base, audit: 'isolation' as const }].map((e) => encodePolicyKey(7, e));
    expect(new Set(keys.map((k) => k.toString('hex'))).size).toBe(3);
    expect(keys.map((k) => decodePolicyKey(k).audit)).toEqual([undefined, 'rule', 'isolation']);
  });
});

function stripUndefined(o: Objects): Objects {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (Array.isArray(v)) out[k] = v.filter((x) => x !== undefined);
    else if (v !== undefined) out[k] = v;
  }
  return out;
}
