/**
 * Issue 16, uninstall leaves nothing on the node: a one-node lab (real kube-apiserver, the webhook,
 * an agent process, a pod wired by real macvlan + host-local + weir) with a pod that Weir enforces
 * and shapes both ways. Then what `helm uninstall` does on a node (Lab.uninstallAgent: the
 * pre-delete hook's `weir-agent --arm-uninstall`, then the agent stopped). Afterwards the node holds
 * none of Weir's: no tc filter on the pod's interface, no shaping qdisc, no IFB, no pinned maps,
 * no agent state, no `weir` plugin in the CNI bin dir; the pod itself keeps its network.
 * The same stop without arming (an ordinary restart) keeps everything: lab/supervisor.ts
 * restartAgent and test/datapath/upgrade.test.ts cover that side.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isRecord } from '../../common/src/records.js';
import { podNetnsName } from '../../lab/simnode/kubelet.js';
import { Lab, type LabNode } from '../../lab/supervisor.js';
import { createNad, createPod, macvlanWeirConfig, waitRunning } from '../../lab/workload.js';
import { describePrivileged } from '../support/privileged.js';
import { execInNetns } from '../../harness/support/netns.js';

const PREFIX = 'wun';
const NS = 'un';
/** host-local keeps leases per network name; this name is unique to this suite. */
const NET_NAME = 'wun-underlay';
const HOST_LOCAL_LEASES = join('/var/lib/cni/networks', NET_NAME);

describePrivileged('e2e uninstall: nothing of Weir is left on the node', () => {
  let dir = '';
  let lab: Lab | undefined;
  let node: LabNode;
  let pod: V1Pod;
  const log: string[] = [];

  const netns = (): string => podNetnsName(pod.metadata?.uid ?? '', PREFIX);
  const json = async (argv: string[]): Promise<unknown[]> => {
    const out = await execInNetns(netns(), argv, 5_000);
    if (out.code !== 0) throw new Error(`${argv.join(' ')}: ${out.stderr}`);
    const parsed: unknown = JSON.parse(out.stdout.trim() === '' ? '[]' : out.stdout);
    return Array.isArray(parsed) ? (parsed as unknown[]) : [];
  };
  /** Root qdiscs Weir's shaping puts on a pod interface: htb (htb-fair, where the kernel has sch_htb) or tbf (agent/src/datapath/shaping.ts). */
  const SHAPER_ROOTS = ['htb', 'tbf'];
  /** What Weir put on the pod's side of the node: tc filters, root qdisc kind, IFBs. */
  async function podSide(): Promise<{ filters: number; rootQdisc: string; ifbs: string[] }> {
    let filters = 0;
    for (const direction of ['ingress', 'egress']) {
      filters += (await json(['tc', '-j', 'filter', 'show', 'dev', 'eth0', direction])).filter((f) => isRecord(f) && isRecord(f.options)).length;
    }
    const root = (await json(['tc', '-j', 'qdisc', 'show', 'dev', 'eth0'])).find((q) => isRecord(q) && q.root === true);
    const ifbs = (await json(['ip', '-j', 'link', 'show', 'type', 'ifb'])).flatMap((l) => (isRecord(l) && typeof l.ifname === 'string' ? [l.ifname] : []));
    return { filters, rootQdisc: isRecord(root) && typeof root.kind === 'string' ? root.kind : 'none', ifbs };
  }
  const stateDir = (): string => join(dir, 'nodes', node.name, 'state');
  const plugin = (): string => join(dir, 'cni-bin', 'weir');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weir-un-'));
    await rm(HOST_LOCAL_LEASES, { recursive: true, force: true });
    lab = new Lab({ dir, nodes: 1, log: (line) => log.push(line), persistentControlPlane: false, prefix: PREFIX });
    const state = await lab.up();
    const first = state.nodes[0];
    if (first === undefined) throw new Error('the lab has no node');
    node = first;
    const kc = new KubeConfig();
    kc.loadFromFile(state.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS, labels: { 'weir.dev/inject': 'enabled' }, annotations: { 'weir.dev/default-network': `${NS}/underlay` } } } });
    await createNad(kc.makeApiClient(CustomObjectsApi), NS, 'underlay', macvlanWeirConfig(NET_NAME, '10.82.0.0/24'));
    await createPod(core, NS, 'a', { 'kubernetes.io/egress-bandwidth': '20M', 'kubernetes.io/ingress-bandwidth': '30M' });
    pod = await waitRunning(core, NS, 'a');
  }, 180_000);

  afterAll(async () => {
    const leftovers = lab ? await lab.down({ keepLogs: false }) : [];
    await rm(HOST_LOCAL_LEASES, { recursive: true, force: true });
    if (leftovers.length > 0) process.stderr.write(`uninstall e2e: lab leftovers (logs kept in ${dir}):\n  ${leftovers.join('\n  ')}\n`);
    else await rm(dir, { recursive: true, force: true });
    expect(leftovers).toEqual([]);
  }, 120_000);

  it('before: the pod is enforced and shaped, and the node holds pins, state and the plugin', async () => {
    // The agent shapes the pod right after CNI ADD; give the ingress IFB a moment on a loaded machine.
    for (const deadline = Date.now() + 10_000; (await podSide()).ifbs.length === 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 200));
    const before = await podSide();
    expect(before.filters).toBe(2);
    expect(SHAPER_ROOTS, `root qdisc ${before.rootQdisc}`).toContain(before.rootQdisc);
    expect(before.ifbs).toHaveLength(1);
    expect(before.ifbs[0]).toMatch(/^wifb\d+$/);
    expect((await readdir(node.pinRoot)).length).toBeGreaterThan(0);
    expect(existsSync(stateDir())).toBe(true);
    expect(existsSync(plugin())).toBe(true);
  });

  it('after helm uninstall\'s hook and the agent\'s stop: nothing is left, and the pod keeps its network', async () => {
    if (lab === undefined) throw new Error('lab not up');
    await lab.uninstallAgent(node.name);
    const after = await podSide();
    // (Detach also removes the clsact qdisc once no filter is left on it; someone else's filter keeps it:
    // test/datapath/chained-links.test.ts. Not asserted here: this suite counts filters.)
    expect(after.filters, 'tc filters on the pod interface').toBe(0);
    expect(SHAPER_ROOTS, 'the pod interface is back to its default root qdisc').not.toContain(after.rootQdisc);
    expect(after.ifbs, 'IFBs in the pod netns').toEqual([]);
    expect(existsSync(node.pinRoot), `pins under ${node.pinRoot}`).toBe(false);
    expect(existsSync(dirname(node.pinRoot)), `the empty ${dirname(node.pinRoot)}`).toBe(false);
    expect(existsSync(stateDir()), 'the agent state dir').toBe(false);
    expect(existsSync(plugin()), 'the weir plugin in the CNI bin dir').toBe(false);
    // The pod's interface and address are untouched: only Weir's additions went away.
    const addrs = await json(['ip', '-j', 'addr', 'show', 'dev', 'eth0']);
    const infos = addrs.flatMap((l): unknown[] => (isRecord(l) && Array.isArray(l.addr_info) ? (l.addr_info as unknown[]) : []));
    const ips = infos.flatMap((a) => (isRecord(a) && typeof a.local === 'string' ? [a.local] : []));
    expect(ips).toContain(pod.status?.podIP);
  }, 60_000);
});
