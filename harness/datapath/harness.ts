/**
 * Shared set-up for the datapath suites: the native addon, a private pin root under bpffs,
 * and a Datapath over it. Each suite gets its own pin root, so its maps are its own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { Datapath, type DatapathOptions } from '../../agent/src/datapath/driver.js';
import type { EndpointAddresses } from '../../agent/src/datapath/codec.js';
import type { DesiredEndpoint, PolicyEntry } from '../../agent/src/datapath/desired.js';
import type { BpfObject } from '../../native/index.js';
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

export function openHarness(name: string, opts: Pick<DatapathOptions, 'conntrackQuota' | 'shaping' | 'nodeNetnsPath'> = {}): Harness {
  execFileSync('make', ['-s', 'bpf']);
  const addon = loadNative();
  // The addon mounts bpffs when missing; the pin root must exist before the first load.
  addon.probeFeatures();
  if (!existsSync('/sys/fs/bpf')) throw new Error('/sys/fs/bpf missing');
  const pinRoot = `/sys/fs/bpf/weir-test-${name}-${process.pid}`;
  rmSync(pinRoot, { recursive: true, force: true });
  mkdirSync(pinRoot, { recursive: true });
  const dp = new Datapath({ addon, objectPath: OBJECT_PATH, pinRoot, conntrackSweepSeconds: 0, ...opts });
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

export interface TestEndpoint {
  id: number;
  obj: BpfObject;
  ingress(pkt: Buffer): number;
  egress(pkt: Buffer): number;
}

/**
 * Staged (never attached) endpoints for BPF_PROG_TEST_RUN suites: each gets its own id, so its
 * conntrack, counters and policy slice are its own, and the given own addresses.
 */
export function testEndpoints(h: Harness, addresses: EndpointAddresses) {
  let nextId = 1;
  const objects: BpfObject[] = [];
  return {
    async ep(entries: PolicyEntry[], iso: { ingress?: boolean; egress?: boolean } = {}, events = false, audit = false): Promise<TestEndpoint> {
      const id = nextId++;
      const desired = audit ? { ...endpoint(entries, iso), audit: true } : endpoint(entries, iso);
      await h.dp.stageEndpoint({
        endpointId: id, netnsPath: null, ifname: 'unused', desired, flowEvents: { ingress: events, egress: events }, addresses,
      });
      const obj = h.addon.openObject({ path: OBJECT_PATH, pinRoot: h.pinRoot, constants: { endpoint_id: id } });
      objects.push(obj);
      const run = (prog: 'weir_ingress' | 'weir_egress') => (pkt: Buffer): number => obj.program(prog).testRun({ data: pkt }).retval;
      return { id, obj, ingress: run('weir_ingress'), egress: run('weir_egress') };
    },
    close(): void {
      for (const o of objects) o.close();
    },
  };
}

/** Packets of one reason counted for an endpoint so far. */
export async function counted(h: Harness, endpointId: number, reason: string): Promise<bigint> {
  return (await h.dp.readCounters()).find((c) => c.endpointId === endpointId && c.reason === reason)?.packets ?? 0n;
}
