/**
 * ns per packet of Weir's tc program, measured by the kernel (BPF_PROG_TEST_RUN, repeat 1e6,
 * average per run), for a NEW flow and an ESTABLISHED flow with 1, 100 and 10,000 policy
 * entries on the endpoint. Baseline in the same run: a parse-only program (Weir's own parser,
 * nothing else). Targets: established ≤ 150 ns; flat, ≤ 1.2× from 1 to 10,000 entries.
 *
 * New flow: BPF_PROG_TEST_RUN replays one packet, so bpf/bench_datapath.bpf.c wraps the real
 * weir_ingress code with a counter that rewrites the TCP source port and the low 16 bits of the
 * pod-side address before each run: 2^32 distinct 5-tuples, every run a conntrack miss → ipcache
 * lookup → policy trie lookups → conntrack insert. The conntrack LRU (131,072 entries) is
 * filled before measuring, so every row runs in the steady state of a full table (each insert
 * evicts). The rewrite's own cost is measured too (`rewrite only`). The per-endpoint counters
 * confirm afterwards that every run was a policy decision, never a conntrack hit.
 *
 * Egress rows add the anti-spoofing check (source MAC + source IP against the endpoint's own,
 * bpf/include/antispoof.h), which runs on every egress packet, established ones included.
 *
 *   node --import tsx bench/datapath-prog.ts [repeat] [rounds]
 *   (WEIR_BENCH_FILE=path writes the table there instead of bench/results/latest.md)
 */
import { endpoint, entry, openHarness, TC_ACT_OK } from '../harness/datapath/harness.js';
import { TCP, ipv4, tcp } from '../harness/datapath/packets.js';
import type { PolicyEntry } from '../agent/src/datapath/desired.js';
import type { BpfObject } from '../native/index.js';
import { RESULTS_FILE, fmt, median, report, verdict } from './report.js';

const REPEAT = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const SIZES = [1, 100, 10_000] as const;
const BENCH_OBJECT = 'build/bpf/bench_datapath.bpf.o';
const POD = '10.0.0.10';
const POD_MAC = '02:00:00:00:00:01'; // the source MAC harness/datapath/packets.ts writes
const PEER = '10.0.0.20';
const PEER_ID = 400;
const FILLER_FIRST_ID = 1000;
const CT_FILL = Number(process.env.CT_FILL ?? 200_000);

/** 10.1.0.0/16 upwards: one /32 and one identity per filler peer. */
function fillerIp(i: number): string {
  return `10.${1 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`;
}

/** The matching allow (PEER → TCP/80) plus n-1 allows for other identities on TCP/80. */
function policy(n: number): PolicyEntry[] {
  const out = [entry({ identity: PEER_ID, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 1 })];
  for (let i = 0; i < n - 1; i++) {
    out.push(entry({ identity: FILLER_FIRST_ID + i, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 2 + i }));
  }
  return out;
}

