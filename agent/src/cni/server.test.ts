/** The socket server on its own: framing, bounds, permissions, stale sockets, shutdown. */
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cniOk, type CniResponse } from './protocol.js';
import { startCniServer, type CniServer } from './server.js';

let tmp = '';
let server: CniServer | null = null;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'h4cni-srv-'));
});
afterEach(async () => {
  await server?.close();
  server = null;
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Sends raw bytes the way the plugin does (write, half-close) and returns the raw answer. */
function exchange(socketPath: string, payload: string | Buffer, halfClose = true): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (e) => (chunks.length ? resolve(Buffer.concat(chunks).toString()) : reject(e)));
    s.on('close', () => resolve(Buffer.concat(chunks).toString()));
    s.write(payload);
    if (halfClose) s.end();
  });
}

const request = {
  version: 1,
  command: 'ADD',
  containerId: 'c1',
  netns: '/var/run/netns/x',
  ifName: 'eth0',
  args: 'K8S_POD_NAMESPACE=a;K8S_POD_NAME=b',
  path: '',
  config: { cniVersion: '1.0.0', name: 'n', prevResult: {} },
};

describe('CNI socket server', () => {
  it('creates a 0700 directory and a 0600 socket', async () => {
    const sock = path.join(tmp, 'perm', 'cni.sock');
    server = await startCniServer({ socketPath: sock, handler: async () => cniOk(), timeoutMs: 1000 });
    expect((await stat(path.dirname(sock))).mode & 0o777).toBe(0o700);
    const st = await lstat(sock);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(JSON.parse(await exchange(sock, JSON.stringify(request)))).toEqual({ ok: true });
  });

  it.each<[string, string | Buffer, RegExp]>([
    ['not JSON', 'hello', /^weir agent could not decode the request/],
    ['wrong protocol version', JSON.stringify({ ...request, version: 2 }), /version: must be 1/],
    ['unknown command', JSON.stringify({ ...request, command: 'FROB' }), /command: must be one of/],
    ['ADD without netns', JSON.stringify({ ...request, netns: '' }), /netns: is required/],
    ['ADD without prevResult', JSON.stringify({ ...request, config: { cniVersion: '1.0.0' } }), /config\.prevResult: is required/],
    ['half a pod', JSON.stringify({ ...request, args: 'K8S_POD_NAME=b' }), /K8S_POD_NAMESPACE and K8S_POD_NAME/],
    ['bad CNI_ARGS pair', JSON.stringify({ ...request, args: 'novalue' }), /args\[0\]/],
    ['bad GC list', JSON.stringify({ ...request, command: 'GC', config: { cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ ifname: 'eth0' }] } }), /valid-attachments"\]\[0\]\.containerID: is required/],
  ])('answers a malformed request (%s) with WEIR_ERR_BAD_REQUEST', async (_name, payload, message) => {
    const sock = path.join(tmp, 'bad', 'cni.sock');
    let calls = 0;
    server = await startCniServer({ socketPath: sock, handler: async () => { calls++; return cniOk(); }, timeoutMs: 1000 });
    const answer = JSON.parse(await exchange(sock, payload)) as CniResponse;
    if (answer.ok) throw new Error('expected an error');
    expect(answer.code).toBe(103);
    expect(answer.message).toMatch(message);
    expect(calls).toBe(0);
  });

  it('bounds the request size', async () => {
    const sock = path.join(tmp, 'big', 'cni.sock');
    server = await startCniServer({ socketPath: sock, handler: async () => cniOk(), timeoutMs: 2000, maxRequestBytes: 4096 });
    const answer = await exchange(sock, Buffer.alloc(100_000, 0x20));
    expect(JSON.parse(answer)).toMatchObject({ ok: false, code: 103, message: 'request exceeds 4096 bytes' });
  });

  it('drops a client that never finishes its request', async () => {
    const sock = path.join(tmp, 'slow', 'cni.sock');
    server = await startCniServer({ socketPath: sock, handler: async () => cniOk(), timeoutMs: 150 });
    const t0 = performance.now();
    expect(await exchange(sock, '{"version":', false)).toBe('');
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('replaces a stale socket, refuses a live one and a non-socket', async () => {
    const sock = path.join(tmp, 'stale.sock');
    await promisify(execFile)('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', sock]);
    server = await startCniServer({ socketPath: sock, handler: async () => cniOk(), timeoutMs: 1000 });
    await expect(startCniServer({ socketPath: sock, handler: async () => cniOk(), timeoutMs: 1000 }))
      .rejects.toThrow(/already serving/);
    const file = path.join(tmp, 'regular');
    await writeFile(file, 'x');
    await expect(startCniServer({ socketPath: file, handler: async () => cniOk(), timeoutMs: 1000 }))
      .rejects.toThrow(/not a socket/);
  });

  it('close() aborts running handlers and removes the socket', async () => {
    const sock = path.join(tmp, 'close', 'cni.sock');
    let aborted = false;
    server = await startCniServer({
      socketPath: sock,
      timeoutMs: 5000,
      handler: (_req, signal) => new Promise((resolve) => {
        signal.addEventListener('abort', () => { aborted = true; resolve(cniOk()); });
      }),
    });
    const pending = exchange(sock, JSON.stringify(request)).catch(() => '');
    await new Promise((r) => setTimeout(r, 100));
    await server.close();
    server = null;
    await pending;
    expect(aborted).toBe(true);
    await expect(lstat(sock)).rejects.toThrow(/ENOENT/);
  });
});
