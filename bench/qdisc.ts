/**
 * What the shapers really let through: bytes a TBF qdisc has sent, read from `tc -s qdisc show`
 * inside a netns (argv array; test input only, the product never runs tc). TBF meters the
 * bytes it sends (skb length: Ethernet frames without FCS), so these counters give frame-level
 * shaping accuracy, where iperf3 can only report TCP goodput.
 */
import { execInNetns } from '../harness/support/netns.js';

/** `tc -s qdisc show` text → bytes sent per device, TBF qdiscs only (summed if several). */
export function parseTbfSent(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let dev: string | undefined;
  for (const line of text.split('\n')) {
    const head = /^qdisc (\S+) \S+ dev (\S+)/.exec(line);
    if (head !== null) {
      dev = head[1] === 'tbf' ? head[2] : undefined;
      continue;
    }
    const sent = /^\s*Sent (\d+) bytes/.exec(line);
    if (sent !== null && dev !== undefined) out.set(dev, (out.get(dev) ?? 0) + Number(sent[1]));
  }
  return out;
}

export async function tbfSentBytes(ns: string): Promise<Map<string, number>> {
  const r = await execInNetns(ns, ['tc', '-s', 'qdisc', 'show']);
  if (r.code !== 0) throw new Error(`tc -s qdisc show in ${ns} failed (${r.code}): ${r.stderr}`);
  return parseTbfSent(r.stdout);
}
