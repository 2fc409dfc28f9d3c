/**
 * The real static `weir` plugin binary against the real socket server with scripted handlers.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CNI_ERROR_CODES } from './codes.js';
import { cniError, cniOk, type CniRequest, type CniResponse } from './protocol.js';
import { startCniServer, type CniServer, type CniServerEvent } from './server.js';
import { attachmentEnv, buildPlugin, runPlugin } from './testkit.js';

const NOT_CHAINED = 'weir must be chained after the interface plugin (macvlan/ipvlan) in a conflist; it got no prevResult';

let tmp = '';
/** The agent's run directory (WEIR_RUN_DIR): a config's "socket" must lie under it. */
let runDir = '';
let socket = '';
let server: CniServer | null = null;
let seen: CniRequest[] = [];
let events: CniServerEvent[] = [];

async function serve(
  handler: (req: CniRequest, signal: AbortSignal) => Promise<CniResponse> = async () => cniOk(),
  timeoutMs = 5_000,
): Promise<void> {
  await server?.close();
  server = await startCniServer({
    socketPath: socket,
    timeoutMs,
    handler: async (req, signal) => {
      seen.push(req);
      return handler(req, signal);
    },
    onEvent: (e) => events.push(e),
  });
}

function prevResultFor(version: string): Record<string, unknown> {
  return {
    cniVersion: version,
    interfaces: [{ name: 'eth0', mac: '0a:58:0a:2c:00:05', sandbox: '/var/run/netns/h4cni-test' }],
    ips: [{ ...(version === '0.3.1' ? { version: '4' } : {}), address: '10.44.0.5/24', gateway: '10.44.0.1', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: {},
  };
}

function config(version: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: version, name: 'h4net', type: 'weir', ...extra };
}

interface CniErrorOut {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

function errorOut(stdout: string): CniErrorOut {
  return JSON.parse(stdout) as CniErrorOut;
}

beforeAll(async () => {
  await buildPlugin();
  tmp = await mkdtemp(path.join(tmpdir(), 'h4cni-'));
  runDir = path.join(tmp, 'run');
  socket = path.join(runDir, 'cni.sock');
});

afterEach(async () => {
  await server?.close();
  server = null;
  seen = [];
  events = [];
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('weir CNI plugin: VERSION', () => {
  it('prints the supported versions without reading config or contacting the agent', async () => {
    const r = await runPlugin({ command: 'VERSION', stdin: '{"cniVersion":"1.1.0"}' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });
});

describe('weir CNI plugin: ADD', () => {
  it.each(['0.3.1', '0.4.0', '1.0.0', '1.1.0'])('cniVersion %s: returns prevResult unchanged and forwards the request', async (version) => {
    await serve();
    const prev = prevResultFor(version);
    const cfg = config(version, { prevResult: prev, runtimeConfig: { bandwidth: { ingressRate: 1000 } }, socket });
    const r = await runPlugin({ command: 'ADD', stdin: JSON.stringify(cfg), env: attachmentEnv({ runDir }) });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd()).toBe(JSON.stringify(prev)); // byte for byte
    expect(seen).toHaveLength(1);
    const req = seen[0];
    if (req?.command !== 'ADD') throw new Error('expected an ADD request');
    expect(req.cniVersion).toBe(version);
    expect(req.networkName).toBe('h4net');
    expect(req.config).toEqual(cfg);
    expect(req.prevResult).toEqual(prev);
    expect(req.runtimeConfig).toEqual({ bandwidth: { ingressRate: 1000 } });
    expect(req.attachment).toEqual({ containerId: 'c0ffee', netns: '/var/run/netns/h4cni-test', ifName: 'eth0' });
    expect(req.pod).toEqual({ namespace: 'ns-a', name: 'pod-1', infraContainerId: 'c0ffee', uid: '0b3a-uid' });
    expect(req.args.IgnoreUnknown).toBe('1');
    expect(req.path).toEqual(['/usr/lib/cni']);
  });

  it('keeps prevResult bytes (spacing, escapes) and sets cniVersion to the config\'s', async () => {
    await serve();
    const prevText = '{ "interfaces" : [ {"name":"eth0","mac":"\\u0030a:58"} ],\n "ips":[] }';
    const stdin = `{"cniVersion":"1.0.0","name":"n","type":"weir","socket":${JSON.stringify(socket)},"prevResult":${prevText}}`;
    const r = await runPlugin({ command: 'ADD', stdin, env: attachmentEnv({ runDir }) });
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd()).toBe(`{"cniVersion":"1.0.0",${prevText.slice(1)}`);

    const mismatched = `{"cniVersion":"1.0.0","socket":${JSON.stringify(socket)},"prevResult":{"cniVersion":"0.4.0","ips":[]}}`;
    const r2 = await runPlugin({ command: 'ADD', stdin: mismatched, env: attachmentEnv({ runDir }) });
    expect(r2.stdout.trimEnd()).toBe('{"cniVersion":"1.0.0","ips":[]}');

    const empty = `{"cniVersion":"1.0.0","socket":${JSON.stringify(socket)},"prevResult":{ }}`;
    const r3 = await runPlugin({ command: 'ADD', stdin: empty, env: attachmentEnv({ runDir }) });
    expect(JSON.parse(r3.stdout)).toEqual({ cniVersion: '1.0.0' });
  });

  it('refuses to run unchained (no prevResult) without contacting the agent', async () => {
    await serve();
    for (const command of ['ADD', 'CHECK']) {
      const r = await runPlugin({ command, stdin: JSON.stringify(config('1.0.0', { socket })), env: attachmentEnv({ runDir }) });
      expect(r.status).toBe(1);
      expect(errorOut(r.stdout)).toEqual({ cniVersion: '1.0.0', code: 7, msg: NOT_CHAINED });
    }
    expect(seen).toHaveLength(0);
  });

  it('propagates the handler\'s CNI error (code, message, details)', async () => {
    await serve(async () => cniError(CNI_ERROR_CODES.CNI_ERR_TRY_AGAIN_LATER, 'pod ns-a/pod-1: intent "x" is invalid', 'field spec.bandwidth'));
    const r = await runPlugin({ command: 'ADD', stdin: JSON.stringify(config('1.1.0', { prevResult: prevResultFor('1.1.0'), socket })), env: attachmentEnv({ runDir }) });
    expect(r.status).toBe(1);
    expect(errorOut(r.stdout)).toEqual({ cniVersion: '1.1.0', code: 11, msg: 'pod ns-a/pod-1: intent "x" is invalid', details: 'field spec.bandwidth' });
  });

  it('a throwing handler becomes WEIR_ERR_AGENT_INTERNAL, never a crash of the server', async () => {
    await serve(async () => {
      throw new Error('map is full');
    });
    const r = await runPlugin({ command: 'ADD', stdin: JSON.stringify(config('1.0.0', { prevResult: prevResultFor('1.0.0'), socket })), env: attachmentEnv({ runDir }) });
    expect(errorOut(r.stdout)).toMatchObject({ code: CNI_ERROR_CODES.WEIR_ERR_AGENT_INTERNAL, msg: 'weir agent failed to handle ADD: map is full' });
    expect(events.some((e) => e.type === 'handler-error')).toBe(true);
  });

  it('honours timeoutSeconds when the agent does not answer', async () => {
    await serve((_req, signal) => new Promise((resolve) => {
      const t = setTimeout(() => resolve(cniOk()), 4_000);
      signal.addEventListener('abort', () => clearTimeout(t));
    }));
    const r = await runPlugin({
      command: 'ADD',
      stdin: JSON.stringify(config('1.0.0', { prevResult: prevResultFor('1.0.0'), socket, timeoutSeconds: 0.3 })),
      env: attachmentEnv({ runDir }),
    });
    expect(r.status).toBe(1);
    expect(errorOut(r.stdout)).toEqual({ cniVersion: '1.0.0', code: 101, msg: `weir agent at ${socket} did not answer within 0.3s (timeoutSeconds)` });
    expect(r.ms).toBeGreaterThanOrEqual(280);
    expect(r.ms).toBeLessThan(2_000);
  });

  it('the server bounds a slow handler with its own timeout', async () => {
    await serve(() => new Promise(() => undefined), 200);
    const r = await runPlugin({ command: 'ADD', stdin: JSON.stringify(config('1.0.0', { prevResult: prevResultFor('1.0.0'), socket })), env: attachmentEnv({ runDir }) });
    expect(errorOut(r.stdout)).toMatchObject({ code: 101, msg: 'weir agent did not finish ADD within 200 ms' });
  });

  it('fails on missing CNI_* environment with code 4', async () => {
    await serve();
    const env = attachmentEnv({ runDir });
    delete env.CNI_NETNS;
    const r = await runPlugin({ command: 'ADD', stdin: JSON.stringify(config('1.0.0', { prevResult: prevResultFor('1.0.0'), socket })), env });
    expect(errorOut(r.stdout)).toMatchObject({ code: 4, msg: 'CNI_NETNS is not set' });
    const r2 = await runPlugin({ command: undefined, stdin: '{}', env: attachmentEnv({ runDir }) });
    expect(errorOut(r2.stdout)).toMatchObject({ code: 4 });
    const r3 = await runPlugin({ command: 'FROB', stdin: '{}', env: attachmentEnv({ runDir }) });
    expect(errorOut(r3.stdout)).toMatchObject({ code: 4 });
    expect(seen).toHaveLength(0);
  });

  it('WEIR_CNI_SOCKET overrides the config\'s "socket"', async () => {
    await serve();
    const cfg = config('1.0.0', { prevResult: prevResultFor('1.0.0'), socket: path.join(tmp, 'nowhere.sock') });
    const r = await runPlugin({ command: 'ADD', stdin: JSON.stringify(cfg), env: attachmentEnv({ socket }) });
    expect(r.status).toBe(0);
    expect(seen).toHaveLength(1);
  });

  it('handles concurrent ADDs', async () => {
    await serve(async (req) => {
      await new Promise((res) => setTimeout(res, 20));
      return req.command === 'ADD' && req.attachment.containerId.endsWith('7') ? cniError(110, 'seven') : cniOk();
    });
    const runs = await Promise.all(Array.from({ length: 16 }, (_, i) => runPlugin({
      command: 'ADD',
      stdin: JSON.stringify(config('1.0.0', { prevResult: prevResultFor('1.0.0'), socket })),
      env: attachmentEnv({ containerId: `ctr-${i}`, runDir }),
    })));
    expect(runs.map((r) => r.status)).toEqual(Array.from({ length: 16 }, (_, i) => (i % 10 === 7 ? 1 : 0)));
    expect(seen).toHaveLength(16);
  });
});

describe('weir CNI plugin: agent down', () => {
  const gone = (): string => path.join(tmp, 'absent', 'cni.sock');

  it('ADD and CHECK fail closed with a message that says what to check', async () => {
    for (const command of ['ADD', 'CHECK']) {
      const r = await runPlugin({ command, stdin: JSON.stringify(config('1.0.0', { prevResult: prevResultFor('1.0.0') })), env: attachmentEnv({ socket: gone() }) });
      expect(r.status).toBe(1);
      expect(errorOut(r.stdout)).toEqual({
        cniVersion: '1.0.0',
        code: 100,
        msg: `weir agent not reachable at ${gone()}: no such file or directory; is the weir-agent DaemonSet running on this node?`,
      });
    }
  });

  it('a socket file nobody listens on reads "connection refused"', async () => {
    // What a killed agent leaves behind: a bound socket path without a listener.
    const dead = path.join(tmp, 'dead.sock');
    await promisify(execFile)('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', dead]);
    const r = await runPlugin({ command: 'ADD', stdin: JSON.stringify(config('1.0.0', { prevResult: prevResultFor('1.0.0') })), env: attachmentEnv({ socket: dead }) });
    expect(errorOut(r.stdout)).toMatchObject({
      code: 100,
      msg: `weir agent not reachable at ${dead}: connection refused; is the weir-agent DaemonSet running on this node?`,
    });
  });

  it('DEL succeeds (exit 0, no stdout) even with the agent down and the netns gone', async () => {
    const env = attachmentEnv({ socket: gone() });
    delete env.CNI_NETNS;
    const r = await runPlugin({ command: 'DEL', stdin: JSON.stringify(config('0.3.1')), env });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('not reachable');
  });

  it('STATUS reports not ready with code 50', async () => {
    const r = await runPlugin({ command: 'STATUS', stdin: JSON.stringify(config('1.1.0')), env: { WEIR_CNI_SOCKET: gone() } });
    expect(r.status).toBe(1);
    expect(errorOut(r.stdout)).toMatchObject({ cniVersion: '1.1.0', code: 50 });
  });
});

describe('weir CNI plugin: DEL, CHECK, STATUS, GC', () => {
  it('DEL forwards and exits 0 even when the agent answers with an error', async () => {
    await serve(async () => cniError(104, 'boom'));
    const env = attachmentEnv({ socket });
    delete env.CNI_NETNS;
    const r = await runPlugin({ command: 'DEL', stdin: JSON.stringify(config('1.0.0', { prevResult: prevResultFor('1.0.0') })), env });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    const req = seen[0];
    if (req?.command !== 'DEL') throw new Error('expected DEL');
    expect(req.attachment.netns).toBeNull();
    expect(req.prevResult).toEqual(prevResultFor('1.0.0'));
  });

  it('CHECK succeeds silently; refused for cniVersion 0.3.1', async () => {
    await serve();
    const ok = await runPlugin({ command: 'CHECK', stdin: JSON.stringify(config('0.4.0', { prevResult: prevResultFor('0.4.0') })), env: attachmentEnv({ socket }) });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe('');
    expect(seen.map((r) => r.command)).toEqual(['CHECK']);
    const old = await runPlugin({ command: 'CHECK', stdin: JSON.stringify(config('0.3.1', { prevResult: prevResultFor('0.3.1') })), env: attachmentEnv({ socket }) });
    expect(errorOut(old.stdout)).toMatchObject({ code: 1 });
  });

  it('STATUS: ready when the agent answers ok; the agent\'s own not-ready keeps its code', async () => {
    let ready = true;
    await serve(async () => (ready ? cniOk() : cniError(50, 'weir agent has not synced policies yet')));
    const up = await runPlugin({ command: 'STATUS', stdin: JSON.stringify(config('1.1.0')), env: { WEIR_CNI_SOCKET: socket } });
    expect(up.status).toBe(0);
    expect(up.stdout).toBe('');
    ready = false;
    const down = await runPlugin({ command: 'STATUS', stdin: JSON.stringify(config('1.1.0')), env: { WEIR_CNI_SOCKET: socket } });
    expect(errorOut(down.stdout)).toEqual({ cniVersion: '1.1.0', code: 50, msg: 'weir agent has not synced policies yet' });
    const old = await runPlugin({ command: 'STATUS', stdin: JSON.stringify(config('1.0.0')), env: { WEIR_CNI_SOCKET: socket } });
    expect(errorOut(old.stdout)).toMatchObject({ code: 1 });
  });

  it('GC forwards cni.dev/valid-attachments', async () => {
    await serve();
    const valid = [{ containerID: 'a1', ifname: 'eth0' }, { containerID: 'b2', ifname: 'net1' }];
    const r = await runPlugin({ command: 'GC', stdin: JSON.stringify(config('1.1.0', { 'cni.dev/valid-attachments': valid })), env: { WEIR_CNI_SOCKET: socket } });
    expect(r.status).toBe(0);
    const req = seen[0];
    if (req?.command !== 'GC') throw new Error('expected GC');
    expect(req.validAttachments).toEqual([{ containerId: 'a1', ifName: 'eth0' }, { containerId: 'b2', ifName: 'net1' }]);
  });
});

describe('weir CNI plugin: malformed input', () => {
  const cases: Array<[string, string | Buffer, number[]]> = [
    ['empty stdin', '', [6]],
    ['null', 'null', [6]],
    ['an array', '[1,2]', [6]],
    ['truncated object', '{"cniVersion":"1.0.0"', [6]],
    ['trailing comma', '{"cniVersion":"1.0.0",}', [6]],
    ['trailing garbage', '{"cniVersion":"1.0.0"} x', [6]],
    ['two objects', '{}{}', [6]],
    ['deep nesting', `{"a":${'['.repeat(100_000)}`, [6]],
    ['NUL byte', Buffer.from('{"cniVersion":"1.0.0\u0000"}'), [6]],
    ['bad escape', '{"cniVersion":"1.0\\x"}', [6]],
    ['lone surrogate in version', '{"cniVersion":"\\ud800"}', [7]],
    ['numeric cniVersion', '{"cniVersion":1}', [7]],
    ['unsupported cniVersion', '{"cniVersion":"9.9.9","prevResult":{}}', [1]],
    ['prevResult not an object', '{"cniVersion":"1.0.0","prevResult":"x"}', [7]],
    ['bad timeoutSeconds', '{"cniVersion":"1.0.0","prevResult":{},"timeoutSeconds":-1}', [7]],
    ['bad socket', '{"cniVersion":"1.0.0","prevResult":{},"socket":""}', [7]],
    ['socket path too long for sun_path', `{"cniVersion":"1.0.0","prevResult":{},"socket":"/${'s'.repeat(120)}"}`, [7]],
    ['over 1 MiB', `{"cniVersion":"1.0.0","pad":"${'x'.repeat(1024 * 1024)}"}`, [6]],
    ['binary noise', Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x22]), [6]],
  ];
  it.each(cases)('%s → CNI error object, exit 1, no crash', async (_name, stdin, codes) => {
    const r = await runPlugin({ command: 'ADD', stdin, env: attachmentEnv({ socket: path.join(tmp, 'absent.sock') }) });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(codes).toContain(errorOut(r.stdout).code);
  });

  it('random inputs never crash the plugin (fuzz)', async () => {
    const arb = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 4 }),
      fc.json({ maxDepth: 3 }).map((j) => `{"cniVersion":"1.0.0","prevResult":{"x":${j}}`),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    );
    await fc.assert(fc.asyncProperty(arb, async (stdin) => {
      const r = await runPlugin({ command: 'ADD', stdin, env: attachmentEnv({ socket: path.join(tmp, 'absent.sock') }) });
      expect(r.signal).toBeNull();
      expect(r.status).toBe(1);
      const out = errorOut(r.stdout);
      expect(typeof out.code).toBe('number');
      expect(typeof out.msg).toBe('string');
    }), { numRuns: 150 });
  });
});
