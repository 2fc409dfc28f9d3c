/**
 * Executes a conformance test's statements (go-plan.ts) against the simulated World: the same
 * mutations the Go test makes through the API (patch a policy, relabel a pod or namespace, delete a
 * NetworkPolicy), in the same order, with `t.Cleanup` blocks run when their subtest ends, and every
 * `kubernetes.PokeServer` recorded with what the suite expects and what Weir decides. A statement
 * this interpreter does not know is an error, never skipped: a new upstream test pattern must be
 * taught here before the harness can claim anything about it.
 */
import { HOST_NETWORK_PORTS } from './upstream.js';
import { metaOfObj, World, type Protocol } from './world.js';
import type { Statement, TestPlan } from './go-plan.js';
import { isList, isRecord } from '../../common/src/records.js';

export interface Poke {
  test: string;
  subtest: string;
  line: number;
  client: string;
  server: string;
  protocol: Protocol;
  port: number;
  /** What the suite expects (shouldConnect). */
  expected: boolean;
  /** What Weir decides, with the listening check. */
  connected: boolean;
  listening: boolean;
  rule: string;
}

type Value = { kind: 'pod'; key: string } | { kind: 'object'; of: 'ClusterNetworkPolicy' | 'Namespace' | 'NetworkPolicy'; key: string; obj: Record<string, unknown> } | { kind: 'json'; value: unknown } | { kind: 'string'; value: string };

const PATH = String.raw`\w+(?:\.DeepCopy\(\))?(?:\.\w+|\[\d+\])*`;
const GET_TIMEOUT = String.raw`s\.TimeoutConfig\.GetTimeout`;
const camel = (go: string): string => go.charAt(0).toLowerCase() + go.slice(1);

export class Interpreter {
  private readonly vars = new Map<string, Value>();
  readonly pokes: Poke[] = [];
  private readonly subtests: { name: string; cleanup: Statement[] }[] = [];
  /** if/else: whether the statements of the innermost branch run. */
  private readonly branches: { taken: boolean; running: boolean }[] = [];
  private capture: { depth: number; into: Statement[] } | undefined;

  constructor(
    private readonly world: World,
    private readonly plan: TestPlan,
    private readonly constants: ReadonlyMap<string, string>,
  ) {}

  run(): void {
    for (const st of this.plan.body) this.exec(st);
  }

  private fail(st: Statement, why: string): never {
    throw new Error(`${this.plan.file}:${st.line}: ${why}: ${st.text}`);
  }

