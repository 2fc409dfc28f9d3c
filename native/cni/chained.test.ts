/**
 * The weir plugin chained for real after `macvlan` + `host-local` (Debian containernetworking-
 * plugins), invoked the way libcni runs a conflist, inside throwaway network namespaces: the
 * plugins run in a "node" netns with a veth uplink, the pod is another netns.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cniError, cniOk, type CniRequest } from '../../agent/src/cni/protocol.js';
import { startCniServer, type CniServer } from '../../agent/src/cni/server.js';
import { buildPlugin, PLUGIN_BIN } from '../../agent/src/cni/testkit.js';
import { invokeCni, type CniOutcome } from '../../harness/support/cni.js';
import { NetLab, run } from '../../harness/support/netns.js';
import { describePrivileged } from '../../test/support/privileged.js';

describePrivileged('weir chained after macvlan + host-local (real plugins, netns)', () => {
  const lab = new NetLab('h4cni');
  let tmp = '';
  let socket = '';
  let node = '';
  let server: CniServer | null = null;
  const seen: Array<{ req: CniRequest; addr: string }> = [];
  let refuse = false;

  beforeAll(async () => {
    await buildPlugin();
    await lab.sweep();
    tmp = await mkdtemp(path.join(tmpdir(), 'h4cni-chain-'));
    socket = path.join(tmp, 'run', 'cni.sock');
    node = await lab.netns('node');
    await lab.veth('h4up', 'h4up-peer', { ns: node }); // the uplink macvlan hangs off (no dummy module here)
    server = await startCniServer({
      socketPath: socket,
      timeoutMs: 5_000,
      handler: async (req) => {
        // What the agent will rely on: at ADD the interface already sits in the pod netns with its IP.
        let addr = '';
        if (req.command === 'ADD' || req.command === 'CHECK') {
          const ns = path.basename(req.attachment.netns);
          const out = await run(['ip', '-n', ns, '-o', '-4', 'addr', 'show', 'dev', req.attachment.ifName]);
          addr = out.stdout.match(/inet (\S+)/)?.[1] ?? '';
        }
        seen.push({ req, addr });
        return refuse ? cniError(110, 'policy for ns-a/pod-x cannot be compiled') : cniOk();
      },
    });
  });

  afterAll(async () => {
    await server?.close();
    await lab.cleanup();
    await rm(tmp, { recursive: true, force: true });
  });

  function conflist(version: string): { cniVersion: string; name: string; plugins: Array<Record<string, unknown>> } {
    return {
      cniVersion: version,
      name: 'h4net',
      plugins: [
        { type: 'macvlan', master: 'h4up', mode: 'bridge', ipam: { type: 'host-local', subnet: '10.44.0.0/24', dataDir: path.join(tmp, 'ipam') } },
        { type: 'weir', socket, timeoutSeconds: 5 },
      ],
    };
  }

  /** libcni's chain: each plugin gets {plugin..., name, cniVersion, prevResult}; DEL in reverse. */
  async function chain(command: 'ADD' | 'CHECK' | 'DEL', version: string, pod: string, prev: unknown): Promise<CniOutcome[]> {
    const list = conflist(version);
    const order = command === 'DEL' ? [...list.plugins].reverse() : list.plugins;
    const outcomes: CniOutcome[] = [];
    let prevResult = prev;
    for (const plugin of order) {
      const config = { ...plugin, name: list.name, cniVersion: version, ...(prevResult === undefined ? {} : { prevResult }) };
      const o = await invokeCni({
        plugin: plugin.type === 'weir' ? PLUGIN_BIN : String(plugin.type),
        command,
        containerId: `ctr-${pod}`,
        netns: pod,
        ifName: 'eth0',
        config,
        hostNetns: node,
        cniArgs: `IgnoreUnknown=1;K8S_POD_NAMESPACE=ns-a;K8S_POD_NAME=${pod};K8S_POD_UID=uid-${pod}`,
        // The config's "socket" must lie under the agent's run directory (native/cni/main.c).
        env: { WEIR_RUN_DIR: path.dirname(socket) },
      });
      outcomes.push(o);
      if (o.kind === 'error' && command !== 'DEL') break;
      if (command === 'ADD' && o.kind === 'ok') prevResult = JSON.parse(o.stdout);
    }
    return outcomes;
  }

  it.each(['0.3.1', '0.4.0', '1.0.0'])('cniVersion %s: ADD returns macvlan\'s result unchanged, CHECK and DEL reach the agent', async (version) => {
    const pod = await lab.netns(`p${version.replace(/\./g, '')}`);
    seen.length = 0;
    const add = await chain('ADD', version, pod, undefined);
    const [mac, weir] = add;
    if (mac?.kind !== 'ok' || weir?.kind !== 'ok') throw new Error(`ADD failed: ${JSON.stringify(add)}`);
    expect(JSON.parse(weir.stdout)).toEqual(JSON.parse(mac.stdout));
    // Byte for byte what the runtime handed weir as prevResult (macvlan's result, re-serialised).
    expect(weir.stdout.trim()).toBe(JSON.stringify(JSON.parse(mac.stdout)));
    const ip = weir.result?.ips[0]?.address ?? '';
    expect(ip).toMatch(/^10\.44\.0\.\d+\/24$/);
    expect(seen).toHaveLength(1);
    const first = seen[0];
    if (first?.req.command !== 'ADD') throw new Error('expected ADD at the agent');
    expect(first.addr).toBe(ip);
    expect(first.req.pod).toEqual({ namespace: 'ns-a', name: pod, uid: `uid-${pod}` });
    expect(first.req.attachment).toEqual({ containerId: `ctr-${pod}`, netns: `/var/run/netns/${pod}`, ifName: 'eth0' });

    if (version !== '0.3.1') {
      const check = await chain('CHECK', version, pod, JSON.parse(weir.stdout));
      expect(check.map((o) => o.kind)).toEqual(['ok', 'ok']);
      expect(seen.at(-1)?.req.command).toBe('CHECK');
    }

    const del = await chain('DEL', version, pod, JSON.parse(weir.stdout));
    expect(del.map((o) => o.kind)).toEqual(['ok', 'ok']);
    expect(seen.at(-1)?.req.command).toBe('DEL');
    expect((await run(['ip', '-n', pod, 'link', 'show', 'eth0'])).code).not.toBe(0);
  });

  it('an agent refusal fails the chain with the agent\'s message; DEL after it still succeeds', async () => {
    const pod = await lab.netns('prefuse');
    refuse = true;
    try {
      const add = await chain('ADD', '1.0.0', pod, undefined);
      expect(add[0]?.kind).toBe('ok');
      expect(add[1]).toMatchObject({ kind: 'error', code: 110, msg: 'policy for ns-a/pod-x cannot be compiled' });
      // The runtime cleans up a failed ADD with DEL; weir's DEL succeeds even though the agent refuses.
      const del = await chain('DEL', '1.0.0', pod, undefined);
      expect(del.map((o) => o.kind)).toEqual(['ok', 'ok']);
    } finally {
      refuse = false;
    }
  });
});
