/**
 * One row of bench/capacity.ts, in a process of its own (its RSS is the compile's alone):
 * compile the synthetic cluster (bench/cluster-model.ts), program node0's endpoints into real BPF
 * maps through the driver, read back what the maps hold, and time the datapath on them.
 * Prints one JSON line. Args: <namespaces> <nodes> <mode: classes | per-identity>.
 * `per-identity` compiles without identity classes (the baseline) and programs nothing.
 */
import { performance } from 'node:perf_hooks';
import { Datapath } from '../agent/src/datapath/driver.js';
import { DEFAULT_POLICY_ENTRIES_PER_ENDPOINT, fitToQuota } from '../agent/src/endpoints/capacity.js';
import { PolicyCompiler } from '../agent/src/policy/compile.js';
import { openHarness, TC_ACT_OK } from '../harness/datapath/harness.js';
import { TCP, ipv4, tcp } from '../harness/datapath/packets.js';
import { buildCluster } from './cluster-model.js';
import { median } from './report.js';

const [nsArg, nodesArg, mode] = process.argv.slice(2);
const shape = { namespaces: Number(nsArg), nodes: Number(nodesArg), ...(process.env.SERVICES === '1' ? { services: true } : {}) };
const REPEAT = 200_000;
const ROUNDS = 3;
const NODE = 'node0';

const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);

async function main(): Promise<void> {
  const state = buildCluster(shape);
  const t0 = performance.now();
  const compiler = new PolicyCompiler({ identityClasses: mode !== 'per-identity' }).load(state);
  const node = compiler.compileNode({ name: NODE });
  const compileMs = performance.now() - t0;
  const compiled = node.endpoints.map((e) => e.entries.length);
  const result: Record<string, number | string> = {
    pods: state.pods.length,
    endpoints: node.endpoints.length,
    compileMs,
    rssAfterCompileMb: mb(process.memoryUsage().rss),
    peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
    compiledEntries: compiled.reduce((a, b) => a + b, 0),
    busiestCompiled: Math.max(...compiled),
    ipcache: node.ipcache.length,
  };
  if (mode === 'per-identity') {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }

  // No conntrack quota: every timed new flow must be a policy decision, not a ct-quota drop.
  const h = openHarness(`cap-${process.pid}`, { conntrackQuota: 0xffffffff });
  try {
    const quota = DEFAULT_POLICY_ENTRIES_PER_ENDPOINT;
    const t1 = performance.now();
    const ipc = await h.dp.syncIpCache(node.ipcache);
    const podIps = new Map(state.pods.map((p) => [`${p.namespace}/${p.name}`, p.interfaces[0]?.ips[0] ?? '']));
    let over = 0;
    for (const [i, ep] of node.endpoints.entries()) {
      const { program, occupancy } = fitToQuota(ep, quota);
      if (occupancy.level === 'over') over++;
      await h.dp.stageEndpoint({ endpointId: i + 1, netnsPath: null, ifname: 'unused', desired: program, addresses: { ips: [podIps.get(`${ep.namespace}/${ep.pod}`) ?? ''] } });
    }
    result.programMs = performance.now() - t1;
    // What the kernel maps hold, read back by a second driver on the same pins.
    const reader = new Datapath({ addon: h.addon, objectPath: 'build/bpf/weir.bpf.o', pinRoot: h.pinRoot, conntrackSweepSeconds: 0 });
    const adopted = await reader.adoptExisting();
    const programmed = adopted.map((a) => a.policyEntries);
    result.programmedEntries = programmed.reduce((a, b) => a + b, 0);
    result.busiestProgrammed = Math.max(...programmed);
    result.quota = quota;
    result.overQuota = over;
    result.ipcacheUnwritten = ipc.failed;

    // ns per packet on the programmed maps: an app9 pod (isolated; same-namespace peers allowed
    // through its namespace-class entry) receiving TCP from another pod of its namespace.
    const idx = node.endpoints.findIndex((e) => state.pods.some((p) => p.namespace === e.namespace && p.name === e.pod && p.labels['app'] === 'app9'));
    const subject = node.endpoints[idx];
    if (subject === undefined) throw new Error('no app9 pod on node0');
    const peer = state.pods.find((p) => p.namespace === subject.namespace && p.name !== subject.pod);
    const dst = podIps.get(`${subject.namespace}/${subject.pod}`) ?? '';
    const src = peer?.interfaces[0]?.ips[0] ?? '';
    const obj = h.addon.openObject({ path: 'build/bpf/bench_datapath.bpf.o', pinRoot: h.pinRoot, constants: { endpoint_id: idx + 1 } });
    try {
      const syn = ipv4(src, dst, tcp(40000, 8080, TCP.syn));
      const ack = ipv4(src, dst, tcp(40001, 8080, TCP.ack));
      const open = ipv4(src, dst, tcp(40001, 8080, TCP.syn));
      const newFlow: number[] = [];
      const established: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const n = obj.program('bench_new_flow').testRun({ data: syn, repeat: REPEAT });
        if (n.retval !== TC_ACT_OK) {
          const why = (await h.dp.readCounters()).filter((c) => c.endpointId === idx + 1).map((c) => `${c.reason} ${c.packets}`).join(', ');
          throw new Error(`new flow from ${src} to ${dst}: retval ${n.retval} (the same-namespace class entry should allow it); counters: ${why}`);
        }
        newFlow.push(n.durationNs);
        if (obj.program('weir_ingress').testRun({ data: open }).retval !== TC_ACT_OK) throw new Error('SYN refused');
        const e = obj.program('weir_ingress').testRun({ data: ack, repeat: REPEAT });
        if (e.retval !== TC_ACT_OK) throw new Error(`established: retval ${e.retval}`);
        established.push(e.durationNs);
      }
      const counts = await h.dp.readCounters();
      const allowed = counts.find((c) => c.endpointId === idx + 1 && c.reason === 'policy-allow')?.packets ?? 0n;
      if (allowed < BigInt(REPEAT * ROUNDS)) throw new Error(`only ${allowed} of ${REPEAT * ROUNDS} new-flow runs were policy decisions`);
      result.newFlowNs = median(newFlow);
      result.establishedNs = median(established);
      result.subjectEntries = subject.entries.length;
    } finally {
      obj.close();
    }
    await reader.close();
  } finally {
    await h.close();
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
