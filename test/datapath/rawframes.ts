/**
 * Raw frames for real-packet attack suites: sent from an AF_PACKET socket on one netns link
 * (test/datapath/rawframe.c, what CAP_NET_RAW allows) and counted by a tap on another.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { execInNetns } from '../../harness/support/netns.js';
import type { L4 } from '../../harness/datapath/packets.js';

/** Compiles rawframe.c to `path`. */
export function buildRawframe(path: string): void {
  execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', path, 'test/datapath/rawframe.c']);
}

/** UDP with a payload marker (the tap counts frames containing it). */
export function markedUdp(marker: string, sport: number, dport: number): L4 {
  const payload = Buffer.from(marker);
  const hdr = Buffer.alloc(8);
  hdr.writeUInt16BE(sport, 0);
  hdr.writeUInt16BE(dport, 2);
  hdr.writeUInt16BE(8 + payload.length, 4);
  return { protocol: 17, header: Buffer.concat([hdr, payload]) };
}

export interface LinkAt {
  ns: string;
  ifname: string;
}

/** Starts `argv` in netns `ns` with stdout piped (NetLab.spawnInNetns, or a lab pod's netns). */
export type SpawnInNetns = (ns: string, argv: string[]) => ChildProcess;

/**
 * How many of `frames` (each sent once from `from`, with skb->protocol `proto`) the tap on `to`
 * sees containing `marker` within `ms`. The tap (AF_PACKET) sees what arrives on the wire, before
 * the receiver's own tc ingress: it measures what the sender's datapath let out.
 */
export async function deliveredFrames(
  spawnIn: SpawnInNetns, tool: string, from: LinkAt, to: LinkAt, frames: ReadonlyArray<{ frame: Buffer; proto: number }>, marker: Buffer, ms = 1500,
): Promise<number> {
  const counter = spawnIn(to.ns, [tool, 'count', to.ifname, String(ms), marker.toString('hex')]);
  const out: string[] = [];
  counter.stdout?.on('data', (d: Buffer) => out.push(d.toString()));
  await new Promise<void>((resolve) => counter.stdout?.once('data', () => resolve()));
  for (const f of frames) {
    const r = await execInNetns(from.ns, [tool, 'send', from.ifname, String(f.proto), f.frame.toString('hex')]);
    if (r.code !== 0) throw new Error(`rawframe send: ${r.stderr}`);
  }
  await new Promise<void>((resolve) => counter.once('exit', () => resolve()));
  const lines = out.join('').trim().split('\n');
  return Number(lines[lines.length - 1]);
}
