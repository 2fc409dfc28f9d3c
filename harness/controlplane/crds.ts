import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { apiRequest, type ApiConnection } from './http.js';
import { isRecord } from '../../common/src/records.js';

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

interface CrdDoc {
  readonly name: string;
  readonly object: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
}


/** Reads every CRD in `dir` (*.yaml, possibly multi-document); anything else is an error. */
export async function readCrds(dir: string): Promise<CrdDoc[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  const out: CrdDoc[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(await readFile(join(dir, file), 'utf8'));
    docs.forEach((doc, i) => {
      if (doc.errors.length > 0) throw new Error(`${file}[${i}]: ${doc.errors.map((e) => e.message).join('; ')}`);
      const object: unknown = doc.toJS();
      if (object === null || object === undefined) return;
      if (!isRecord(object) || object.kind !== 'CustomResourceDefinition') {
        throw new Error(`${file}[${i}]: kind: expected CustomResourceDefinition`);
      }
      const metadata = object.metadata;
      if (!isRecord(metadata) || typeof metadata.name !== 'string') {
        throw new Error(`${file}[${i}]: metadata.name: expected a string`);
      }
      out.push({ name: metadata.name, object, metadata });
    });
  }
  return out;
}

function established(body: unknown): boolean {
  if (!isRecord(body) || !isRecord(body.status) || !Array.isArray(body.status.conditions)) return false;
  return body.status.conditions.some((c: unknown) => isRecord(c) && c.type === 'Established' && c.status === 'True');
}

/** Creates (or replaces) every CRD in `dir` and waits until each one is Established. */
export async function installCrds(conn: ApiConnection, dir: string, timeoutMs = 30_000): Promise<string[]> {
  const crds = await readCrds(dir);
  for (const crd of crds) {
    // The upstream ClusterNetworkPolicy CRD is large and carries CEL rules the API server compiles
    // on create: on a loaded machine that takes longer than apiRequest's default 5 s.
    const res = await apiRequest(conn, 'POST', CRD_PATH, crd.object, timeoutMs);
    if (res.status === 409) {
      const current = await apiRequest(conn, 'GET', `${CRD_PATH}/${crd.name}`);
      const meta = isRecord(current.body) && isRecord(current.body.metadata) ? current.body.metadata : {};
      const replaced = { ...crd.object, metadata: { ...crd.metadata, resourceVersion: meta.resourceVersion } };
      const put = await apiRequest(conn, 'PUT', `${CRD_PATH}/${crd.name}`, replaced, timeoutMs);
      if (put.status !== 200) throw new Error(`replacing CRD ${crd.name}: HTTP ${put.status}: ${put.text}`);
    } else if (res.status !== 201) {
      throw new Error(`creating CRD ${crd.name}: HTTP ${res.status}: ${res.text}`);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    for (;;) {
      const res = await apiRequest(conn, 'GET', `${CRD_PATH}/${crd.name}`);
      if (res.status === 200 && established(res.body)) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.name} not Established within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return crds.map((c) => c.name);
}
