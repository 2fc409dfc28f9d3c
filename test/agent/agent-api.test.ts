/**
 * The agent end to end on a small scale: the real kube-apiserver, the agent in-process over the
 * real datapath (BPF maps and tc programs), pods as network namespaces wired by the real `macvlan`
 * + `host-local` plugins with the real `weir` plugin chained after them (simulated node, libcni
 * semantics). A deny-all NetworkPolicy created through the API stops pod-to-pod ping within a
 * bound; deleting it restores ping. (The 20-scenario matrix lives in the e2e suite.)
 */
import { KubeConfig, NetworkingV1Api, type V1Pod } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Agent } from '../../agent/src/agent.js';
import { startCniServer, type CniServer } from '../../agent/src/cni/server.js';
import type { AgentConfig } from '../../agent/src/config.js';
import { Datapath } from '../../agent/src/datapath/driver.js';
import { TcAttachProbe } from '../../agent/src/endpoints/probe.js';
import { EndpointRegistry } from '../../agent/src/endpoints/registry.js';
import { KubeSources } from '../../agent/src/kube/sources.js';
import { SimNode, podNetnsName } from '../../lab/simnode/kubelet.js';
import { addNodeToSwitch, createSwitch, destroyUnderlay, underlayNames, UPLINK } from '../../lab/simnode/underlay.js';
import { loadNative } from '../../native/index.js';
import { describeWithApi, ensureNamespace, kubeClients, uniqueName } from '../support/kube.js';
import { execInNetns } from '../../harness/support/netns.js';
import { describePrivileged } from '../support/privileged.js';

const run = promisify(execFile);
const BOUND_MS = 5_000;

