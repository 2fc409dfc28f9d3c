/**
 * Keeps README.md true: every command, name, code, folder, figure and example it shows is checked
 * against the code that implements it. Fast and unprivileged (the CLI runs only with --help).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import * as annotations from '../../common/src/annotations.js';
import { reasonCodes } from '../../common/src/reasons.js';
import { parseClusterNetworkPolicy } from '../../agent/src/policy/cnp.js';
import { parseNetworkPolicy } from '../../agent/src/policy/model.js';
import { labDir } from '../../lab/paths.js';
import { denialMessage, mutateNad, mutatePod, validateNad, validatePod, type ClusterView, type Decision, type NamespaceInfo } from '../../webhook/src/decide/index.js';
import { applyPatch, fakeView } from '../../webhook/src/decide/testing.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const README = read('README.md');
const run = promisify(execFile);

// ── README structure helpers ───────────────────────────────────────────────────────────────────

/** The body of the `## title` section (up to the next `## `). */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no section "## ${title}"`);
  const rest = README.slice(start + title.length + 5);
  const end = rest.indexOf('\n## ');
  return end < 0 ? rest : rest.slice(0, end);
}

/** Fenced code blocks of a piece of markdown, optionally only those with the given info string. */
function codeBlocks(markdown: string, lang?: string): string[] {
  return [...markdown.matchAll(/^```([a-z]*)\n([\s\S]*?)^```$/gm)]
    .filter((m) => lang === undefined || m[1] === lang)
    .map((m) => m[2] ?? '');
}

/** Rows of the first markdown table in a piece of markdown, as cells (header and rule dropped). */
function tableRows(markdown: string): string[][] {
  const lines = markdown.split('\n').filter((l) => l.startsWith('|'));
  return lines.slice(2).map((l) => l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
}

/** Inline code spans outside fenced blocks. */
function inlineCode(markdown: string): string[] {
  const prose = markdown.replace(/^```[a-z]*\n[\s\S]*?^```$/gm, '');
  return [...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? '');
}

// ── Makefile helpers ───────────────────────────────────────────────────────────────────────────

interface MakeTarget { prerequisites: string[]; recipe: string[] }
function makeTargets(): Map<string, MakeTarget> {
  const targets = new Map<string, MakeTarget>();
  let current: MakeTarget[] = [];
  for (const line of read('Makefile').split('\n')) {
    if (line.startsWith('\t')) {
      for (const t of current) t.recipe.push(line.trim());
      continue;
    }
    const rule = /^([A-Za-z0-9_ .-]+):(?!=)(.*)$/.exec(line);
    if (!rule || line.startsWith('.')) { current = []; continue; }
    const prerequisites = (rule[2] ?? '').trim().split(/\s+/).filter((p) => p !== '');
    current = (rule[1] ?? '').trim().split(/\s+/).map((name) => {
      const t = { prerequisites, recipe: [] };
      targets.set(name, t);
      return t;
    });
  }
  return targets;
}

describe('README: the two commands', () => {
  const block = codeBlocks(section('The two commands'), 'sh')[0] ?? '';
  const targets = makeTargets();

  it('are exactly `make lab` and `make test`', () => {
    const commands = block.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter((l) => l !== '');
    expect(commands).toEqual(['make lab', 'make test']);
  });

  it('make lab bootstraps, then runs ./bin/weir lab up', () => {
    expect(targets.get('lab')?.prerequisites).toEqual(['bootstrap']);
    expect(targets.get('lab')?.recipe).toEqual(['./bin/weir lab up']);
  });

  it('make test bootstraps, then runs scripts/test.sh (tsc + eslint + vitest, then the real node); .ci/run runs make test', () => {
    expect(targets.get('test')?.prerequisites).toEqual(['bootstrap']);
    expect(targets.get('test')?.recipe).toEqual(['bash scripts/test.sh']);
    expect(targets.get('bootstrap')?.recipe).toEqual(['@bash scripts/bootstrap.sh']);
    const testScript = read('scripts/test.sh');
    expect(testScript).toContain('tsc --noEmit -p tsconfig.json');
    expect(testScript).toContain('eslint --max-warnings 0 .');
    expect(testScript).toContain('vitest run');
    expect(testScript).toContain('vitest run --config test/realnode/vitest.config.ts');
    const ci = read('.ci/run').split('\n').filter((l) => !l.startsWith('#') && l.trim() !== '');
    expect(ci.at(-1)).toBe('make test');
  });

  it('make lab-down exists and runs weir lab down', () => {
    expect(README).toContain('`make lab-down`');
    expect(targets.get('lab-down')?.recipe).toEqual(['./bin/weir lab down']);
  });

  it('what the bootstrap says it installs is what scripts/bootstrap.sh does', () => {
    const bootstrap = read('scripts/bootstrap.sh');
    for (const word of ['APT_PACKAGES', 'build-go-tools.sh', 'npm ci', 'make']) expect(bootstrap).toContain(word);
    const goTools = read('scripts/build-go-tools.sh');
    for (const tool of ['kube-apiserver', 'kubectl', 'etcd', 'helm']) expect(goTools).toContain(tool);
  });

  it('the lab keeps its logs where Troubleshooting says (~/.weir-lab)', () => {
    expect(section('Troubleshooting')).toContain('`~/.weir-lab/*.log`');
    expect(labDir({})).toBe(join(homedir(), '.weir-lab'));
  });
});

describe('README: labels and annotations', () => {
  const table = tableRows(section('Labels and annotations'));
  /** Every public name annotations.ts exports (values that look like `prefix/name`). */
  const publicNames = new Set<string>(Object.values(annotations as Record<string, unknown>).filter((v): v is string => typeof v === 'string' && /^[a-z0-9.-]+\/[a-z0-9.-]+$/.test(v)));
  const tableNames = table.flatMap((row) => [...(row[0] ?? '').matchAll(/`([^`]+)`/g)].map((m) => (m[1] ?? '').replace(/:.*$/, '')));

  it('every name in the table exists in common/src/annotations.ts', () => {
    expect(tableNames.length).toBeGreaterThan(10);
    for (const name of tableNames) expect(publicNames, name).toContain(name);
  });

  it('every public name in common/src/annotations.ts is in the table', () => {
    for (const name of publicNames) expect(tableNames, name).toContain(name);
  });

  it('the values the table shows are the ones the code compares with', () => {
    const values = new Map(table.map((row) => {
      const m = /^`([^`:]+): ("?[a-z]+"?)`/.exec(row[0] ?? '');
      return [m?.[1] ?? '', m?.[2]?.replace(/"/g, '')];
    }));
    expect(values.get(annotations.INJECT_LABEL)).toBe(annotations.INJECT_ENABLED);
    expect(values.get(annotations.NAD_CHAIN)).toBe(annotations.CHAIN_ENABLED);
    expect(values.get(annotations.NS_ALLOW_NET_ADMIN)).toBe(annotations.ALLOW_NET_ADMIN_TRUE);
  });

  it('every weir.dev/ name anywhere in the README exists (`*` standing for ingress and egress)', () => {
    const mentioned = new Set([...README.matchAll(/weir\.dev\/[a-z*-]*[a-z]/g)].map((m) => m[0]));
    expect(mentioned.size).toBeGreaterThan(10);
    for (const name of mentioned) {
      const expanded = name.includes('*') ? ['ingress', 'egress'].map((d) => name.replace('*', d)) : [name];
      for (const n of expanded) expect(publicNames, n).toContain(n);
    }
  });

  it('the namespace defaults the table says are injected are the ones the webhook injects', () => {
    const injected = table
      .filter((row) => /^injected as /.test(row[2] ?? ''))
      .flatMap((row) => {
        const from = [...(row[0] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
        const to = /`([^`]+)`/.exec(row[2] ?? '')?.[1] ?? '';
        return from.map((f) => ({ namespaceKey: f, podKey: to.replace('*', f.includes('ingress') ? 'ingress' : 'egress') }));
      });
    const merged = table.filter((row) => /^merged into /.test(row[2] ?? '')).map((row) => ({
      namespaceKey: /`([^`]+)`/.exec(row[0] ?? '')?.[1] ?? '', podKey: /`([^`]+)`/.exec(row[2] ?? '')?.[1] ?? '',
    }));
    const sortKey = (a: { namespaceKey: string }, b: { namespaceKey: string }) => a.namespaceKey.localeCompare(b.namespaceKey);
    expect([...injected, ...merged].sort(sortKey)).toEqual([...annotations.NAMESPACE_DEFAULTS].sort(sortKey));
  });
});

describe('README: reason codes', () => {
  it('every code the README shows exists in common/src/reasons.ts', () => {
    const codes = new Set([
      ...inlineCode(README).filter((c) => /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(c)),
      ...[...README.matchAll(/\[([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\]/g)].map((m) => m[1] ?? ''),
    ]);
    expect(codes.size).toBeGreaterThanOrEqual(9);
    const known = reasonCodes() as string[];
    for (const code of codes) expect(known, code).toContain(code);
  });

  it('links the generated catalogue', () => {
    expect(README).toContain('[docs/reasons.md](docs/reasons.md)');
    expect(existsSync(join(ROOT, 'docs/reasons.md'))).toBe(true);
  });
});

describe('README: the weir CLI', () => {
  /** Invocations the README shows: the CLI synopsis lines, and inline `weir …` examples. */
  function invocations(): string[][] {
    const synopsis = codeBlocks(section('The `weir` CLI'))[0] ?? '';
    const out: string[][] = [];
    for (const line of synopsis.split('\n')) {
      const usage = line.split(/\s{2,}/)[0]?.trim() ?? '';
      if (!usage.startsWith('weir ')) continue;
      if (usage.startsWith('weir lab ')) {
        // `weir lab up [--nodes N] | down | status | exec <ns>/<pod> -- <command>`
        for (const alt of usage.slice('weir lab '.length).split(' | ')) out.push(['lab', ...sampleArgs(alt)]);
        continue;
      }
      out.push(sampleArgs(usage.slice('weir '.length)));
    }
    for (const code of inlineCode(README)) {
      if (!code.startsWith('weir ')) continue;
      // Not a command: the weir CNI plugin's error message, which Troubleshooting quotes.
      if (code.startsWith('weir agent not reachable')) continue;
      out.push(code.split(' ').slice(1));
    }
    return out;
  }

  /** A synopsis like `explain <ns>/<pod> [--from ns/pod | --to ns/pod] [--port 80/TCP]` as argv with sample values. */
  function sampleArgs(synopsis: string): string[] {
    const argv: string[] = [];
    const tokens = synopsis.replace(/[[\]|]/g, ' ').split(/\s+/).filter((t) => t !== '');
    for (const t of tokens) {
      if (t === '--') break; // what follows is the user's command
      if (t === 'N') argv.push('1');
      else if (t.startsWith('<')) argv.push('demo/client');
      else argv.push(t);
    }
    return argv;
  }

  const env = { ...process.env, WEIR_LAB_DIR: join(ROOT, 'build', 'no-such-lab') };
  const weir = (argv: string[]) => run(join(ROOT, 'bin/weir'), argv, { env, timeout: 30_000 });

  it('every subcommand and option the README shows is accepted (`--help` exits 0)', async () => {
    // One run per subcommand with the union of the options the README shows for it: each run starts
    // Node + tsx, and the machine has 2 shared cores.
    const bySubcommand = new Map<string, string[]>();
    for (const argv of invocations()) {
      const key = argv[0] === 'lab' ? 'lab' : argv[0] ?? '';
      const merged = bySubcommand.get(key) ?? [];
      for (let i = 1; i < argv.length; i++) {
        const arg = argv[i] ?? '';
        if (!arg.startsWith('--')) continue;
        const value = argv[i + 1];
        if (merged.includes(arg)) continue;
        merged.push(arg);
        if (value !== undefined && !value.startsWith('--')) merged.push(value);
      }
      bySubcommand.set(key, merged);
    }
    expect([...bySubcommand.keys()].sort()).toEqual(['audit', 'completion', 'endpoints', 'explain', 'lab', 'observe', 'status', 'version']);
    const labSubs = new Set(invocations().filter((a) => a[0] === 'lab').map((a) => a[1] ?? ''));
    expect([...labSubs].sort()).toEqual(['down', 'exec', 'status', 'up']);
    for (let i = 0; i < bySubcommand.size; i += 2) {
      await Promise.all([...bySubcommand].slice(i, i + 2).map(async ([command, flags]) => {
        const argv = command === 'lab' ? ['lab', 'up', ...flags, '--help'] : [command, ...positional(command), ...flags, '--help'];
        const result = await weir(argv).catch((e: unknown) => e);
        expect(result, `weir ${argv.join(' ')}`).toMatchObject({ stderr: '' });
        // `weir lab --help` documents each lab subcommand the README shows.
        if (command === 'lab') for (const sub of labSubs) expect((result as { stdout: string }).stdout).toMatch(new RegExp(`^  ${sub} `, 'm'));
      }));
    }
  }, 120_000);

  it('weir lab status without a lab says so and how to start one (exit 0)', async () => {
    const { stdout } = await weir(['lab', 'status']);
    expect(stdout).toContain('weir lab up');
  }, 30_000);

  /** A sample pod argument for subcommands that take one. */
  function positional(command: string): string[] {
    if (command === 'audit') return ['report'];
    return command === 'explain' ? ['demo/client'] : [];
  }

  it('the quoted plugin error is what the weir CNI plugin prints', () => {
    expect(read('native/cni/main.c')).toContain('weir agent not reachable at %s');
    expect(README).toContain('`weir agent not reachable at /run/weir/cni.sock`');
    expect(read('agent/src/config.ts')).toContain("'/run/weir/cni.sock'");
  });
});

describe('README: folders', () => {
  const rows = tableRows(section('Architecture'));
  it('every folder in the table exists, and every sub-folder or file it names', () => {
    expect(rows.length).toBeGreaterThanOrEqual(9);
    for (const [folderCell = '', what = ''] of rows) {
      const folder = /`([^`]+)`/.exec(folderCell)?.[1] ?? '';
      expect(statSync(join(ROOT, folder), { throwIfNoEntry: false })?.isDirectory(), folder).toBe(true);
      for (const m of what.matchAll(/`([^`]+)`/g)) {
        const name = m[1] ?? '';
        if (name.startsWith('npm ')) continue;
        // Sub-folders of TypeScript components live under src/; others directly in the folder; `weir` is bin/weir.
        const candidates = [join(ROOT, folder, 'src', name), join(ROOT, folder, name), join(ROOT, name), join(ROOT, 'bin', name)];
        expect(candidates.some((c) => existsSync(c)), `${folder} ${name}`).toBe(true);
      }
    }
  });

  it('the image Dockerfiles the install section names exist', () => {
    for (const m of section('Installing into a cluster with Multus and Spiderpool').matchAll(/`(images\/[^`]+)`/g)) {
      expect(existsSync(join(ROOT, m[1] ?? '')), m[1]).toBe(true);
    }
  });
});

describe('bench/README.md: benchmark figures (the README points there)', () => {
  const bench = read('bench/README.md');
  const summary = bench.slice(bench.indexOf('\n## Summary\n') + 1).split(/\n(?=## )/)[0] ?? '';
  const rows = tableRows(summary);

  it('the README sends readers to it', () => {
    expect(section('Benchmarks')).toContain('[bench/README.md](bench/README.md)');
  });
  const results = read('bench/results/latest.md');

  /** Which benchmark produces each row, and the latest.md section its figures are in (if it writes one). */
  const sources: Array<{ what: RegExp; bench: string; heading?: string }> = [
    { what: /^established packet/, bench: 'datapath-prog.ts', heading: '## Datapath program cost' },
    { what: /^new flow/, bench: 'datapath-prog.ts', heading: '## Datapath program cost' },
    { what: /^TCP throughput/, bench: 'datapath-throughput.ts', heading: '## Throughput and new connections/s' },
    { what: /^new connections\/s/, bench: 'datapath-throughput.ts', heading: '## Throughput and new connections/s' },
    { what: /Mbit\/s (egress )?limit/, bench: 'shaping.ts', heading: '## Shaping' },
    { what: /^webhook/, bench: 'webhook.ts' },
    { what: /^weir CNI ADD/, bench: 'cni-add.ts' },
    { what: /policy entries|^policy state/, bench: 'capacity.ts', heading: '## Policy state at cluster scale' },
    { what: /^policy compiler/, bench: 'compile.ts', heading: '## Policy compiler at cluster scale' },
    { what: /^churn/, bench: 'churn.ts', heading: '## Churn on a 10,000-pod cluster' },
  ];

  /** The text of every latest.md section with this heading (a file may hold several runs). */
  function sectionsOf(heading: string): string {
    return results.split(/\n(?=## )/).filter((s) => s.startsWith(heading)).join('\n');
  }

  /** Numbers in a figure cell, as written (commas dropped), e.g. "176 / 166 ns" → ["176", "166"]. */
  function figures(cell: string): string[] {
    return [...cell.replace(/(\d),(\d)/g, '$1$2').matchAll(/\d+(?:\.\d+)?/g)].map((m) => m[0]);
  }

  it('every row names a benchmark that exists in bench/', () => {
    expect(rows.length).toBeGreaterThanOrEqual(8);
    for (const [what = ''] of rows) {
      const source = sources.find((s) => s.what.test(what));
      expect(source, `benchmark for "${what}"`).toBeDefined();
      expect(existsSync(join(ROOT, 'bench', source?.bench ?? '')), source?.bench).toBe(true);
    }
  });

  it('every figure of a row whose benchmark writes latest.md appears there (rounded as the README rounds it)', () => {
    for (const [what = '', weir = '', baseline = ''] of rows) {
      const heading = sources.find((s) => s.what.test(what))?.heading;
      if (heading === undefined) continue;
      const text = sectionsOf(heading);
      expect(text, heading).not.toBe('');
      const measured = figures(text).map(Number);
      for (const figure of [...figures(weir), ...figures(baseline)]) {
        const decimals = figure.split('.')[1]?.length ?? 0;
        expect(measured.some((m) => m.toFixed(decimals) === figure), `"${what}": ${figure} in ${heading}`).toBe(true);
      }
    }
  });
});

describe('README: the worked example is accepted by the webhook', () => {
  const install = section('Installing into a cluster with Multus and Spiderpool');
  const commands = codeBlocks(install, 'sh').flatMap((b) => b.split('\n')).filter((l) => l.startsWith('kubectl '));
  const docs = parseAllDocuments(codeBlocks(install, 'yaml')[0] ?? '').map((d) => d.toJS() as unknown);
  const opts = { coordinatorName: 'default' };

  /** The namespace as the README's kubectl label/annotate commands leave it. */
  function namespaceFromCommands(): NamespaceInfo {
    const ns: NamespaceInfo = { name: '', labels: {}, annotations: {} };
    for (const line of commands) {
      const [, verb, kind, name, ...pairs] = line.split(/\s+/);
      if (kind !== 'namespace' || name === undefined || (verb !== 'label' && verb !== 'annotate')) continue;
      ns.name = name;
      for (const pair of pairs) {
        const [key = '', value = ''] = pair.split('=');
        (verb === 'label' ? ns.labels : ns.annotations)[key] = value;
      }
    }
    return ns;
  }

  function ofKind(kind: string): Record<string, unknown> {
    const doc = docs.find((d) => typeof d === 'object' && d !== null && (d as { kind?: unknown }).kind === kind);
    if (doc === undefined) throw new Error(`README example has no ${kind}`);
    return doc as Record<string, unknown>;
  }

  function metadataOf(obj: Record<string, unknown>): { name: string; namespace: string; annotations: Record<string, string> } {
    return obj['metadata'] as { name: string; namespace: string; annotations: Record<string, string> };
  }

  const expectAllow = (d: Decision): Extract<Decision, { kind: 'allow' }> => {
    if (d.kind !== 'allow') throw new Error(`refused: ${denialMessage(d.refusals)}`);
    return d;
  };

  /** The NAD after the mutating webhook ran, and a cluster view holding it and the namespace. */
  function admittedNad(coordinatorPhase: string): { nad: Record<string, unknown>; view: ClusterView } {
    const nadIn = ofKind('NetworkAttachmentDefinition');
    const mutated = applyPatch(nadIn, expectAllow(mutateNad(nadIn)).patch);
    const meta = metadataOf(mutated);
    const view = fakeView({
      namespaces: [namespaceFromCommands()],
      nads: [{ namespace: meta.namespace, name: meta.name, annotations: meta.annotations, config: (mutated['spec'] as { config: string }).config }],
      coordinators: [{ name: 'default', phase: coordinatorPhase, reason: coordinatorPhase === 'Synced' ? '' : 'No kube-controller-manager pod found, unable to get clusterCIDR' }],
    });
    return { nad: mutated, view };
  }

  it('the namespace commands opt "shop" in with a default network and a cap', () => {
    expect(namespaceFromCommands()).toEqual({
      name: 'shop',
      labels: { [annotations.INJECT_LABEL]: annotations.INJECT_ENABLED },
      annotations: { [annotations.NS_DEFAULT_NETWORK]: 'shop/underlay', [annotations.NS_MAX_EGRESS_BANDWIDTH]: '1G' },
    });
  });

  it('the NAD: the mutating webhook inserts {"type":"weir"} after macvlan, and the result validates', () => {
    const { nad, view } = admittedNad('Synced');
    const config = JSON.parse((nad['spec'] as { config: string }).config) as { plugins: Array<{ type: string }> };
    expect(config.plugins.map((p) => p.type)).toEqual(['macvlan', 'weir', 'coordinator']);
    expectAllow(validateNad(nad, view));
  });

  it('the Pod: mutated (default network and intent injected) and then validated, with coordinator Synced', () => {
    const { view } = admittedNad('Synced');
    const pod = ofKind('Pod');
    const mutation = expectAllow(mutatePod(pod, 'shop', view, opts));
    const admitted = applyPatch(pod, mutation.patch);
    const podAnnotations = metadataOf(admitted).annotations;
    expect(podAnnotations[annotations.MULTUS_DEFAULT_NETWORK]).toBe('shop/underlay');
    expect(podAnnotations[annotations.POD_INTENT]).toBeDefined();
    expectAllow(validatePod(admitted, 'shop', view, opts));
  });

  it('the Pod is refused with COORDINATOR_NOT_SYNCED while the SpiderCoordinator is not Synced, as the README says', () => {
    const { view } = admittedNad('NotReady');
    const pod = ofKind('Pod');
    const mutation = mutatePod(pod, 'shop', view, opts);
    const decision = mutation.kind === 'deny' ? mutation : validatePod(applyPatch(pod, mutation.patch), 'shop', view, opts);
    expect(decision.kind).toBe('deny');
    if (decision.kind === 'deny') expect(decision.refusals.map((r) => r.code)).toContain('COORDINATOR_NOT_SYNCED');
  });

  it('a pod asking for more than the namespace cap (1G) is refused with BANDWIDTH_ABOVE_CAP', () => {
    const { view } = admittedNad('Synced');
    const pod = structuredClone(ofKind('Pod'));
    metadataOf(pod).annotations[annotations.K8S_EGRESS_BANDWIDTH] = '2G';
    const d = validatePod(pod, 'shop', view, opts);
    expect(d.kind === 'deny' ? d.refusals.map((r) => r.code) : []).toContain('BANDWIDTH_ABOVE_CAP');
  });

  it('the NetworkPolicy parses with the agent\'s parser', () => {
    const parsed = parseNetworkPolicy(ofKind('NetworkPolicy'));
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
  });

  it('the ClusterNetworkPolicy parses with the agent\'s parser', () => {
    const parsed = parseClusterNetworkPolicy(ofKind('ClusterNetworkPolicy'));
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
  });
});

describe('README: the demo output it shows', () => {
  const shown = codeBlocks(section('The two commands')).find((b) => b.includes('Step 3')) ?? '';

  it('the refusal for the `coordinattor` NAD is what validateNad + denialMessage produce', () => {
    const line = shown.split('\n').find((l) => l.trim().startsWith('refused: ')) ?? '';
    const prefix = 'refused: admission webhook "nads.validate.weir.dev" denied the request: ';
    expect(line.trim().startsWith(prefix)).toBe(true);
    // The demo's misconfigured NAD: macvlan followed by a misspelt coordinator.
    const nad = {
      apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'broken', namespace: 'demo' },
      spec: { config: JSON.stringify({ cniVersion: '1.0.0', name: 'broken', plugins: [{ type: 'macvlan', master: 'uplink0', mode: 'bridge', ipam: { type: 'host-local' } }, { type: 'coordinattor' }] }) },
    };
    // The demo namespace is opted in (lab/demo.ts), so the NAD is in Weir's scope and refused.
    const demoView = fakeView({ namespaces: [{ name: 'demo', labels: { 'weir.dev/inject': 'enabled' }, annotations: {} }] });
    const mutated = applyPatch(nad, expectAllowPatch(mutateNad(nad)));
    const decision = validateNad(mutated, demoView);
    expect(decision.kind).toBe('deny');
    if (decision.kind === 'deny') expect(line.trim().slice(prefix.length)).toBe(denialMessage(decision.refusals));
  });

  it('the webhook name in the refusal is the chart\'s validating NAD webhook', () => {
    const charts = read('charts/weir/templates/webhook-configurations.yaml');
    expect(charts).toContain('nads.validate.weir.dev');
  });

  it('the steps it shows are the demo\'s steps', () => {
    const demo = read('lab/demo.ts');
    for (const m of shown.matchAll(/^Step (\d+): (.*)$/gm)) {
      // Step titles are built in lab/demo.ts; compare the fixed words of each.
      const words = (m[2] ?? '').replace(/\$\{[^}]*\}/g, '').split(/[^A-Za-z-]+/).filter((w) => w.length > 3);
      for (const w of words) expect(demo, `step ${m[1]} "${w}"`).toContain(w);
    }
  });
});

function expectAllowPatch(d: Decision): Parameters<typeof applyPatch>[1] {
  if (d.kind !== 'allow') throw new Error(`refused: ${denialMessage(d.refusals)}`);
  return d.patch;
}