  private exec(st: Statement): void {
    const t = st.text;
    if (this.capture !== undefined) {
      // Inside t.Cleanup(func() { ... }): keep the statements for when the subtest ends.
      if (t === '})' && this.capture.depth === 0) this.capture = undefined;
      else this.capture.into.push(st);
      return;
    }
    const running = this.branches.every((b) => b.running);
    let m: RegExpExecArray | null;
    if ((m = /^if net\.IsIPv4String\((.+)\) \{$/.exec(t))) {
      const ip = running ? this.stringOf(m[1] ?? '', st) : '';
      const taken = running && /^\d+\.\d+\.\d+\.\d+$/.test(ip);
      this.branches.push({ taken, running: taken });
      return;
    }
    if (t === '} else {') {
      const b = this.branches.at(-1) ?? this.fail(st, 'else without if');
      b.running = !b.taken && this.branches.slice(0, -1).every((x) => x.running);
      return;
    }
    if (t === '}') {
      if (this.branches.pop() === undefined) this.fail(st, 'unbalanced }');
      return;
    }
    if (!running) return;
    if ((m = /^t\.Run\("((?:[^"\\]|\\.)*)", func\(t \*testing\.T\) \{$/.exec(t))) {
      this.subtests.push({ name: m[1] ?? '', cleanup: [] });
      return;
    }
    if (t === '})') {
      const sub = this.subtests.pop() ?? this.fail(st, 'unbalanced })');
      for (const c of sub.cleanup) this.exec(c);
      return;
    }
    if (t === 't.Cleanup(func() {') {
      const sub = this.subtests.at(-1) ?? this.fail(st, 't.Cleanup outside a subtest');
      this.capture = { depth: 0, into: sub.cleanup };
      return;
    }
    if (/^(ctx, cancel := context\.WithTimeout\(.*\)|defer cancel\(\)|require\.NoErrorf\(t, err, ".*"\)|var \w+ string)$/.test(t)) return;
    if ((m = new RegExp(`^(\\w+) :?= kubernetes\\.GetPod\\(t, s\\.Client, "([^"]+)", "([^"]+)", ${GET_TIMEOUT}\\)$`).exec(t))) {
      const key = `${m[2] ?? ''}/${m[3] ?? ''}`;
      this.world.pod(key);
      this.vars.set(m[1] ?? '', { kind: 'pod', key });
      return;
    }
    if ((m = new RegExp(`^(\\w+) :?= kubernetes\\.Get(ClusterNetworkPolicy|Namespace)\\(t, s\\.Client, "([^"]+)", ${GET_TIMEOUT}\\)$`).exec(t))) {
      const of = m[2] === 'Namespace' ? 'Namespace' : 'ClusterNetworkPolicy';
      const key = m[3] ?? '';
      const obj = (of === 'Namespace' ? this.world.namespaces : this.world.clusterNetworkPolicies).get(key) ?? this.fail(st, `no ${of} ${key}`);
      this.vars.set(m[1] ?? '', { kind: 'object', of, key, obj: structuredClone(obj) });
      return;
    }
    if ((m = /^(\w+) := &networkingv1\.NetworkPolicy\{\}$/.exec(t))) {
      this.vars.set(m[1] ?? '', { kind: 'object', of: 'NetworkPolicy', key: '', obj: {} });
      return;
    }
    if ((m = /^err := s\.Client\.Get\(ctx, client\.ObjectKey\{ Namespace:\s*"([^"]+)", Name:\s*"([^"]+)",? \}, (\w+)\)$/.exec(t))) {
      const key = `${m[1] ?? ''}/${m[2] ?? ''}`;
      const obj = this.world.networkPolicies.get(key) ?? this.fail(st, `no NetworkPolicy ${key}`);
      this.vars.set(m[3] ?? '', { kind: 'object', of: 'NetworkPolicy', key, obj: structuredClone(obj) });
      return;
    }
    if ((m = /^err = s\.Client\.Delete\(ctx, (\w+)\)$/.exec(t))) {
      const v = this.vars.get(m[1] ?? '');
      if (v?.kind !== 'object' || v.of !== 'NetworkPolicy' || !this.world.networkPolicies.delete(v.key)) this.fail(st, 'delete of an unknown object');
      this.world.changed();
      return;
    }
    if ((m = new RegExp(`^kubernetes\\.Patch(ClusterNetworkPolicy|Namespace)\\(t, s\\.Client, (\\w+), (\\w+), ${GET_TIMEOUT}\\)$`).exec(t))) {
      const to = this.vars.get(m[3] ?? '');
      if (to?.kind !== 'object' || to.of !== m[1]) this.fail(st, 'patch with an unknown object');
      (to.of === 'Namespace' ? this.world.namespaces : this.world.clusterNetworkPolicies).set(to.key, structuredClone(to.obj));
      this.world.changed();
      return;
    }
    if ((m = new RegExp(`^kubernetes\\.(Set|Remove)PodLabel\\(t, s\\.Client, "([^"]+)", "([^"]+)", (\\w+|"[^"]*")(?:, "([^"]*)")?, ${GET_TIMEOUT}\\)$`).exec(t))) {
      const meta = metaOfObj(this.world.pod(`${m[2] ?? ''}/${m[3] ?? ''}`));
      const labels = meta['labels'];
      if (!isRecord(labels)) this.fail(st, 'pod without labels');
      const key = this.stringOf(m[4] ?? '', st);
      if (m[1] === 'Set') labels[key] = m[5] ?? this.fail(st, 'SetPodLabel without a value');
      else meta['labels'] = Object.fromEntries(Object.entries(labels).filter(([k]) => k !== key));
      this.world.changed();
      return;
    }
    if ((m = /^(\w+)\.SetLabels\(map\[string\]string\{(.*)\}\)$/.exec(t))) {
      const v = this.vars.get(m[1] ?? '');
      if (v?.kind !== 'object') this.fail(st, 'SetLabels on an unknown object');
      const labels: Record<string, string> = {};
      for (const kv of (m[2] ?? '').matchAll(/"([^"]*)":\s*"([^"]*)"/g)) labels[kv[1] ?? ''] = kv[2] ?? '';
      metaOfObj(v.obj)['labels'] = labels;
      return;
    }
    if ((m = /^kubernetes\.PokeServer\(t, s\.ClientSet, &s\.KubeConfig, "([^"]+)", "([^"]+)", "(tcp|udp|sctp)", (\w+)\.Status\.PodIP, int32\((\d+|s\.HostNetworkPorts\[\d\])\), s\.TimeoutConfig, (true|false)\)$/.exec(t))) {
      this.poke(st, m);
      return;
    }
    if ((m = new RegExp(`^(\\w+) :?= "([^"]*)"$`).exec(t))) {
      this.vars.set(m[1] ?? '', { kind: 'string', value: m[2] ?? '' });
      return;
    }
    if ((m = new RegExp(`^(${PATH}) = append\\((\\w+), (${PATH})\\.\\.\\.\\)$`).exec(t))) {
      const head = this.read(m[2] ?? '', st);
      const tail = this.read(m[3] ?? '', st);
      if (!isList(head) || !isList(tail)) this.fail(st, 'append of non-lists');
      this.assign(m[1] ?? '', [...head, ...tail], st);
      return;
    }
    if ((m = new RegExp(`^(${PATH}) (:?=) (.+)$`).exec(t))) {
      const value = this.rvalue(m[3] ?? '', st);
      if (m[2] === ':=' || !(m[1] ?? '').includes('.')) this.vars.set(m[1] ?? '', value);
      else this.assign(m[1] ?? '', value.kind === 'json' ? value.value : value.kind === 'string' ? value.value : this.fail(st, 'assigning an object into a field'), st);
      return;
    }
    this.fail(st, 'statement not understood by the conformance harness');
  }