describeWithApi('agent against the real API server and datapath', (kubeconfigPath) => {
  describePrivileged('agent: NetworkPolicy through the API reaches real packets', () => {
    const tag = `h8ag${process.pid % 10000}`;
    const nodeName = `${tag}-node`;
    const names = underlayNames(tag);
    const netName = `${tag}-net`;
    const namespace = uniqueName('h8agent');
    let work: string;
    let agent: Agent | undefined;
    let cni: CniServer | undefined;
    let sim: SimNode | undefined;
    let pinRoot: string;
    const { core } = kubeClients(kubeconfigPath);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const net = kc.makeApiClient(NetworkingV1Api);
    const ips = new Map<string, string>();
    const netns = new Map<string, string>();

    beforeAll(async () => {
      await run('make', ['-s', 'bpf', 'cni'], { timeout: 120_000 });
      work = await mkdtemp(join(tmpdir(), `${tag}-`));
      const binDir = join(work, 'bin');
      mkdirSync(binDir);
      for (const p of ['macvlan', 'host-local']) symlinkSync(`/usr/lib/cni/${p}`, join(binDir, p));
      symlinkSync(join(process.cwd(), 'build/bin/weir'), join(binDir, 'weir'));
      await createSwitch(names);
      await addNodeToSwitch(names, nodeName, 0);

      const addon = loadNative();
      addon.probeFeatures();
      pinRoot = `/sys/fs/bpf/weir-${tag}`;
      rmSync(pinRoot, { recursive: true, force: true });
      mkdirSync(pinRoot, { recursive: true });
      const config: AgentConfig = {
        nodeName, pinRoot, cniSocket: join(work, 'cni.sock'), apiPort: 1, metricsPort: 1, metricsHost: '127.0.0.1',
        bpfObjectDir: 'build/bpf', netnsDir: '/var/run/netns', stateDir: join(work, 'state'), logLevel: 'info',
        resyncSeconds: 30, attachCheckSeconds: 5,
      };
      const agentKc = new KubeConfig();
      agentKc.loadFromFile(kubeconfigPath);
      agent = new Agent({
        config,
        datapath: new Datapath({ addon, objectPath: 'build/bpf/weir.bpf.o', pinRoot }),
        probe: new TcAttachProbe(addon.tc),
        source: new KubeSources(agentKc),
        registry: new EndpointRegistry(config.stateDir),
        log: pino({ level: 'warn' }),
      });
      await ensureNamespace(core, namespace, { labels: { team: 'h8' } });
      await agent.start();
      const a = agent;
      cni = await startCniServer({ socketPath: config.cniSocket, handler: (req, signal) => a.handleCni(req, signal), timeoutMs: 9_000 });

      const list = {
        name: netName,
        cniVersion: '1.0.0',
        plugins: [
          { type: 'macvlan', master: UPLINK, mode: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.0.0/24' }]] } },
          { type: 'weir', socket: config.cniSocket },
        ],
      };
      sim = new SimNode({
        nodeName, kubeconfig: kc, nodeNetns: names.nodeNetns(nodeName), cniBinDir: binDir,
        pluginEnv: { WEIR_CNI_SOCKET: config.cniSocket },
        resolveAttachments: async () => ({ ok: true, attachments: [{ network: netName, ifName: 'eth0', isDefault: true, list }] }),
        log: () => undefined,
      });
      await sim.start();
      for (const name of ['client', 'server']) {
        await core.createNamespacedPod({
          namespace,
          body: { metadata: { name, labels: { app: name } }, spec: { nodeName, containers: [{ name: 'c', image: 'none' }] } },
        });
      }
      const deadline = Date.now() + 30_000;
      while (ips.size < 2) {
        if (Date.now() > deadline) throw new Error('pods did not come up within 30 s');
        for (const name of ['client', 'server']) {
          const p: V1Pod = await core.readNamespacedPod({ namespace, name });
          const ip = p.status?.podIPs?.[0]?.ip;
          if (ip && p.metadata?.uid) {
            ips.set(name, ip);
            netns.set(name, podNetnsName(p.metadata.uid));
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }, 120_000);

    afterAll(async () => {
      for (const name of ['client', 'server']) await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }).catch(() => undefined);
      await sim?.stop();
      await cni?.close();
      await agent?.stop({ cleanup: true });
      await destroyUnderlay(names, [nodeName]);
      rmSync(pinRoot, { recursive: true, force: true });
      rmSync(`/var/lib/cni/networks/${netName}`, { recursive: true, force: true });
      if (work) await rm(work, { recursive: true, force: true });
    }, 60_000);

    const ping = async (): Promise<boolean> => {
      const r = await execInNetns(netns.get('client') ?? '', ['ping', '-c', '1', '-W', '1', ips.get('server') ?? ''], 5_000);
      return r.code === 0;
    };

    /** Time until ping gives `want`, or throws after BOUND_MS. */
    const until = async (want: boolean): Promise<number> => {
      const started = performance.now();
      for (;;) {
        if ((await ping()) === want) return performance.now() - started;
        if (performance.now() - started > BOUND_MS) throw new Error(`ping did not become ${want ? 'reachable' : 'unreachable'} within ${BOUND_MS} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    it('wires both pods through the weir plugin with programs attached', async () => {
      const status = agent?.status();
      expect(status?.ready).toBe(true);
      expect(status?.endpoints.map((e) => e.pod).sort()).toEqual([`${namespace}/client`, `${namespace}/server`]);
      expect(status?.endpoints.every((e) => e.programmed)).toBe(true);
      expect(await ping()).toBe(true);
    });

    it('a deny-all NetworkPolicy stops ping within the bound; deleting it restores it', async () => {
      await net.createNamespacedNetworkPolicy({
        namespace,
        body: { metadata: { name: 'deny-all' }, spec: { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'] } },
      });
      const denyMs = await until(false);
      process.stdout.write(`deny-all took effect in ${denyMs.toFixed(0)} ms (bound ${BOUND_MS} ms)\n`);
      const server = agent?.status().endpoints.find((e) => e.pod === `${namespace}/server`);
      expect(server?.isolation.ingress).toBe(true);
      await net.deleteNamespacedNetworkPolicy({ namespace, name: 'deny-all' });
      const allowMs = await until(true);
      process.stdout.write(`deleting deny-all restored ping in ${allowMs.toFixed(0)} ms\n`);
    });
  });
});
