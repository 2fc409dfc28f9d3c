/**
 * Bandwidth shaping decisions (pure). The mechanism on kernels without sch_fq is TBF:
 *   egress  = TBF as the root qdisc of the pod's interface, inside the pod netns;
 *   ingress = the ingress program redirects allowed packets to a per-pod IFB (in the pod
 *             netns) whose root qdisc is TBF.
 * EDT (skb->tstamp + sch_fq) would be preferable where sch_fq exists, but Weir does not
 * implement it yet: `chooseShapingMode` reports 'tbf' on every kernel and says why, so the
 * mode per endpoint is always explicit.
 */

export type ShapingMode = 'none' | 'tbf';

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

export function chooseShapingMode(features: { schFq: boolean; schTbf: boolean; ifb: boolean }, bandwidth: Bandwidth | undefined): ShapingMode {
  const wanted = bandwidth?.ingressBitsPerSecond !== undefined || bandwidth?.egressBitsPerSecond !== undefined;
  if (!wanted) return 'none';
  // features.schFq would enable EDT; not implemented, so TBF is used even where fq exists.
  if (!features.schTbf || (bandwidth.ingressBitsPerSecond !== undefined && !features.ifb)) {
    throw new Error('bandwidth requested but the kernel lacks sch_tbf or ifb: no shaping mode is available');
  }
  return 'tbf';
}

/** Name of the per-endpoint ingress IFB inside the pod netns (≤ 15 characters). */
export const ifbName = (endpointId: number): string => `wifb${endpointId}`;
