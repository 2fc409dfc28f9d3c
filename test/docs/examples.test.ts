// examples/ against the real kube-apiserver (with harness/crds installed): every object in every file is
// created with a server-side dry run and strict field validation, so a misspelt field or a wrong
// apiVersion fails here, not on a user's cluster. The files use namespace `shop`; the test moves
// them into a fresh namespace of its own (the shared control plane is used by other suites).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { isRecord } from '../../common/src/records.js';
import { apiRequest, describeStatus } from '../chart/kubeapi.js';
import { describeWithApi, ensureNamespace, kubeClients, uniqueName } from '../support/kube.js';

const DIR = fileURLToPath(new URL('../../examples/', import.meta.url));

/** Where each kind the examples use lives (a kind missing here fails the test, naming it). */
const PATHS: Readonly<Record<string, { plural: string; namespaced: boolean }>> = {
  Namespace: { plural: 'namespaces', namespaced: false },
  Pod: { plural: 'pods', namespaced: true },
  NetworkAttachmentDefinition: { plural: 'network-attachment-definitions', namespaced: true },
  SpiderMultusConfig: { plural: 'spidermultusconfigs', namespaced: true },
  NetworkPolicy: { plural: 'networkpolicies', namespaced: true },
  MultiNetworkPolicy: { plural: 'multi-networkpolicies', namespaced: true },
  ClusterNetworkPolicy: { plural: 'clusternetworkpolicies', namespaced: false },
};

/** `shop` → ns in namespaces, `shop/x` references and namespace-name selectors; cluster names get a suffix. */
function relocate(value: unknown, ns: string): unknown {
  if (typeof value === 'string') return value === 'shop' ? ns : value.replace(/^shop\//, `${ns}/`).replace(/,\s*shop\//g, `,${ns}/`);
  if (Array.isArray(value)) return value.map((v) => relocate(v, ns));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, relocate(v, ns)]));
  return value;
}

interface Example { file: string; object: Record<string, unknown> }

function examples(): Example[] {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
  return files.flatMap((file) => parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const object: unknown = doc.toJS();
    if (!isRecord(object)) throw new Error(`${file}: a document is not an object`);
    return { file, object };
  }));
}

describeWithApi('examples/: server-side dry run against the real API server', (kubeconfig) => {
  const { kc, core } = kubeClients(kubeconfig);
  const ns = uniqueName('h16-ex');
  const all = examples();

  beforeAll(async () => {
    await ensureNamespace(core, ns);
  });

  it('has the files the docs promise, one kind each of namespace, NADs, SpiderMultusConfig, pods and all three policy kinds', () => {
    const kinds = new Set(all.map((e) => String(e.object.kind)));
    expect([...kinds].sort()).toEqual(Object.keys(PATHS).sort());
  });

  it.each(all.map((e, i) => [`${e.file} #${i} ${String(e.object.kind)}`, e] as const))('%s is accepted', async (_label, example) => {
    const object = relocate(example.object, ns);
    if (!isRecord(object) || !isRecord(object.metadata)) throw new Error(`${example.file}: no metadata`);
    const kind = String(object.kind);
    const where = PATHS[kind];
    if (where === undefined) throw new Error(`${example.file}: kind ${kind} has no REST path in this test`);
    const name = String(object.metadata.name);
    // Cluster-scoped objects and the Namespace get a name of their own, so runs never collide.
    if (!where.namespaced) object.metadata.name = kind === 'Namespace' ? `${ns}-x` : `${ns}-${name}`;
    const apiVersion = String(object.apiVersion);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const path = where.namespaced ? `${base}/namespaces/${ns}/${where.plural}` : `${base}/${where.plural}`;
    const res = await apiRequest(kc, 'POST', `${path}?dryRun=All&fieldValidation=Strict`, object);
    expect(res.status, `${example.file} ${kind}/${name}: ${describeStatus(res)}`).toBe(201);
    expect(res.warnings, `${example.file} ${kind}/${name}`).toEqual([]);
  }, 30_000);
});