  private poke(st: Statement, m: RegExpExecArray): void {
    const server = this.vars.get(m[4] ?? '');
    if (server?.kind !== 'pod') this.fail(st, 'PokeServer target is not a pod from GetPod');
    const portText = m[5] ?? '';
    const hostIndex = /\[(\d)\]/.exec(portText);
    const port = hostIndex ? HOST_NETWORK_PORTS[Number(hostIndex[1])] ?? this.fail(st, 'HostNetworkPorts index') : Number(portText);
    const protocol = (m[3] ?? 'tcp').toUpperCase() as Protocol;
    const client = `${m[1] ?? ''}/${m[2] ?? ''}`;
    const listening = this.world.listens(server.key, protocol, port);
    const policy = this.world.policyAllows(client, server.key, protocol, port);
    this.pokes.push({
      test: this.plan.shortName, subtest: this.subtests.map((s) => s.name).join(' / '), line: st.line,
      client, server: server.key, protocol, port, expected: m[6] === 'true',
      connected: listening && policy.allowed, listening, rule: policy.rule,
    });
  }

  /** A right-hand side: a path, a typed constant, a number, or a Go composite literal. */
  private rvalue(text: string, st: Statement): Value {
    let m: RegExpExecArray | null;
    if ((m = /^api\.ClusterNetworkPolicyRuleAction(Accept|Deny|Pass)$/.exec(text))) return { kind: 'json', value: m[1] };
    if (/^\d+$/.test(text)) return { kind: 'json', value: Number(text) };
    if (/^\[\]/.test(text)) return { kind: 'json', value: new GoLiteral(text, (e) => this.stringOf(e, st), st, this.plan.file).parse() };
    if ((m = new RegExp(`^(\\w+)\\.DeepCopy\\(\\)$`).exec(text))) {
      const v = this.vars.get(m[1] ?? '');
      if (v?.kind !== 'object') this.fail(st, 'DeepCopy of an unknown object');
      return { ...v, obj: structuredClone(v.obj) };
    }
    if (new RegExp(`^${PATH}$`).test(text)) return { kind: 'json', value: structuredClone(this.read(text, st)) };
    return this.fail(st, `value not understood: ${text}`);
  }

