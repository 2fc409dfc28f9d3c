/**
 * Issue 12: the weir plugin must not trust whichever socket a NetworkAttachmentDefinition names.
 * A NAD author controls the plugin config's "socket", so:
 *   - a config "socket" is accepted only under the agent's run directory (WEIR_RUN_DIR, default
 *     /run/weir), checked before any connection is made;
 *   - whatever socket is used, the process serving it must be root (SO_PEERCRED): a fake agent
 *     run by anyone else that answers {"ok":true} is refused before the request is sent.
 * The real plugin binary against a real socket server; the fake agent runs as uid 65534.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNI_ERROR_CODES } from './codes.js';
import { cniOk, type CniRequest } from './protocol.js';
import { startCniServer, type CniServer } from './server.js';
import { attachmentEnv, buildPlugin, runPlugin } from './testkit.js';
import { describePrivileged } from '../../../test/support/privileged.js';

const NOBODY = 65534;
const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: [{ address: '10.44.0.5/24', interface: 0 }] };
const config = (extra: Record<string, unknown> = {}): string => JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'weir', prevResult, ...extra });

let tmp = '';
let runDir = '';
let server: CniServer | undefined;
const seen: CniRequest[] = [];

beforeAll(async () => {
  await buildPlugin();
  tmp = await mkdtemp(path.join(tmpdir(), 'weir-cni-trust-'));
  runDir = path.join(tmp, 'run');
  server = await startCniServer({ socketPath: path.join(runDir, 'cni.sock'), timeoutMs: 5_000, handler: async (req) => { seen.push(req); return cniOk(); } });
});

afterAll(async () => {
  await server?.close();
  await rm(tmp, { recursive: true, force: true });
});

function errorOut(stdout: string): { code: number; msg: string } {
  return JSON.parse(stdout) as { code: number; msg: string };
}

describe('a config "socket" only under the agent\'s run directory', () => {
  it('a socket in the run directory is used (the root agent answers)', async () => {
    const r = await runPlugin({ command: 'ADD', stdin: config({ socket: path.join(runDir, 'cni.sock') }), env: attachmentEnv({ runDir }) });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(seen).toHaveLength(1);
  });

  it('without "socket" the plugin uses <run dir>/cni.sock', async () => {
    seen.length = 0;
    const r = await runPlugin({ command: 'ADD', stdin: config(), env: attachmentEnv({ runDir }) });
    expect(r.status).toBe(0);
    expect(seen).toHaveLength(1);
  });

  const outside: Array<[string, (run: string) => string]> = [
    ['a socket elsewhere', (run) => path.join(path.dirname(run), 'evil.sock')],
    ['climbing out with ..', (run) => `${run}/../evil.sock`],
    ['a sibling sharing the prefix', (run) => `${run}x/cni.sock`],
    ['the directory itself', (run) => run],
    ['a "." component', (run) => `${run}/./cni.sock`],
    ['a relative path', () => 'run/cni.sock'],
    ['a trailing slash', (run) => `${run}/cni.sock/`],
  ];
  it.each(outside)('%s is refused before connecting', async (what, make) => {
    const socket = make(runDir);
    seen.length = 0;
    for (const command of ['ADD', 'CHECK']) {
      const r = await runPlugin({ command, stdin: config({ socket }), env: attachmentEnv({ runDir }) });
      expect(r.status, what).toBe(1);
      expect(errorOut(r.stdout), what).toMatchObject({
        code: CNI_ERROR_CODES.CNI_ERR_INVALID_CONFIG,
        msg: `"socket" is ${socket}, which is not a path under the weir agent's run directory ${runDir}; the plugin talks only to a socket there. ` +
          `Remove "socket" from the network configuration (NetworkAttachmentDefinition) to use ${runDir}/cni.sock, or name a path under ${runDir}`,
      });
    }
    expect(seen).toHaveLength(0);
  });

  it('the default run directory is /run/weir', async () => {
    const socket = path.join(runDir, 'cni.sock');
    const r = await runPlugin({ command: 'ADD', stdin: config({ socket }), env: attachmentEnv() });
    const error = errorOut(r.stdout);
    expect(error.code).toBe(CNI_ERROR_CODES.CNI_ERR_INVALID_CONFIG);
    expect(error.msg).toContain('run directory /run/weir;');
  });

  it('DEL with such a socket still exits 0 and says why on stderr', async () => {
    const env = attachmentEnv({ runDir });
    delete env.CNI_NETNS;
    const r = await runPlugin({ command: 'DEL', stdin: config({ socket: path.join(tmp, 'evil.sock') }), env });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`"socket" ${path.join(tmp, 'evil.sock')} is outside ${runDir}`);
  });
});

describePrivileged('the process serving the socket must be root (SO_PEERCRED)', () => {
  let fakeDir = '';
  let fake: ChildProcess | undefined;
  let fakeOut = '';

  beforeAll(async () => {
    // A directory the unprivileged fake can bind in, under a run directory given to the plugin.
    fakeDir = path.join(tmp, 'fake-run');
    await mkdir(fakeDir);
    await chmod(tmp, 0o711);
    await chmod(fakeDir, 0o777);
    // The fake agent: answers "ok" to anything and prints what it received.
    const program = `
      const net = require('node:net');
      net.createServer((c) => {
        const got = [];
        c.on('data', (d) => got.push(d));
        c.on('end', () => { process.stdout.write('request:' + Buffer.concat(got).length + '\\n'); c.end('{"ok":true}'); });
        c.on('error', () => undefined);
      }).listen(process.argv[1], () => process.stdout.write('listening\\n'));`;
    // Node may live where uid 65534 cannot reach it (the cached Node 22 is under /root): its own copy.
    const node = path.join(tmp, 'node');
    await copyFile(process.execPath, node);
    await chmod(node, 0o755);
    fake = spawn(node, ['-e', program, path.join(fakeDir, 'cni.sock')], { uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'inherit'] });
    fake.stdout?.on('data', (d: Buffer) => { fakeOut += d.toString('utf8'); });
    const deadline = Date.now() + 10_000;
    while (!fakeOut.includes('listening')) {
      if (Date.now() > deadline || fake.exitCode !== null) throw new Error(`the fake agent did not start (${fakeOut})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  afterAll(() => {
    fake?.kill('SIGKILL');
  });

  const expected = (socket: string): string =>
    `the process serving ${socket} (pid ${fake?.pid ?? -1}) runs as uid ${NOBODY}, not root: it is not the weir agent, so its answer is not trusted; ` +
    `check what listens on ${socket} (the weir-agent DaemonSet runs as root)`;

  it('ADD and CHECK fail closed, named by the NAD or by WEIR_CNI_SOCKET, and no request is sent', async () => {
    const socket = path.join(fakeDir, 'cni.sock');
    const fromNad = await runPlugin({ command: 'ADD', stdin: config({ socket }), env: attachmentEnv({ runDir: fakeDir }) });
    const fromEnv = await runPlugin({ command: 'CHECK', stdin: config(), env: attachmentEnv({ socket }) });
    for (const r of [fromNad, fromEnv]) {
      expect(r.status).toBe(1);
      expect(errorOut(r.stdout)).toEqual({ cniVersion: '1.0.0', code: CNI_ERROR_CODES.WEIR_ERR_AGENT_UNTRUSTED, msg: expected(socket) });
    }
    // The fake saw two connections and not one byte of either request.
    await new Promise((r) => setTimeout(r, 100));
    expect(fakeOut.match(/request:\d+/g)).toEqual(['request:0', 'request:0']);
  });

  it('STATUS reports not ready with the reason; DEL exits 0 with it on stderr', async () => {
    const socket = path.join(fakeDir, 'cni.sock');
    const status = await runPlugin({ command: 'STATUS', stdin: JSON.stringify({ cniVersion: '1.1.0' }), env: { WEIR_CNI_SOCKET: socket } });
    expect(errorOut(status.stdout)).toMatchObject({ code: CNI_ERROR_CODES.CNI_ERR_NOT_READY, msg: expected(socket) });
    const env = attachmentEnv({ socket });
    delete env.CNI_NETNS;
    const del = await runPlugin({ command: 'DEL', stdin: config(), env });
    expect(del.status).toBe(0);
    expect(del.stderr).toContain(expected(socket));
  });
});
