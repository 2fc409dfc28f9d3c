/**
 * Shared set-up for the datapath suites: the native addon, a private pin root under bpffs,
 * and a Datapath over it. Each suite gets its own pin root, so its maps are its own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { Datapath } from '../../agent/src/datapath/driver.js';
import type { DesiredEndpoint, PolicyEntry } from '../../agent/src/datapath/desired.js';
import { loadNative } from '../../native/index.js';

export const OBJECT_PATH = 'build/bpf/weir.bpf.o';
export const TC_ACT_OK = 0;
export const TC_ACT_SHOT = 2;
export const TC_ACT_REDIRECT = 7;

export interface Harness {
  addon: ReturnType<typeof loadNative>;
  dp: Datapath;
  pinRoot: string;
  close(): Promise<void>;
}

export function openHarness(name: string): Harness {
  execFileSync('make', ['-s', 'bpf']);
  const addon = loadNative();
  // The addon mounts bpffs when missing; the pin root must exist before the first load.
  addon.probeFeatures();
  if (!existsSync('/sys/fs/bpf')) throw new Error('/sys/fs/bpf missing');
  const pinRoot = `/sys/fs/bpf/weir-test-${name}-${process.pid}`;
  rmSync(pinRoot, { recursive: true, force: true });
  mkdirSync(pinRoot, { recursive: true });
  const dp = new Datapath({ addon, objectPath: OBJECT_PATH, pinRoot });
  return {
    addon,
    dp,
    pinRoot,
    async close() {
      await dp.close();
      rmSync(pinRoot, { recursive: true, force: true });
    },
  };
}

/** An entry with test defaults: network tier, ingress, any identity/protocol/port, allow. */
export function entry(e: Partial<PolicyEntry>): PolicyEntry {
  return {
    tier: 'network', direction: 'ingress', identity: 0, protocol: 0, port: 0, portPrefixLength: 0,
    verdict: 'allow', precedence: 0, ruleId: 0, ...e,
  };
}

export function endpoint(entries: PolicyEntry[], iso: { ingress?: boolean; egress?: boolean } = {}): DesiredEndpoint {
  return {
    namespace: 'test', pod: 'pod', interface: 'eth0',
    isolatedIngress: iso.ingress ?? false, isolatedEgress: iso.egress ?? false, entries,
  };
}
