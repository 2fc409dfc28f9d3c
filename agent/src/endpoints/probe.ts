import { access } from 'node:fs/promises';
import type { DatapathAddon } from '../datapath/port.js';

/**
 * Asks the kernel whether an endpoint's tc programs are still attached (the periodic attach check
 * and CNI CHECK). `netnsGone` lets the caller tell a tampered pod from a pod that no longer exists.
 */
export type AttachState =
  | { kind: 'attached' }
  | { kind: 'missing'; directions: Array<'ingress' | 'egress'> }
  | { kind: 'netns-gone' };

export interface AttachProbe {
  check(netnsPath: string, ifname: string): Promise<AttachState>;
}

export class TcAttachProbe implements AttachProbe {
  constructor(private readonly tc: Pick<DatapathAddon['tc'], 'query'>) {}

  async check(netnsPath: string, ifname: string): Promise<AttachState> {
    try {
      await access(netnsPath);
    } catch {
      return { kind: 'netns-gone' };
    }
    const missing: Array<'ingress' | 'egress'> = [];
    for (const direction of ['ingress', 'egress'] as const) {
      let found: { progId: number } | undefined;
      try {
        found = await this.tc.query({ netnsPath, ifname, direction });
      } catch {
        // The interface itself is gone (or the netns is being torn down): nothing to attach to.
        return { kind: 'netns-gone' };
      }
      if (found === undefined) missing.push(direction);
    }
    return missing.length === 0 ? { kind: 'attached' } : { kind: 'missing', directions: missing };
  }
}
