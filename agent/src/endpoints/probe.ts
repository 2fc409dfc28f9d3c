import { access } from 'node:fs/promises';
import type { DatapathAddon } from '../datapath/port.js';

/**
 * Asks the kernel whether an endpoint's tc programs are still attached (the periodic attach check
 * and CNI CHECK). `netns-gone` lets the caller tell a tampered pod from a pod that no longer exists.
 * `foreign`: Weir's filter slot holds a program that is not the node's Weir program (by kernel
 * program id: every endpoint runs the same pair, bpf/weir.bpf.c).
 */
type Direction = 'ingress' | 'egress';
export type AttachState =
  | { kind: 'attached' }
  | { kind: 'missing'; directions: Direction[]; foreign: Direction[] }
  | { kind: 'netns-gone' };

export interface AttachProbe {
  check(netnsPath: string, ifname: string, expected?: Record<Direction, number>): Promise<AttachState>;
}

export class TcAttachProbe implements AttachProbe {
  constructor(private readonly tc: Pick<DatapathAddon['tc'], 'query'>) {}

  async check(netnsPath: string, ifname: string, expected?: Record<Direction, number>): Promise<AttachState> {
    try {
      await access(netnsPath);
    } catch {
      return { kind: 'netns-gone' };
    }
    const missing: Direction[] = [];
    const foreign: Direction[] = [];
    for (const direction of ['ingress', 'egress'] as const) {
      let found: { progId: number } | undefined;
      try {
        found = await this.tc.query({ netnsPath, ifname, direction });
      } catch {
        // The interface itself is gone (or the netns is being torn down): nothing to attach to.
        return { kind: 'netns-gone' };
      }
      if (found === undefined) missing.push(direction);
      else if (expected !== undefined && found.progId !== expected[direction]) foreign.push(direction);
    }
    return missing.length + foreign.length === 0 ? { kind: 'attached' } : { kind: 'missing', directions: [...missing, ...foreign], foreign };
  }
}