async function main(): Promise<void> {
  const started = Date.now();
  // No conntrack quota here: the bench fills the whole table from single endpoints on purpose.
  const h = openHarness('bench-prog', { conntrackQuota: 0xffffffff });
  const objects: BpfObject[] = [];
  try {
    // The node's ipcache holds every peer once (it is node-wide, not per endpoint): 10,000 entries.
    const maxFillers = Math.max(...SIZES) - 1;
    await h.dp.syncIpCache([
      { cidr: `${PEER}/32`, identity: PEER_ID },
      ...Array.from({ length: maxFillers }, (_, i) => ({ cidr: `${fillerIp(i)}/32`, identity: FILLER_FIRST_ID + i })),
    ]);

    process.stderr.write(`set-up ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    const open = (id: number): BpfObject => {
      const o = h.addon.openObject({ path: BENCH_OBJECT, pinRoot: h.pinRoot, constants: { endpoint_id: id } });
      objects.push(o);
      return o;
    };

    const syn = ipv4(PEER, POD, tcp(40000, 80, TCP.syn));
    const ack = ipv4(PEER, POD, tcp(40001, 80, TCP.ack));
    const openSyn = ipv4(PEER, POD, tcp(40001, 80, TCP.syn));
    const egressSyn = ipv4(POD, PEER, tcp(40002, 443, TCP.syn));
    const egressAck = ipv4(POD, PEER, tcp(40002, 443, TCP.ack));

    // Fill conntrack to capacity from a throwaway (non-isolated) endpoint.
    await h.dp.stageEndpoint({ endpointId: 99, netnsPath: null, ifname: 'unused', desired: endpoint([]) });
    open(99).program('bench_new_flow').testRun({ data: syn, repeat: CT_FILL });

    const eps = [];
    for (const [k, n] of SIZES.entries()) {
      const id = k + 1;
      await h.dp.stageEndpoint({
        endpointId: id, netnsPath: null, ifname: 'unused', desired: endpoint(policy(n), { ingress: true }), addresses: { mac: POD_MAC, ips: [POD] },
      });
      const obj = open(id);
      // The established flows: their SYNs create the conntrack entries the ACKs then hit.
      if (obj.program('weir_ingress').testRun({ data: openSyn }).retval !== TC_ACT_OK) throw new Error(`SYN not allowed: ${JSON.stringify(await h.dp.readCounters(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
      if (obj.program('weir_egress').testRun({ data: egressSyn }).retval !== TC_ACT_OK) throw new Error('egress SYN not allowed');
      eps.push({ id, n, obj });
    }
    const base = open(98);
    // Audit mode (issue 17): an isolated endpoint with no allow, in audit: every new flow is a
    // default deny turned into an audited, tracked allow (plus an AUDIT event while the event
    // budget lasts; the rest are counted as suppressed).
    const AUDIT_ID = SIZES.length + 1;
    await h.dp.stageEndpoint({
      endpointId: AUDIT_ID, netnsPath: null, ifname: 'unused', desired: { ...endpoint([], { ingress: true }), audit: true }, addresses: { mac: POD_MAC, ips: [POD] },
    });
    const audited = open(AUDIT_ID);
    // Audit policies (issue 17): the 1-entry endpoint's policy plus one audit NetworkPolicy. Every
    // new flow is also judged as if it were enforced (weir_whatif_eval). "unchanged": the audit
    // policy allows the peer too (no event); "would drop": it isolates and allows another peer
    // (an AUDIT event while the event budget lasts). The packet is allowed either way.
    const auditRule = (e: Partial<PolicyEntry>): PolicyEntry => ({ ...entry(e), audit: 'rule' });
    const isolation: PolicyEntry = { ...entry({ verdict: 'deny', ruleId: 8 }), audit: 'isolation' };
    const auditEps = [
      { id: SIZES.length + 2, label: 'unchanged', audit: [isolation, auditRule({ identity: PEER_ID, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 9 })] },
      { id: SIZES.length + 3, label: 'would drop: AUDIT event', audit: [isolation, auditRule({ identity: FILLER_FIRST_ID, protocol: 6, port: 80, portPrefixLength: 16, ruleId: 9 })] },
    ].map((a) => ({ ...a, obj: open(a.id) }));
    for (const a of auditEps) {
      await h.dp.stageEndpoint({
        endpointId: a.id, netnsPath: null, ifname: 'unused', desired: endpoint([...policy(1), ...a.audit], { ingress: true }), addresses: { mac: POD_MAC, ips: [POD] },
      });
    }

    // Every timed run is checked by the endpoint's counters: a new-flow run must be one policy
    // decision, an established run one conntrack hit. An ACK no longer re-creates an entry the
    // LRU evicted (TCP entries come from SYNs only), so each established row re-opens its flow
    // with a SYN before it is timed.
    const count = async (id: number, reason: string): Promise<bigint> =>
      (await h.dp.readCounters()).find((c) => c.endpointId === id && c.reason === reason)?.packets ?? 0n;
    type Row = { name: string; run: () => Promise<number>; samples: number[] };
    const time = (o: BpfObject, prog: string, data: Buffer, expect?: { id: number; reason: string; reopen?: Buffer }) => async (): Promise<number> => {
      if (expect?.reopen !== undefined && o.program(prog).testRun({ data: expect.reopen }).retval !== TC_ACT_OK) throw new Error(`${prog}: re-open refused`);
      const before = expect === undefined ? 0n : await count(expect.id, expect.reason);
      const r = o.program(prog).testRun({ data, repeat: REPEAT });
      if (r.retval !== TC_ACT_OK) throw new Error(`${prog}: retval ${r.retval}`);
      if (expect !== undefined) {
        const got = (await count(expect.id, expect.reason)) - before;
        if (got !== BigInt(REPEAT)) throw new Error(`${prog} on endpoint ${expect.id}: ${got} of ${REPEAT} runs counted as ${expect.reason}`);
      }
      return r.durationNs;
    };
    const rows: Row[] = [
      { name: 'test-run floor (empty program)', run: time(base, 'bench_empty', ack), samples: [] },
      { name: 'baseline: parse only', run: time(base, 'bench_parse_only', ack), samples: [] },
      { name: 'rewrite only (new-flow harness)', run: time(base, 'bench_rewrite_only', syn), samples: [] },
      ...eps.map((e) => ({ name: `new flow, ${fmt.int(e.n)} entries`, run: time(e.obj, 'bench_new_flow', syn, { id: e.id, reason: 'policy-allow' }), samples: [] })),
      { name: 'new flow, audited default deny (audit endpoint)', run: time(audited, 'bench_new_flow', syn, { id: AUDIT_ID, reason: 'audit-allowed' }), samples: [] },
      ...auditEps.map((a) => ({ name: `new flow, 1 entry + one audit policy (${a.label})`, run: time(a.obj, 'bench_new_flow', syn, { id: a.id, reason: 'policy-allow' }), samples: [] })),
      ...auditEps.slice(0, 1).map((a) => ({
        name: 'established, 1 entry + one audit policy', run: time(a.obj, 'weir_ingress', ack, { id: a.id, reason: 'ct-established', reopen: openSyn }), samples: [],
      })),
      ...eps.map((e) => ({ name: `established, ${fmt.int(e.n)} entries`, run: time(e.obj, 'weir_ingress', ack, { id: e.id, reason: 'ct-established', reopen: openSyn }), samples: [] })),
      ...eps.map((e) => ({
        name: `established egress (+ source check), ${fmt.int(e.n)} entries`,
        run: time(e.obj, 'weir_egress', egressAck, { id: e.id, reason: 'ct-established', reopen: egressSyn }),
        samples: [],
      })),
    ];
    // Rounds interleave the rows, so background noise on the shared VM lands on all of them.
    const t0 = Date.now();
    for (let r = 0; r < ROUNDS; r++) for (const row of rows) row.samples.push(await row.run());
    process.stderr.write(`measured in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const checks = [`every timed run was checked against the endpoint's counters: ${fmt.int(REPEAT)} policy decisions per new-flow run, ${fmt.int(REPEAT)} conntrack hits per established run`];

    const med = (name: string): number => median(rows.find((r) => r.name === name)?.samples ?? []);
    const baseline = med('baseline: parse only');
    const table = rows.map((r) => {
      const m = median(r.samples);
      return [r.name, fmt.ns(m), fmt.ns(Math.min(...r.samples)), fmt.ns(Math.max(...r.samples)), fmt.ratio(m / baseline)];
    });
    const first = (kind: string): number => med(`${kind}, ${fmt.int(SIZES[0])} entries`);
    const last = (kind: string): number => med(`${kind}, ${fmt.int(SIZES[SIZES.length - 1] ?? 0)} entries`);
    const est = last('established');
    const flatNew = last('new flow') / first('new flow');
    const flatEst = est / first('established');
    const maxEst = Math.max(...eps.flatMap((e) => [med(`established, ${fmt.int(e.n)} entries`), med(`established egress (+ source check), ${fmt.int(e.n)} entries`)]));
    report({
      title: 'Datapath program cost (BPF_PROG_TEST_RUN)',
      notes: [
        `ns per packet as measured by the kernel, repeat ${fmt.int(REPEAT)}, ${ROUNDS} interleaved rounds: median (min/max).`,
        'Baseline measured in the same run: bench_parse_only (Weir\'s parser alone, same ACK packet).',
        'Ingress, IPv4 TCP; endpoint isolated, policy = the matching allow + n-1 allows for other identities; ipcache 10,000 /32s.',
        'New flow: a fresh 5-tuple per run (conntrack miss → ipcache → policy → conntrack insert into a full LRU).',
        'Established egress: the same endpoint\'s own TCP flow out (conntrack hit + the anti-spoofing source check).',
        'Audited: an isolated endpoint with no allow in audit mode (weir.dev/enforcement: audit): default deny → AUDIT event (budgeted) → conntrack insert.',
        'One audit policy: the 1-entry endpoint plus an audit NetworkPolicy (isolation + one allow); each new flow is judged again with it enforced.',
        ...checks,
      ],
      columns: ['case', 'median', 'min', 'max', '× baseline'],
      rows: table,
      verdicts: [
        verdict('established ≤ 150 ns (every size, both directions)', maxEst <= 150, fmt.ns(maxEst)),
        verdict('new flow flat ≤ 1.2× (1 → 10,000 entries)', flatNew <= 1.2, fmt.ratio(flatNew)),
        verdict('established flat ≤ 1.2× (1 → 10,000 entries)', flatEst <= 1.2, fmt.ratio(flatEst)),
        `net of the test-run floor: established ${fmt.ns(est - med('test-run floor (empty program)'))}, ` +
          `parse only ${fmt.ns(baseline - med('test-run floor (empty program)'))}; ` +
          `new flow net of the rewrite harness (10,000 entries) ${fmt.ns(last('new flow') - med('rewrite only (new-flow harness)'))}`,
        `one audit policy: new flow with − without ${fmt.ns(med('new flow, 1 entry + one audit policy (unchanged)') - first('new flow'))}; ` +
          `established ${fmt.ratio(med('established, 1 entry + one audit policy') / first('established'))} of the 1-entry endpoint's`,
      ],
    }, process.env.WEIR_BENCH_FILE ?? RESULTS_FILE);
  } finally {
    for (const o of objects) o.close();
    await h.close();
  }
}

await main();
