/**
 * Issue 13 end to end, the two attacks the lab's plain chain cannot stage (findings 3 and 7): the
 * coordinator's `veth0` and path-MTU through a narrower routed hop, on a lab of its own (real API
 * server, webhook and agent, macvlan + host-local + weir, real packets).
 *
 * The victim w/v's default network chains lab/simnode/coordinator.ts after weir: a STAND-IN FOR
 * SPIDERPOOL'S COORDINATOR (not available here) that imitates its underlay mode only: a veth pair
 * whose pod end is veth0 (no address), a pod route to the node's IP and the lab's Service CIDR over
 * veth0 with the pod IP as source, a host route to the pod IP over the node end. weir's CNI ADD
 * never sees veth0; the agent finds it (its link pass) and attaches the endpoint's programs.
 *
 * Around it: the node's own IP (NODE_IP, on the node netns's lo: the agent reads the simulated
 * node's addresses through WEIR_NODE_NETNS); a host `c` behind the node, routed (not masqueraded)
 * by it to the victim over veth0, with the victim's route back to c over veth0 (the return path
 * a NodePort that keeps the client's source needs); a router (a host on the pods' underlay) whose
 * far link to host `far` has MTU 1280.
 *
 * The policy of w/v, by hand: ingress from c on TCP 80 and from far on TCP 8080, egress to c on
 * TCP 80, nothing else. So c→v:80 and v→c:80 pass over veth0, 81 does not either way; the node
 * reaches v and v the node on any port (NetworkPolicy: a pod's own node is always allowed, counted
 * `node-allowed`); a frame from veth0 with a source that is not v's is dropped (`spoofed`), even
 * to the node; far's bulk download from v:8080 completes because the router's "fragmentation
 * needed" passes as related (`ct-related`), and with those dropped in v's netns by iptables instead
 * it stalls, so the hop really needs path-MTU discovery.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SERVICE_CIDR } from '../../harness/controlplane/index.js';
import { interfaceAddresses } from '../../harness/datapath/pods.js';
import { fromMac, ipv4 } from '../../harness/datapath/packets.js';
import { addNetns, deleteNetns, ip } from '../../lab/simnode/netns.js';
import { nodeEndName, POD_END } from '../../lab/simnode/coordinator.js';
import { describePrivileged } from '../support/privileged.js';
import { buildRawframe, deliveredFrames, markedUdp } from '../datapath/rawframes.js';
import { E2eCluster, parseProbeLines, LabRun, type PolicyObject } from './cluster.js';

const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const ETH_P_IP = 0x0800;
const NODE_IP = '10.99.0.1';
const C = { ip: '10.97.0.2', gw: '10.97.0.1' } as const;
/** The router's leg on the pods' underlay (allocated to no pod) and on the narrow far link. */
const ROUTER = { lan: '10.77.250.250', far: '10.98.1.1' } as const;
const FAR = '10.98.1.2';
const NARROW_MTU = 1280;
const BYTES = 300_000;
// far's client: connects to v:8080 and prints how many bytes arrived before the end or 4 s.
const CLIENT = `const n=require('net');let got=0;const s=n.connect({host:process.argv[1],port:8080});
s.on('data',d=>{got+=d.length});const done=()=>{process.stdout.write(String(got)+'\\n');process.exit(0)};
s.on('end',done);s.on('error',done);setTimeout(done,4000);`;
const SERVER = `require('net').createServer(s=>{s.on('error',()=>{});s.end(Buffer.alloc(${BYTES},97))}).listen(8080);process.stdout.write('ready\\n');`;

