/**
 * Real packets to a Service ClusterIP, translated the way kube-proxy does it: three "pods" (network
 * namespaces) routed through a "node" namespace (veth, /32 routes), where an iptables DNAT rule
 * (kube-proxy's iptables mode, reduced to one rule per ClusterIP) sends ClusterIP:80 to one backend
 * pod at :81. Weir's programs are attached on pod a's eth0 with what the policy compiler makes of a
 * NetworkPolicy allowing egress to pod b on port 81 only, so they see the packet BEFORE the
 * translation, still carrying the ClusterIP:
 *   - ClusterIP web (backend b:81) is reachable: every backend is allowed;
 *   - ClusterIP other (backend c:81) is not: c is not allowed, whatever the node does with it;
 *   - the replies (un-translated by the node's conntrack) pass.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PolicyCompiler } from '../../agent/src/policy/compile.js';
import { parseNamespace, parseNetworkPolicy } from '../../agent/src/policy/model.js';
import { parseEndpointSlice, parseService } from '../../agent/src/policy/service-model.js';
import { assemblePods, must, np, rawPod, rawService, rawSlice } from '../../agent/src/policy/testkit.js';
import { describePrivileged } from '../support/privileged.js';
import { NetLab, execInNetns, netnsPath, runChecked } from '../../harness/support/netns.js';
import { openHarness, type Harness } from '../../harness/datapath/harness.js';
import { interfaceAddresses } from '../../harness/datapath/pods.js';

const PROBE = 'test/datapath/probe.mjs';
const GATEWAY = '10.97.0.254';
const IP = { a: '10.97.0.1', b: '10.97.0.2', c: '10.97.0.3' } as const;
const VIP = { web: '10.96.7.10', other: '10.96.7.11' } as const;

describePrivileged('egress to a Service ClusterIP with real packets and an iptables DNAT (kube-proxy) on the node', () => {
  const lab = new NetLab('wsvc');
  let h: Harness;
  const ns = { node: '', a: '', b: '', c: '' };

  const tcp = async (to: string, port: number): Promise<string> =>
    (await execInNetns(ns.a, ['node', PROBE, 'tcp', to, String(port)])).stdout.trim();

  beforeAll(async () => {
    await lab.sweep();
    h = openHarness('svcdnat');
    ns.node = await lab.netns('node');
    await runChecked(['ip', 'netns', 'exec', ns.node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const pod of ['a', 'b', 'c'] as const) {
      ns[pod] = await lab.netns(pod);
      // Routed, not bridged: replies go back through the node, whose conntrack un-translates them.
      await lab.veth(`v${pod}`, 'eth0', { ns: ns.node, peerNs: ns[pod] });
      await runChecked(['ip', '-n', ns.node, 'addr', 'add', `${GATEWAY}/32`, 'dev', `v${pod}`]);
      await runChecked(['ip', '-n', ns.node, 'route', 'add', `${IP[pod]}/32`, 'dev', `v${pod}`]);
      await runChecked(['ip', '-n', ns[pod], 'addr', 'add', `${IP[pod]}/32`, 'dev', 'eth0']);
      await runChecked(['ip', '-n', ns[pod], 'route', 'add', 'default', 'via', GATEWAY, 'dev', 'eth0', 'onlink']);
      const server = lab.spawnInNetns(ns[pod], ['node', PROBE, 'serve', '80,81', '5353']);
      await new Promise<void>((resolve, reject) => {
        server.stdout?.once('data', () => resolve());
        server.once('exit', (code) => reject(new Error(`probe server exited ${code}`)));
      });
    }
    // kube-proxy's translation, one rule per ClusterIP (in our own namespace: gone with it).
    for (const [vip, backend] of [[VIP.web, IP.b], [VIP.other, IP.c]] as const) {
      await runChecked(['ip', 'netns', 'exec', ns.node, 'iptables', '-t', 'nat', '-A', 'PREROUTING', '-d', `${vip}/32`, '-p', 'tcp', '--dport', '80', '-j', 'DNAT', '--to-destination', `${backend}:81`]);
    }
  }, 60_000);

  afterAll(async () => {
    await (h as typeof h | undefined)?.close(); // unset when beforeAll failed first
    await lab.cleanup();
  });

  it('the node translates: before Weir, both ClusterIPs answer', async () => {
    expect(await tcp(VIP.web, 80)).toBe('ok');
    expect(await tcp(VIP.other, 80)).toBe('ok');
  });

  it('with pod a allowed egress to b:81 only, the ClusterIP whose backend is b answers and the other does not', async () => {
    const compiler = new PolicyCompiler().load({
      namespaces: ['x', 'y'].map((n) => must(parseNamespace({ metadata: { name: n, labels: { ns: n } } }))),
      pods: assemblePods([rawPod('x', 'a', IP.a), rawPod('y', 'b', IP.b), rawPod('y', 'c', IP.c)]),
      networkPolicies: [must(parseNetworkPolicy(np('x', 'to-b', {
        podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'],
        egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 81 }] }],
      })))],
      multiNetworkPolicies: [], adminNetworkPolicies: [], baselineAdminNetworkPolicy: undefined,
      services: [must(parseService(rawService('y', 'web', [VIP.web], [['http', 80]]))), must(parseService(rawService('y', 'other', [VIP.other], [['http', 80]])))],
      endpointSlices: [
        must(parseEndpointSlice(rawSlice('y', 'web-1', 'web', [IP.b], [['http', 81]]))),
        must(parseEndpointSlice(rawSlice('y', 'other-1', 'other', [IP.c], [['http', 81]]))),
      ],
    });
    const node = compiler.compileNode({ name: 'n1' });
    await h.dp.syncIpCache(node.ipcache);
    const desired = node.endpoints.find((e) => e.namespace === 'x' && e.pod === 'a');
    if (desired === undefined) throw new Error('x/a not compiled');
    await h.dp.attachEndpoint({ endpointId: 1, netnsPath: netnsPath(ns.a), ifname: 'eth0', desired, addresses: await interfaceAddresses(ns.a) });

    expect(await tcp(VIP.web, 80)).toBe('ok');
    expect(await tcp(VIP.other, 80)).toMatch(/^fail/);
    // The backends themselves, as the rule says.
    expect(await tcp(IP.b, 81)).toBe('ok');
    expect(await tcp(IP.c, 81)).toMatch(/^fail/);
    expect(await tcp(IP.b, 80)).toMatch(/^fail/);
  });
});
