/**
 * rawList against a scripted HTTPS API server: the first page asks resourceVersion=0 with a limit,
 * later pages follow `continue` (without resourceVersion, which the API server refuses together with
 * a continue token), an expired token (410) falls back to one consistent unpaged list, and a 404
 * means "type not served". The real kube-apiserver answers resourceVersion=0 from its watch cache
 * in one piece (test/agent/list-pages.test.ts), so the paging path is exercised here.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackServingPki } from '../../../harness/controlplane/pki.js';
import { rawList } from './kube-source.js';

const pod = (i: number): unknown => ({ metadata: { name: `p${i}`, namespace: 'ns' } });
const list = (items: unknown[], rv: string, token = ''): string => JSON.stringify({ kind: 'List', metadata: { resourceVersion: rv, continue: token }, items });
const status = (code: number, message: string): string => JSON.stringify({ kind: 'Status', status: 'Failure', code, message });

let server: Server;
let kc: KubeConfig;
const seen: string[] = [];

beforeAll(async () => {
  const { ca, serving } = await loopbackServingPki();
  server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    seen.push(`${url.pathname}${url.search}`);
    const q = url.searchParams;
    const send = (code: number, body: string): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(body);
    };
    switch (url.pathname) {
      case '/api/v1/pods':
        if (q.get('continue') === 'c1') return send(200, list([pod(2), pod(3)], '100', 'c2'));
        if (q.get('continue') === 'c2') return send(200, list([pod(4)], '100'));
        return send(200, list([pod(0), pod(1)], '100', 'c1'));
      case '/expiring':
        if (q.has('continue')) return send(410, status(410, 'The provided continue parameter is too old'));
        if (q.has('limit')) return send(200, list([pod(0)], '100', 'old'));
        return send(200, list([pod(0), pod(1), pod(2)], '200'));
      case '/forbidden':
        return send(403, status(403, 'pods is forbidden: User "x" cannot list resource "pods"'));
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('404 page not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, caData: Buffer.from(ca.certPem).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe('rawList', () => {
  it('pages: resourceVersion=0 and limit first, then continue tokens without resourceVersion', async () => {
    seen.length = 0;
    const got = await rawList(kc, '/api/v1/pods', { pageSize: 2 })({ labelSelector: 'app=a' });
    expect(got?.items).toEqual([0, 1, 2, 3, 4].map(pod));
    expect(got?.resourceVersion).toBe('100');
    expect(seen).toEqual([
      '/api/v1/pods?labelSelector=app%3Da&resourceVersion=0&limit=2',
      '/api/v1/pods?labelSelector=app%3Da&limit=2&continue=c1',
      '/api/v1/pods?labelSelector=app%3Da&limit=2&continue=c2',
    ]);
  });

  it('an expired continue token (410) falls back to one consistent list', async () => {
    seen.length = 0;
    const got = await rawList(kc, '/expiring', { pageSize: 1 })({});
    expect(got).toEqual({ items: [0, 1, 2].map(pod), resourceVersion: '200' });
    expect(seen).toEqual(['/expiring?resourceVersion=0&limit=1', '/expiring?limit=1&continue=old', '/expiring']);
  });

  it('404 is "not served" (undefined); any other failure rejects with the Status message', async () => {
    expect(await rawList(kc, '/apis/example.com/v1/things')({})).toBeUndefined();
    await expect(rawList(kc, '/forbidden')({})).rejects.toThrow('GET /forbidden: HTTP 403: pods is forbidden: User "x" cannot list resource "pods"');
  });
});
