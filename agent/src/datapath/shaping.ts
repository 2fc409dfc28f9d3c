/**
 * Bandwidth shaping decisions (pure). Where the shaper sits:
 *   egress  = the root qdisc of the pod's interface, inside the pod netns;
 *   ingress = the ingress program redirects allowed packets to a per-pod IFB (in the pod
 *             netns) whose root qdisc shapes.
 * Which shaper (`chooseShapingMode`, reported per endpoint):
 *   'htb-fair' (sch_htb present): an HTB whose parent class holds the pod's rate and whose
 *              FLOW_CLASS.leaves leaf classes share it (rate = rate / leaves, ceil = rate), each
 *              with a short byte-bounded queue (a non-pacing TBF). The programs put each flow in
 *              a leaf by its hash (skb->priority = leaf classid, bpf/weir.bpf.c), so a ping or a
 *              small RPC does not wait behind a bulk flow's queue: an idle leaf has its own
 *              tokens and is served first. Two flows in one leaf (odds 1 in 32 per pair) share
 *              that leaf's queue.
 *   'tbf'      (no sch_htb, or the operator asked for it): one TBF, one FIFO for all flows.
 * EDT (skb->tstamp + sch_fq) is not implemented: this kernel family has no sch_fq.
 */
import { FLOW_CLASS } from './constants.js';

export type ShapingMode = 'none' | 'tbf' | 'htb-fair';
/** What the operator allows: 'auto' = htb-fair where sch_htb exists, else tbf. */
export type ShapingPreference = 'auto' | 'tbf';

export interface Bandwidth {
  ingressBitsPerSecond?: number;
  egressBitsPerSecond?: number;
}

export interface TbfParameters {
  rateBitsPerSecond: number;
  burstBytes: number;
  limitBytes: number;
}

/** Ethernet frame for a 1500-byte MTU: the unit TBF must always be able to send at once. */
const FRAME_BYTES = 1514;
/** Burst = this much time at the rate: small enough that the first second never overshoots. */
const BURST_SECONDS = 0.004;
/** Queue beyond the burst: bounded delay under load (the CNI bandwidth plugin uses 25 ms). */
const QUEUE_SECONDS = 0.01;

/**
 * Weir's own burst (never the runtime's MaxUint32): max(2 frames, 4 ms at rate); queue
 * limit = burst + max(4 frames, 10 ms at rate).
 */
export function tbfParameters(rateBitsPerSecond: number): TbfParameters {
  if (!Number.isFinite(rateBitsPerSecond) || rateBitsPerSecond < 1000) {
    throw new Error(`bandwidth ${rateBitsPerSecond} bit/s is below the 1 kbit/s minimum`);
  }
  const bytesPerSecond = rateBitsPerSecond / 8;
  const burstBytes = Math.max(2 * FRAME_BYTES, Math.ceil(bytesPerSecond * BURST_SECONDS));
  const limitBytes = burstBytes + Math.max(4 * FRAME_BYTES, Math.ceil(bytesPerSecond * QUEUE_SECONDS));
  return { rateBitsPerSecond: Math.round(rateBitsPerSecond), burstBytes, limitBytes };
}

export interface ShapingFeatures {
  schFq: boolean;
  schTbf: boolean;
  schHtb: boolean;
  ifb: boolean;
}

export function chooseShapingMode(features: ShapingFeatures, bandwidth: Bandwidth | undefined, preference: ShapingPreference = 'auto'): ShapingMode {
  const wanted = bandwidth?.ingressBitsPerSecond !== undefined || bandwidth?.egressBitsPerSecond !== undefined;
  if (!wanted) return 'none';
  if (bandwidth.ingressBitsPerSecond !== undefined && !features.ifb) {
    throw new Error('ingress bandwidth requested but the kernel lacks ifb: no shaping mode is available');
  }
  // Both modes need sch_tbf: htb-fair's leaves queue in TBFs (flowClassParameters).
  if (!features.schTbf) {
    throw new Error('bandwidth requested but the kernel lacks sch_tbf (both shaping modes use it): no shaping mode is available');
  }
  if (preference === 'auto' && features.schHtb) return 'htb-fair';
  return 'tbf';
}

export interface FlowClassParameters {
  rateBitsPerSecond: number;
  burstBytes: number;
  leafRateBitsPerSecond: number;
  leafBurstBytes: number;
  leafQueueRateBitsPerSecond: number;
  leafQueueBurstBytes: number;
  leafQueueLimitBytes: number;
  quantumBytes: number;
  major: number;
  leafMinors: number[];
  leafQdiscMajor: number;
}

/** Handle major of leaf i's queue: FLOW_LEAF_QDISC_MAJOR + i (any unused major; 1 is the root). */
const FLOW_LEAF_QDISC_MAJOR = 0x100;

/**
 * The HTB for 'htb-fair'. Parent: the TBF's rate and burst (so the first second overshoots no
 * more than with TBF). Leaf: an equal share of the rate with a 2-frame burst of its own (an idle
 * flow's next packet goes out at once), borrowing up to the rate; quantum one frame, so a bulk
 * leaf's turn between two packets of another leaf is one frame. Each leaf queues in a TBF with
 * 'tbf' mode's burst and byte limit (10 ms at the rate beyond the burst: one leaf may carry the
 * whole rate) at twice the rate, so it never paces (HTB does) but splits GSO packets larger than
 * its burst, as 'tbf' mode does: HTB alone would queue, and charge, whole 64 KiB packets.
 */
export function flowClassParameters(rateBitsPerSecond: number): FlowClassParameters {
  const tbf = tbfParameters(rateBitsPerSecond);
  return {
    rateBitsPerSecond: tbf.rateBitsPerSecond,
    burstBytes: tbf.burstBytes,
    leafRateBitsPerSecond: Math.max(8, Math.floor(tbf.rateBitsPerSecond / FLOW_CLASS.leaves)),
    leafBurstBytes: 2 * FRAME_BYTES,
    leafQueueRateBitsPerSecond: 2 * tbf.rateBitsPerSecond,
    leafQueueBurstBytes: tbf.burstBytes,
    leafQueueLimitBytes: tbf.limitBytes,
    quantumBytes: FRAME_BYTES,
    major: FLOW_CLASS.major,
    leafMinors: Array.from({ length: FLOW_CLASS.leaves }, (_, i) => FLOW_CLASS.base + FLOW_CLASS.step * i),
    leafQdiscMajor: FLOW_LEAF_QDISC_MAJOR,
  };
}

/** Name of the per-endpoint ingress IFB inside the pod netns (≤ 15 characters). */
export const ifbName = (endpointId: number): string => `wifb${endpointId}`;