describePrivileged('e2e hostile links: the coordinator\'s veth0 and path-MTU on the lab (issue 13)', () => {
  const tag = 'hlinks';
  const dir = join(tmpdir(), `weir-e2e-${tag}-${process.pid}`, 'lab');
  const log: string[] = [];
  const cluster = new E2eCluster({ nodes: 1, dir, prefix: `e${tag}${process.pid}`, placement: () => 'node-1', log: (line) => log.push(line) });
  const ns = { c: `e${tag}${process.pid}-c`, router: `e${tag}${process.pid}-router`, far: `e${tag}${process.pid}-far` };
  const tool = join(tmpdir(), `weir-rawframe-e2e-${tag}-${process.pid}`);
  const children: ChildProcess[] = [];
  let nodeNs = '';
  let bulkServer: ChildProcess | undefined;
  const run = new LabRun(cluster);

  const v = () => cluster.info('w/v');
  const inNs = (where: string, argv: string[], timeout = 20_000) => execFileP('ip', ['netns', 'exec', where, ...argv], { timeout, maxBuffer: 8 << 20 });
  const spawnIn = (where: string, argv: string[]) => spawn('ip', ['netns', 'exec', where, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });

  async function serve(where: string, argv: string[]): Promise<ChildProcess> {
    const child = spawnIn(where, argv);
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`${argv.join(' ')} in ${where} exited ${String(code)}`)));
    });
    return child;
  }

  /** TCP probes from netns `from`: spec → ok. */
  async function probe(from: string, specs: string[]): Promise<Map<string, boolean>> {
    const { stdout } = await inNs(from, [cluster.netprobe, 'probe', '1000', ...specs]);
    return new Map(parseProbeLines(stdout).map((l) => [l.spec, l.ok]));
  }

  /**
   * Probes until every [from, spec] gives its expected result, for at most 15 s (the agent
   * programs a policy in well under that), then fails with the cells still wrong.
   */
  async function settle(label: string, want: Array<[from: string, spec: string, ok: boolean]>): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const wrong: string[] = [];
      for (const [from, spec, ok] of want) {
        const got = (await probe(from, [spec])).get(spec);
        if (got !== ok) wrong.push(`${from} → ${spec}: expected ${ok ? 'ok' : 'blocked'}, got ${got === undefined ? 'no answer' : got ? 'ok' : 'blocked'}`);
      }
      if (wrong.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${label}: after 15 s\n${wrong.join('\n')}\nagent view:\n${await cluster.agentView(new Set(['w/v']))}`);
      await sleep(300);
    }
  }

  /** The agent's packet counter of w/v's default interface (veth0's programs count there too) for `reason`. */
  async function counted(reason: string): Promise<number> {
    const metrics = await (await fetch(`${cluster.lab.labState.nodes[0]?.agentUrl ?? ''}/metrics`)).text();
    return metrics.split('\n')
      .filter((l) => l.startsWith('weir_agent_datapath_packets_total{') && l.includes('endpoint="w/v"') && l.includes(`reason="${reason}"`))
      .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
  }

  beforeAll(async () => {
    try {
      await cluster.up({ model: false });
      nodeNs = cluster.lab.labState.nodes[0]?.netns ?? '';
      // The node's IP, before any endpoint exists (the agent reads node addresses when it adopts a link).
      await ip(['addr', 'add', `${NODE_IP}/32`, 'dev', 'lo'], nodeNs);
      await inNs(nodeNs, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      await cluster.createNamespace('w', {}, { coordinatorStandIn: { serviceCidr: SERVICE_CIDR } });
      await cluster.createPod({ ns: 'w', pod: 'v' }, 'node-1');
      await cluster.waitRunning({ ns: 'w', pod: 'v' }, 60_000);
      await cluster.startServer('w/v');
    } catch (error) {
      process.stdout.write(`lab log tail:\n${log.slice(-40).join('\n')}\n`);
      throw error;
    }
    buildRawframe(tool);
    // c behind the node, and v's route back to c over veth0.
    await addNetns(ns.c);
    await ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'to-c', 'netns', nodeNs], ns.c);
    await ip(['addr', 'add', `${C.ip}/24`, 'dev', 'eth0'], ns.c);
    await ip(['addr', 'add', `${C.gw}/24`, 'dev', 'to-c'], nodeNs);
    for (const [where, dev] of [[ns.c, 'eth0'], [ns.c, 'lo'], [nodeNs, 'to-c']] as const) await ip(['link', 'set', dev, 'up'], where);
    await ip(['route', 'add', 'default', 'via', C.gw], ns.c);
    await ip(['route', 'add', `${C.ip}/32`, 'via', NODE_IP, 'dev', POD_END, 'onlink', 'src', v().ips.eth0], v().netns);
    await serve(ns.c, [cluster.netprobe, 'serve', '80', '81']);
    await serve(nodeNs, [cluster.netprobe, 'serve', '80', '81']);
    // The router on the pods' underlay, its narrow far link, and v's route to far through it.
    await cluster.addOutsideHost(ns.router, ROUTER.lan);
    await addNetns(ns.far);
    await ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'far0', 'netns', ns.router], ns.far);
    await ip(['link', 'set', 'far0', 'mtu', String(NARROW_MTU)], ns.router); // far's own eth0 (and its MSS) keeps 1500
    await ip(['addr', 'add', `${ROUTER.far}/24`, 'dev', 'far0'], ns.router);
    await ip(['addr', 'add', `${FAR}/24`, 'dev', 'eth0'], ns.far);
    for (const [where, dev] of [[ns.router, 'far0'], [ns.router, 'lo'], [ns.far, 'eth0'], [ns.far, 'lo']] as const) await ip(['link', 'set', dev, 'up'], where);
    await ip(['route', 'add', 'default', 'via', ROUTER.far], ns.far);
    await inNs(ns.router, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await ip(['route', 'add', `${FAR}/32`, 'via', ROUTER.lan, 'dev', 'eth0'], v().netns);
    bulkServer = await serve(v().netns, ['node', '-e', SERVER]);
    run.up = true;
  }, 240_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(tool, { force: true });
    for (const n of Object.values(ns)) await deleteNetns(n);
    const left = await cluster.down(run.failed);
    if (run.failed) process.stdout.write(`[e2e ${tag}] lab logs kept in ${dir}\n`);
    expect(left).toEqual([]);
  }, 120_000);

  const policy: PolicyObject = {
    kind: 'NetworkPolicy', namespace: 'w', name: 'v-c80-far8080',
    spec: {
      podSelector: { matchLabels: { pod: 'v' } }, policyTypes: ['Ingress', 'Egress'],
      ingress: [
        { from: [{ ipBlock: { cidr: `${C.ip}/32` } }], ports: [{ protocol: 'TCP', port: 80 }] },
        { from: [{ ipBlock: { cidr: `${FAR}/32` } }], ports: [{ protocol: 'TCP', port: 8080 }] },
      ],
      egress: [{ to: [{ ipBlock: { cidr: `${C.ip}/32` } }], ports: [{ protocol: 'TCP', port: 80 }] }],
    },
  };

  it('the stand-in wired veth0 as the coordinator does, and the agent put the endpoint\'s programs on it', () => run.guarded(async () => {
    const routes = await ip(['route', 'show'], v().netns);
    expect(routes).toContain(`${NODE_IP} dev ${POD_END} scope link src ${v().ips.eth0}`);
    expect(routes).toContain(`${SERVICE_CIDR} via ${NODE_IP} dev ${POD_END} src ${v().ips.eth0} onlink`);
    expect((await interfaceAddresses(v().netns, POD_END)).ips).toEqual([]);
    expect(await ip(['route', 'show', `${v().ips.eth0}/32`], nodeNs)).toContain(`dev ${nodeEndName(v().uid)}`);
    // The netns's link watch starts a link pass when veth0 comes up; the attach check (every 10 s) is the backstop.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const hooks = await Promise.all(['ingress', 'egress'].map((d) => execFileP('tc', ['-n', v().netns, 'filter', 'show', 'dev', POD_END, d]).then((r) => r.stdout)));
      if (hooks.every((h) => /bpf .*direct-action/.test(h))) break;
      if (Date.now() > deadline) throw new Error(`veth0 has no Weir programs 20 s after the pod ran: ${hooks.join(' | ')}\n${log.filter((l) => l.includes('veth0')).slice(-5).join('\n')}`);
      await sleep(200);
    }
  }), 60_000);

  it('over veth0: c gets only what the policy allows, both ways; the node always reaches the pod; a spoofed source never leaves', () => run.guarded(async (applied) => {
    const toV = (port: number) => `tcp:${v().ips.eth0}:${port}`;
    const toC = (port: number) => `tcp:${C.ip}:${port}`;
    // Before the policy: the path over veth0 carries c's traffic on both ports, both ways.
    await settle('before the policy, veth0 carries everything', [
      [ns.c, toV(80), true], [ns.c, toV(81), true], [v().netns, toC(80), true], [v().netns, toC(81), true],
    ]);
    await cluster.apply(policy);
    applied.push(policy);
    const denied = await counted('default-deny');
    const node = await counted('node-allowed');
    await settle('w/v isolated: c on TCP 80 only, both ways; the node on any port', [
      [ns.c, toV(80), true], [ns.c, toV(81), false], [v().netns, toC(80), true], [v().netns, toC(81), false],
      [nodeNs, toV(81), true], [v().netns, `tcp:${NODE_IP}:81`, true],
    ]);
    expect(await counted('default-deny')).toBeGreaterThan(denied);
    expect(await counted('node-allowed')).toBeGreaterThan(node);
    // Raw frames out of veth0 to the node's end: v's own source passes (to the node), another's does not.
    const nodeEnd = nodeEndName(v().uid);
    const veth0Mac = (await interfaceAddresses(v().netns, POD_END)).mac ?? '';
    const hostMac = (await interfaceAddresses(nodeNs, nodeEnd)).mac ?? '';
    const overVeth0 = (src: string, marker: string): Promise<number> => {
      const frame = fromMac(ipv4(src, NODE_IP, markedUdp(marker, 5000, 9)), veth0Mac);
      Buffer.from(hostMac.replaceAll(':', ''), 'hex').copy(frame, 0);
      return deliveredFrames(spawnIn, tool, { ns: v().netns, ifname: POD_END }, { ns: nodeNs, ifname: nodeEnd }, [{ frame, proto: ETH_P_IP }], Buffer.from(marker), 1000);
    };
    const spoofed = await counted('spoofed');
    expect(await overVeth0(v().ips.eth0, 'weir-e2e-own-veth0'), 'v\'s own source to the node').toBe(1);
    expect(await overVeth0(C.ip, 'weir-e2e-spoof-veth0'), 'c\'s source from v\'s veth0').toBe(0);
    expect(await counted('spoofed')).toBeGreaterThan(spoofed);
  }), 90_000);

  it('path-MTU through a narrower hop: far\'s bulk download from the isolated pod completes; without the router\'s ICMP it stalls', () => run.guarded(async (applied) => {
    await cluster.apply(policy);
    applied.push(policy);
    await settle('w/v isolated: far may reach 8080 only', [[ns.far, `tcp:${v().ips.eth0}:80`, false]]);
    const fetchFromV = async (): Promise<number> => {
      // Forget what v learnt of the path, so each download needs the router's ICMP again.
      await ip(['route', 'flush', 'cache'], v().netns);
      return Number((await inNs(ns.far, ['node', '-e', CLIENT, v().ips.eth0])).stdout.trim());
    };
    const related = await counted('ct-related');
    expect(await fetchFromV(), 'through Weir').toBe(BYTES);
    expect(await counted('ct-related'), 'the router\'s "fragmentation needed" passed as related').toBeGreaterThan(related);
    // The router's address is allowed nothing of its own: a new flow from it is denied.
    expect((await probe(ns.router, [`tcp:${v().ips.eth0}:80`])).get(`tcp:${v().ips.eth0}:80`)).toBe(false);
    // Contrast: the same download with "fragmentation needed" dropped in v's netns (iptables, not
    // Weir) is a path-MTU black hole (tcp_mtu_probing is off by default).
    const rule = ['INPUT', '-p', 'icmp', '--icmp-type', 'fragmentation-needed', '-j', 'DROP'];
    await inNs(v().netns, ['iptables', '-I', ...rule]);
    try {
      expect(await fetchFromV(), 'with frag-needed dropped').toBeLessThan(BYTES);
    } finally {
      await inNs(v().netns, ['iptables', '-D', ...rule]);
    }
    expect(await fetchFromV(), 'through Weir again').toBe(BYTES);
  }), 60_000);

  it('deleting the pod: the stand-in\'s DEL leaves no link or route of it on the node', () => run.guarded(async () => {
    const nodeEnd = nodeEndName(v().uid);
    const podIp = v().ips.eth0;
    bulkServer?.kill('SIGKILL'); // nothing of ours keeps the pod's netns alive
    await cluster.deletePod('w/v');
    expect(await ip(['-o', 'link', 'show'], nodeNs)).not.toContain(nodeEnd);
    expect(await ip(['route', 'show'], nodeNs)).not.toContain(podIp);
  }), 60_000);
});
