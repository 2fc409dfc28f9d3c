import { access } from 'node:fs/promises';
import type { DatapathAddon } from '../datapath/port.js';
import { hookState } from '../datapath/filters.js';

/**
 * Asks the kernel whether an endpoint's tc programs are still attached (the periodic attach check
 * and CNI CHECK). `netns-gone` lets the caller tell a tampered pod from a pod that no longer exists.
 * `foreign`: Weir's filter slot holds a program that is not the node's Weir program (by kernel
 * program id: every endpoint runs the same pair, bpf/weir.bpf.c) or another endpoint's classid, or
 * a filter runs ahead of Weir's (agent/src/datapath/filters.ts).
 */
type Direction = 'ingress' | 'egress';
export type AttachState =
  | { kind: 'attached' }
  | { kind: 'missing'; directions: Direction[]; foreign: Direction[] }
  | { kind: 'netns-gone' };

export interface AttachProbe {
  /** classid: the endpoint id Weir's filter must carry (absent: not checked). */
  check(netnsPath: string, ifname: string, expected?: Record<Direction, number>, classid?: number): Promise<AttachState>;
}

export class TcAttachProbe implements AttachProbe {
  constructor(private readonly tc: Pick<DatapathAddon['tc'], 'list'>) {}

  async check(netnsPath: string, ifname: string, expected?: Record<Direction, number>, classid?: number): Promise<AttachState> {
    try {
      await access(netnsPath);
    } catch {
      return { kind: 'netns-gone' };
    }
    const missing: Direction[] = [];
    const foreign: Direction[] = [];
    for (const direction of ['ingress', 'egress'] as const) {
      let hook: ReturnType<typeof hookState>;
      try {
        hook = hookState(await this.tc.list({ netnsPath, ifname, direction }), { progId: expected?.[direction], classid });
      } catch {
        // The interface itself is gone (or the netns is being torn down): nothing to attach to.
        return { kind: 'netns-gone' };
      }
      if (hook.slot === 'missing' && hook.ahead.length === 0) missing.push(direction);
      else if (hook.slot !== 'ok' || hook.ahead.length > 0) foreign.push(direction);
    }
    return missing.length + foreign.length === 0 ? { kind: 'attached' } : { kind: 'missing', directions: [...missing, ...foreign], foreign };
  }
}
