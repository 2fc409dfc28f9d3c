/**
 * Real traffic between two macvlan pods (bridge mode over a veth uplink, network namespaces):
 * TCP throughput (iperf3, 5 s) and new connections per second (bench/tools/connrate.c:
 * connect + close with SO_LINGER 0, one at a time, 3 s) for
 *   none          no programs, no rules (the baseline, measured in the same run)
 *   weir allow    Weir's programs on both pods, both directions isolated, one allow-all entry
 *   weir 10k      Weir on the server pod: ingress isolated, 10,000 non-matching allows
 *                 (other identities, TCP/80) + the matching allow; ipcache 10,002 /32s
 *   iptables 10k  what multi-networkpolicy-iptables installs in the server pod netns:
 *                 ctstate RELATED,ESTABLISHED accept, 10,000 non-matching `-s ip/32 -p tcp
 *                 --dport 80 -j ACCEPT`, the matching rule, DROP (loaded with iptables-restore)
 * Targets: throughput with programs ≥ 0.95× none; Weir 10k new connections/s within a few
 * percent of none (iptables is the anchor's ≈ 0.2×).
 *
 *   node --import tsx bench/datapath-throughput.ts [rounds]
 */
import { spawn } from 'node:child_process';
import { NetLab, netnsPath } from '../harness/support/netns.js';
import { endpoint, entry, openHarness } from '../harness/datapath/harness.js';
import { interfaceAddresses, macvlanPods } from '../harness/datapath/pods.js';
import { buildConnrate, connectLoop, iperf, startConnServer, startIperfServer } from './traffic.js';
import { fmt, median, report, verdict } from './report.js';

const ROUNDS = Number(process.argv[2] ?? 2);
const IPERF_SECONDS = 5;
const CONN_SECONDS = 3;
const CONN_PORT = 80;
const RULES = 10_000;
const IP = { a: '10.97.0.1', b: '10.97.0.2' } as const;
const ID = { a: 300, b: 400 } as const;
const EP = { a: 1, b: 2 } as const;
const FILLER_FIRST_ID = 1000;

type Config = 'none' | 'weir-allow' | 'weir-10k' | 'iptables-10k';
const CONFIGS: readonly Config[] = ['none', 'weir-allow', 'weir-10k', 'iptables-10k'];
const LABEL: Record<Config, string> = {
  'none': 'baseline: no programs, no rules',
  'weir-allow': 'Weir, both pods, allow-all policy',
  'weir-10k': `Weir, ${fmt.int(RULES)} entries + match`,
  'iptables-10k': `iptables, ${fmt.int(RULES)} rules + match`,
};

const fillerIp = (i: number): string => `10.${1 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`;

function iptablesRules(): string {
  const lines = [
    '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':BENCH-INGRESS - [0:0]',
    '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A INPUT -i eth0 -j BENCH-INGRESS',
  ];
  for (let i = 0; i < RULES; i++) lines.push(`-A BENCH-INGRESS -s ${fillerIp(i)}/32 -p tcp -m tcp --dport 80 -j ACCEPT`);
  lines.push(`-A BENCH-INGRESS -s ${IP.a}/32 -p tcp -j ACCEPT`, '-A BENCH-INGRESS -j DROP', 'COMMIT', '');
  return lines.join('\n');
}
const EMPTY_FILTER = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT', ''].join('\n');

/** iptables-restore inside `ns`, the (generated) rules on stdin; replaces the filter table. */
function iptablesRestore(ns: string, rules: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, 'iptables-restore'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`iptables-restore exited ${code}: ${err}`))));
    child.stdin.end(rules);
  });
}

