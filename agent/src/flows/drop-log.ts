/**
 * Drop log lines (and AUDIT lines), aggregated per second: the first drop of an (endpoint, direction, verdict, reason) in a
 * quiet second is logged at once, with its flow; the drops that follow within that second are
 * counted and summarised in one line when it ends. A port scan or a flood against one pod then
 * costs the agent two log lines a second, not one per packet (issue 13, finding 8); the BPF side
 * budgets the events themselves (bpf/include/events.h).
 */
import { formatFlow, type FlowRecord } from './format.js';

export type DropLogSink = (fields: Record<string, unknown>, message: string) => void;

interface Window {
  first: FlowRecord;
  more: number;
}

export class DropLog {
  private readonly windows = new Map<string, Window>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly sink: DropLogSink, private readonly windowMs = 1000) {}

  add(record: FlowRecord): void {
    const key = `${record.endpoint}\u0000${record.direction}\u0000${record.verdict}\u0000${record.reason}`;
    const w = this.windows.get(key);
    if (w !== undefined) {
      w.more++;
      return;
    }
    this.windows.set(key, { first: record, more: 0 });
    this.sink({ flow: record }, formatFlow(record));
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.windowMs);
      this.timer.unref();
    }
  }

  /** Ends the current window: one summary line per key that saw more than its first drop. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const ended = [...this.windows.values()];
    this.windows.clear();
    for (const w of ended) {
      if (w.more === 0) continue;
      const { endpoint, direction, reason, verdict } = w.first;
      // AUDIT records (an audit namespace's flows policy would drop) are summarised apart from real drops.
      const what = verdict === 'AUDIT' ? 'audited would-be drops' : 'drops';
      this.sink(
        { endpoint, direction, reason, verdict, drops: w.more, windowMs: this.windowMs },
        `${w.more} more ${direction} ${what} (${reason}) on ${endpoint} in the last ${this.windowMs} ms; the first was: ${formatFlow(w.first)}`,
      );
    }
  }
}