  /** `X.Status.PodIP`, a string variable, a constant, or a string literal. */
  private stringOf(expr: string, st: Statement): string {
    const e = expr.trim();
    const lit = /^"([^"]*)"$/.exec(e);
    if (lit) return lit[1] ?? '';
    const ip = /^(\w+)\.Status\.PodIP$/.exec(e);
    if (ip) {
      const v = this.vars.get(ip[1] ?? '');
      if (v?.kind !== 'pod') this.fail(st, `${e} is not a pod's IP`);
      return this.world.podIp(v.key);
    }
    const v = this.vars.get(e);
    if (v?.kind === 'string') return v.value;
    const c = this.constants.get(e);
    if (c !== undefined) return c;
    return this.fail(st, `no string value for ${e}`);
  }

  private steps(path: string, st: Statement): { root: string; keys: (string | number)[] } {
    const [root = '', ...rest] = path.replace('.DeepCopy()', '').split(/(?=\.|\[)/);
    const keys = rest.map((k) => (k.startsWith('[') ? Number(k.slice(1, -1)) : camel(k.slice(1))));
    if (keys.some((k) => typeof k === 'number' && Number.isNaN(k))) this.fail(st, `bad path ${path}`);
    return { root, keys };
  }

  private base(root: string, st: Statement): unknown {
    const v = this.vars.get(root);
    if (v === undefined) this.fail(st, `unknown variable ${root}`);
    return v.kind === 'object' ? v.obj : v.kind === 'json' ? v.value : v.kind === 'string' ? v.value : this.fail(st, `${root} is a pod`);
  }

  private read(path: string, st: Statement): unknown {
    const { root, keys } = this.steps(path, st);
    let cur = this.base(root, st);
    for (const k of keys) {
      if (typeof k === 'number' ? !Array.isArray(cur) || cur[k] === undefined : !isRecord(cur)) this.fail(st, `${path}: nothing at ${String(k)}`);
      cur = typeof k === 'number' ? (cur as unknown[])[k] : (cur as Record<string, unknown>)[k];
    }
    return cur;
  }

  private assign(path: string, value: unknown, st: Statement): void {
    const { root, keys } = this.steps(path, st);
    const last = keys.pop() ?? this.fail(st, `cannot assign to ${path}`);
    let cur = this.base(root, st);
    for (const k of keys) cur = typeof k === 'number' ? (cur as unknown[])[k] : isRecord(cur) ? cur[k] : this.fail(st, `${path}: nothing at ${k}`);
    if (typeof last === 'number') {
      if (!Array.isArray(cur) || last >= cur.length) this.fail(st, `${path}: index out of range`);
      cur[last] = structuredClone(value);
    } else if (isRecord(cur)) cur[last] = structuredClone(value);
    else this.fail(st, `${path}: not an object`);
  }
}

/**
 * The Go composite literals the tests write: `[]api.T{ {Field: value, ...}, ... }` with string
 * literals, string variables, `api.CIDR(expr)` and `+` on strings. Field names become JSON names.
 */
class GoLiteral {
  private readonly tokens: string[];
  private i = 0;

  constructor(text: string, private readonly value: (expr: string) => string, private readonly st: Statement, private readonly file: string) {
    this.tokens = [...text.matchAll(/\[\][\w.]+|"(?:[^"\\]|\\.)*"|[\w.]+|[{}(),:+]/g)].map((m) => m[0]);
  }

  private fail(why: string): never {
    throw new Error(`${this.file}:${this.st.line}: Go literal: ${why}`);
  }
  private next(): string {
    return this.tokens[this.i++] ?? this.fail('unexpected end');
  }
  private expect(tok: string): void {
    if (this.next() !== tok) this.fail(`expected ${tok}`);
  }

  parse(): unknown {
    const v = this.parseValue();
    if (this.i !== this.tokens.length) this.fail('trailing tokens');
    return v;
  }

  private parseValue(): unknown {
    const tok = this.tokens[this.i] ?? this.fail('unexpected end');
    if (tok.startsWith('[]')) {
      this.i++;
      this.expect('{');
      const out: unknown[] = [];
      while (this.tokens[this.i] !== '}') {
        out.push(this.parseValue());
        if (this.tokens[this.i] === ',') this.i++;
      }
      this.i++;
      return out;
    }
    if (tok === '{') {
      this.i++;
      const out: Record<string, unknown> = {};
      while (this.tokens[this.i] !== '}') {
        const key = this.next();
        this.expect(':');
        out[camel(key)] = this.parseValue();
        if (this.tokens[this.i] === ',') this.i++;
      }
      this.i++;
      return out;
    }
    if (tok === 'api.CIDR') {
      this.i++;
      this.expect('(');
      const s = this.parseString();
      this.expect(')');
      return s;
    }
    return this.parseString();
  }

  private parseString(): string {
    let s = this.value(this.next());
    while (this.tokens[this.i] === '+') {
      this.i++;
      s += this.value(this.next());
    }
    return s;
  }
}