async function main(): Promise<void> {
  await buildConnrate();
  const lab = new NetLab('wbtp');
  await lab.sweep();
  const h = openHarness('bench-tput');
  try {
    const { ns } = await macvlanPods(lab, { a: { ipv4: IP.a }, b: { ipv4: IP.b } });
    await startIperfServer(lab, ns.b, ns.a, IP.b);
    await startConnServer(lab, ns.b, CONN_PORT);
    await h.dp.syncIpCache([
      { cidr: `${IP.a}/32`, identity: ID.a }, { cidr: `${IP.b}/32`, identity: ID.b },
      ...Array.from({ length: RULES }, (_, i) => ({ cidr: `${fillerIp(i)}/32`, identity: FILLER_FIRST_ID + i })),
    ]);
    const rules10k = [
      ...Array.from({ length: RULES }, (_, i) => entry({ identity: FILLER_FIRST_ID + i, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 2 + i })),
      entry({ identity: ID.a, protocol: 6, ruleId: 1 }),
    ];
    const allowAll = endpoint([entry({ direction: 'ingress' }), entry({ direction: 'egress' })], { ingress: true, egress: true });

    const attached = new Set<number>();
    async function apply(cfg: Config): Promise<void> {
      for (const id of attached) await h.dp.detachEndpoint(id);
      attached.clear();
      await iptablesRestore(ns.b, EMPTY_FILTER);
      switch (cfg) {
        case 'none':
          return;
        case 'weir-allow':
          for (const pod of ['a', 'b'] as const) {
            await h.dp.attachEndpoint({ endpointId: EP[pod], netnsPath: netnsPath(ns[pod]), ifname: 'eth0', desired: allowAll, addresses: await interfaceAddresses(ns[pod]) });
            attached.add(EP[pod]);
          }
          return;
        case 'weir-10k':
          await h.dp.attachEndpoint({ endpointId: EP.b, netnsPath: netnsPath(ns.b), ifname: 'eth0', desired: endpoint(rules10k, { ingress: true }), addresses: await interfaceAddresses(ns.b) });
          attached.add(EP.b);
          return;
        case 'iptables-10k':
          await iptablesRestore(ns.b, iptablesRules());
          return;
      }
    }

    const tput = new Map<Config, number[]>(CONFIGS.map((c) => [c, []]));
    const conns = new Map<Config, number[]>(CONFIGS.map((c) => [c, []]));
    const failures = new Map<Config, number>(CONFIGS.map((c) => [c, 0]));
    const decisions = new Map<Config, bigint>();
    for (let r = 0; r < ROUNDS; r++) {
      for (const cfg of CONFIGS) {
        await apply(cfg);
        tput.get(cfg)?.push((await iperf(ns.a, IP.b, IPERF_SECONDS)).averageBps);
        const c = await connectLoop(ns.a, IP.b, CONN_PORT, CONN_SECONDS);
        conns.get(cfg)?.push(c.perSecond);
        failures.set(cfg, (failures.get(cfg) ?? 0) + c.failures);
        if (cfg.startsWith('weir')) {
          // Proof the programs judged the traffic: new flows decided by policy on the server pod.
          const allowed = (await h.dp.readCounters()).find((s) => s.endpointId === EP.b && s.reason === 'policy-allow')?.packets ?? 0n;
          decisions.set(cfg, (decisions.get(cfg) ?? 0n) + allowed);
        }
      }
    }
    await apply('none');

    const t0 = median(tput.get('none') ?? []);
    const c0 = median(conns.get('none') ?? []);
    const rows = CONFIGS.map((cfg) => {
      const t = median(tput.get(cfg) ?? []);
      const c = median(conns.get(cfg) ?? []);
      return [LABEL[cfg], fmt.mbit(t), fmt.ratio(t / t0), fmt.int(c), fmt.ratio(c / c0), String(failures.get(cfg) ?? 0)];
    });
    const ratio = (m: Map<Config, number[]>, cfg: Config, base: number): number => median(m.get(cfg) ?? []) / base;
    report({
      title: 'Throughput and new connections/s between macvlan pods',
      notes: [
        `Two pods (netns) on macvlan bridge mode over a veth uplink; ${ROUNDS} rounds, configurations interleaved, medians.`,
        `Throughput: iperf3 -t ${IPERF_SECONDS}, one TCP stream a → b, receiver average. New connections: connrate (C) connect + RST close, ${CONN_SECONDS} s, one at a time.`,
        'Baseline measured in the same run: no programs and no rules.',
        'iptables: `iptables-restore` in the server pod netns (`iptables -V` backend of this host), rules as multi-networkpolicy-iptables lays them out.',
        ...[...decisions].map(([cfg, n]) => `${LABEL[cfg]}: ${fmt.int(Number(n))} new flows decided by policy on the server pod (counter)`),
      ],
      columns: ['configuration', 'throughput', '× none', 'new conn/s', '× none', 'failed'],
      rows,
      verdicts: [
        verdict('throughput with programs + allow-all ≥ 0.95× none', ratio(tput, 'weir-allow', t0) >= 0.95, fmt.ratio(ratio(tput, 'weir-allow', t0))),
        verdict('new conn/s with Weir 10k entries ≥ 0.95× none', ratio(conns, 'weir-10k', c0) >= 0.95, fmt.ratio(ratio(conns, 'weir-10k', c0))),
        `iptables 10k new conn/s: ${fmt.ratio(ratio(conns, 'iptables-10k', c0))} of none; Weir 10k / iptables 10k = ${fmt.ratio(ratio(conns, 'weir-10k', c0) / ratio(conns, 'iptables-10k', c0))}`,
      ],
    });
  } finally {
    await h.close();
    await lab.cleanup();
  }
}

await main();
