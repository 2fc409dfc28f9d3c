/**
 * The pod's own node on the pod's own interface, with real packets: NetworkPolicy cannot block a
 * pod's resident node (kubelet probes come from it), so a flow the node opens toward an isolated
 * pod passes (`node-allowed`) and its replies pass as the flow's; a flow the pod opens toward the
 * node is still policy's to judge. Found on the real node (docs/real-node.md): a pod with an HTTP
 * readiness probe under a deny-all NetworkPolicy never became Ready.
 *
 * a and b are macvlan pods on one parent in the node netns; the node reaches them through its own
 * macvlan on that parent (`shim`, as an underlay node does) with an address in their subnet.
 */
import { type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePrivileged } from '../support/privileged.js';
import { NetLab, execInNetns, netnsPath, runChecked } from '../../harness/support/netns.js';
import { counted, endpoint, entry, openHarness, type Harness } from '../../harness/datapath/harness.js';
import { interfaceAddresses, macvlanPods } from '../../harness/datapath/pods.js';

const PROBE = 'test/datapath/probe.mjs';
const IP = { a: '10.98.3.2', b: '10.98.3.3', node: '10.98.3.1' } as const;
const ID = { a: 300, b: 400 } as const;
const EP_A = 1;
// a: both directions isolated; only b may reach a on TCP 80. Nothing names the node.
const desiredA = endpoint([entry({ direction: 'ingress', identity: ID.b, protocol: 6, port: 80, portPrefixLength: 16 })], { ingress: true, egress: true });

describePrivileged('the resident node on the pod\'s own interface, real packets', () => {
  const lab = new NetLab('wdrn');
  let h: Harness;
  let ns: Record<'a' | 'b' | 'node', string>;
  const servers: ChildProcess[] = [];
  const tcp = async (from: string, to: string, port: number): Promise<string> =>
    (await execInNetns(from, ['node', PROBE, 'tcp', to, String(port)])).stdout.trim();

  beforeAll(async () => {
    await lab.sweep();
    const pods = await macvlanPods(lab, { a: { ipv4: IP.a }, b: { ipv4: IP.b } });
    ns = { ...pods.ns, node: pods.node };
    await runChecked(['ip', '-n', ns.node, 'link', 'set', 'up0', 'up']);
    await runChecked(['ip', '-n', ns.node, 'link', 'add', 'shim', 'link', 'up0', 'type', 'macvlan', 'mode', 'bridge']);
    await runChecked(['ip', '-n', ns.node, 'addr', 'add', `${IP.node}/24`, 'dev', 'shim']);
    await runChecked(['ip', '-n', ns.node, 'link', 'set', 'shim', 'up']);
    // "The node" for the programs is this netns, not the test runner's.
    h = openHarness('resident-node', { nodeNetnsPath: netnsPath(ns.node) });
    for (const where of [ns.a, ns.node]) {
      const s = lab.spawnInNetns(where, ['node', PROBE, 'serve', '80,81', '']);
      servers.push(s);
      await new Promise<void>((resolve) => s.stdout?.once('data', () => resolve()));
    }
    await h.dp.syncIpCache([{ cidr: `${IP.a}/32`, identity: ID.a }, { cidr: `${IP.b}/32`, identity: ID.b }]);
    await h.dp.attachEndpoint({ endpointId: EP_A, netnsPath: netnsPath(ns.a), ifname: 'eth0', addresses: await interfaceAddresses(ns.a), desired: desiredA });
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) s.kill('SIGKILL');
    await (h as typeof h | undefined)?.close();
    await lab.cleanup();
  });

  it('the policy holds for a pod: b only on 80, and a opens nothing', async () => {
    expect(await tcp(ns.b, IP.a, 80)).toBe('ok');
    expect(await tcp(ns.b, IP.a, 81)).toMatch(/^fail/);
    expect(await tcp(ns.a, IP.b, 80)).toMatch(/^fail/);
  }, 60_000);

  it('the node opens a flow to the isolated pod on any port, and the pod\'s replies pass as that flow\'s', async () => {
    const before = await counted(h, EP_A, 'node-allowed');
    const repliesBefore = await counted(h, EP_A, 'ct-reply');
    expect(await tcp(ns.node, IP.a, 81)).toBe('ok');
    expect(await tcp(ns.node, IP.a, 80)).toBe('ok');
    expect(await counted(h, EP_A, 'node-allowed')).toBeGreaterThan(before);
    expect(await counted(h, EP_A, 'ct-reply')).toBeGreaterThan(repliesBefore);
  }, 60_000);

  it('a flow the pod opens toward the node is judged by policy: egress deny-all drops it', async () => {
    const denied = await counted(h, EP_A, 'default-deny');
    expect(await tcp(ns.a, IP.node, 80)).toMatch(/^fail/);
    expect(await counted(h, EP_A, 'default-deny')).toBeGreaterThan(denied);
  }, 60_000);
});
