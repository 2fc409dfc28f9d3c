/**
 * The fast request path must answer exactly as the express app it bypasses: the same status,
 * content type and body for every request, whether it takes the fast path or falls back.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podReview } from '../../../test/webhook/https.js';
import { createAdmissionApp, type AdmissionAppDeps } from './app.js';
import type { ClusterView, Decider, Decision } from './contract.js';
import { createAdmissionHandler, fastEndpoint, parseJsonBody } from './fast-path.js';
import { createMetrics } from './metrics.js';

const LIMIT = 4096;
const view: ClusterView = { namespace: () => undefined, nad: () => undefined, coordinator: () => undefined };
const patch = [{ op: 'add' as const, path: '/metadata/annotations/weir.dev~1intent', value: '{"v":1}' }];

function decide(pod: unknown): Decision {
  const name = (pod as { metadata?: { name?: string } }).metadata?.name;
  if (name === 'throw') throw new Error('kaboom');
  if (name === 'deny') return { kind: 'deny', refusals: [{ code: 'WEIR_NAD_NOT_FOUND', field: 'metadata.annotations', message: 'no NAD' }], warnings: [] };
  return { kind: 'allow', patch, warnings: ['w'] };
}
const decider: Decider = {
  mutatePod: (p) => decide(p),
  validatePod: (p) => decide(p),
  mutateNad: () => ({ kind: 'allow', patch, warnings: [] }),
  validateNad: () => ({ kind: 'allow', patch: [], warnings: [] }),
  denialMessage: (rs) => rs.map((r) => r.message).join('; '),
};

function deps(): AdmissionAppDeps {
  // No catch-up wait: this view holds nothing, and the wait is not what is compared here.
  return { decider, view, catchUp: { timeoutMs: 0, pollMs: 1 }, options: { coordinatorName: 'default' }, logger: pino({ level: 'silent' }), metrics: createMetrics(), bodyLimitBytes: LIMIT };
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<http.Server> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

interface Ask {
  path: string;
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
}
interface Answer {
  status: number;
  type: string | undefined;
  allow: string | undefined;
  body: string;
}

function ask(server: http.Server, q: Ask): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: q.path, method: q.method ?? 'POST', headers: q.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], allow: res.headers.allow, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(q.body);
  });
}

const json = { 'content-type': 'application/json' };
const review = (name: string): string => JSON.stringify(podReview(`uid-${name}`, { object: { metadata: { name, namespace: 'ns' } } }));

const cases: [string, Ask, boolean][] = [
  ['allowed mutation', { path: '/mutate-pods', body: review('ok'), headers: json }, true],
  ['validation', { path: '/validate-pods', body: review('ok'), headers: json }, true],
  ['denial', { path: '/validate-pods', body: review('deny'), headers: json }, true],
  ['a decision that throws', { path: '/mutate-pods', body: review('throw'), headers: json }, true],
  ['nad path with a pod', { path: '/validate-nads', body: review('ok'), headers: json }, true],
  ['charset=utf-8', { path: '/mutate-pods', body: review('ok'), headers: { 'content-type': 'application/json; charset=utf-8' } }, true],
  ['upper-case type', { path: '/mutate-pods', body: review('ok'), headers: { 'content-type': 'Application/JSON' } }, true],
  ['leading BOM', { path: '/mutate-pods', body: `\uFEFF${review('ok')}`, headers: json }, true],
  ['malformed JSON', { path: '/mutate-pods', body: '{"apiVersion":', headers: json }, true],
  ['JSON scalar', { path: '/mutate-pods', body: '"x"', headers: json }, true],
  ['scalar after whitespace', { path: '/mutate-pods', body: ' \n 42 ', headers: json }, true],
  ['JSON array', { path: '/mutate-pods', body: '[1]', headers: json }, true],
  ['empty body', { path: '/mutate-pods', body: '', headers: json }, true],
  ['not a review', { path: '/mutate-pods', body: '{"kind":"Pod"}', headers: json }, true],
  ['body over the limit', { path: '/mutate-pods', body: `{"x":"${'y'.repeat(LIMIT)}"}`, headers: json }, false],
  ['chunked body', { path: '/mutate-pods', body: review('ok'), headers: { ...json, 'transfer-encoding': 'chunked' } }, false],
  ['query string', { path: '/mutate-pods?x=1', body: review('ok'), headers: json }, false],
  ['trailing slash', { path: '/mutate-pods/', body: review('ok'), headers: json }, false],
  ['other case in the path', { path: '/Mutate-Pods', body: review('ok'), headers: json }, false],
  ['unsupported charset', { path: '/mutate-pods', body: '{}', headers: { 'content-type': 'application/json; charset=latin-9' } }, false],
  ['utf-16 charset', { path: '/mutate-pods', body: '{}', headers: { 'content-type': 'application/json; charset=utf-16' } }, false],
  ['no content type', { path: '/mutate-pods', body: '{}' }, false],
  ['text body', { path: '/mutate-pods', body: '{}', headers: { 'content-type': 'text/plain' } }, false],
  ['unknown encoding', { path: '/mutate-pods', body: '{}', headers: { ...json, 'content-encoding': 'br' } }, false],
  ['GET', { path: '/mutate-pods', method: 'GET' }, false],
  ['unknown path', { path: '/mutate-configmaps', body: '{}', headers: json }, false],
];

describe('the fast admission path answers as the express app', () => {
  let fast: http.Server;
  let express: http.Server;
  let classifier: http.Server;
  beforeAll(async () => {
    fast = await serve(createAdmissionHandler(deps()));
    express = await serve(createAdmissionApp(deps()));
    // Answers 204 when the fast path would take the request, 404 when it would fall back.
    classifier = await serve((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(fastEndpoint(req, LIMIT) === undefined ? 404 : 204).end());
    });
  });
  afterAll(() => {
    for (const s of [fast, express, classifier]) s.close();
  });

  it.each(cases)('%s', async (_name, q, takesFastPath) => {
    const [got, want, taken] = await Promise.all([ask(fast, q), ask(express, q), ask(classifier, q)]);
    expect(got).toEqual(want);
    expect(taken.status).toBe(takesFastPath ? 204 : 404);
  });

  it('the uid is echoed and the patch encoded on the fast path', async () => {
    const r = await ask(fast, { path: '/mutate-pods', body: review('ok'), headers: json });
    const body = JSON.parse(r.body) as { response: { uid: string; allowed: boolean; patch: string } };
    expect(body.response.uid).toBe('uid-ok');
    expect(body.response.allowed).toBe(true);
    expect(JSON.parse(Buffer.from(body.response.patch, 'base64').toString('utf8'))).toEqual(patch);
  });
});

describe('parseJsonBody', () => {
  it('reads objects and arrays, {} for an empty body, and refuses scalars naming the character', () => {
    expect(parseJsonBody('{"a":1}')).toEqual({ a: 1 });
    expect(parseJsonBody(' [1]')).toEqual([1]);
    expect(parseJsonBody('')).toEqual({});
    expect(parseJsonBody('\uFEFF{}')).toEqual({});
    expect(() => parseJsonBody('true')).toThrow(/t/);
    expect(() => parseJsonBody('{"a":')).toThrow(SyntaxError);
  });
});
