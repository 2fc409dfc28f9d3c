import { describe, expect, it } from 'vitest';
import { ReconcileRunner, type Clock, type RunReason } from './runner.js';

/** A manual clock: timers fire only when the test advances time. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const timer = { at: now + ms, fn, live: true };
      timers.push(timer);
      return { cancel: () => { timer.live = false; } };
    },
    advance(ms) {
      now += ms;
      const due = timers.filter((t) => t.live && t.at <= now);
      timers = timers.filter((t) => t.live && t.at > now);
      for (const t of due) t.fn();
    },
  };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ReconcileRunner', () => {
  it('coalesces a burst of events into one run', async () => {
    const clock = manualClock();
    const runs: RunReason[] = [];
    const runner = new ReconcileRunner({ clock, coalesceMs: 50, resyncMs: 60_000, run: async (r) => { runs.push(r); } });
    for (let i = 0; i < 100; i++) runner.trigger('event');
    clock.advance(50);
    await runner.idle();
    expect(runs).toEqual(['event']);
    runner.stop();
  });

  it('runs a full resync periodically with no events', async () => {
    const clock = manualClock();
    const runs: RunReason[] = [];
    const runner = new ReconcileRunner({ clock, coalesceMs: 10, resyncMs: 1000, run: async (r) => { runs.push(r); } });
    runner.start();
    clock.advance(10);
    await flush();
    clock.advance(1000);
    clock.advance(10);
    await runner.idle();
    expect(runs).toEqual(['resync', 'resync']);
    runner.stop();
  });

  it('runs again after a run during which events arrived, never two at once', async () => {
    const clock = manualClock();
    let concurrent = 0;
    let maxConcurrent = 0;
    let release: (() => void) | undefined;
    const runs: number[] = [];
    const runner = new ReconcileRunner({
      clock, coalesceMs: 5, resyncMs: 60_000,
      run: async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        runs.push(runs.length);
        if (runs.length === 1) await new Promise<void>((resolve) => { release = resolve; });
        concurrent--;
      },
    });
    runner.trigger();
    clock.advance(5);
    await flush();
    runner.trigger();
    runner.trigger();
    release?.();
    await runner.idle();
    expect(runs).toEqual([0, 1]);
    expect(maxConcurrent).toBe(1);
    runner.stop();
  });

  it('contains a failing run and keeps going', async () => {
    const clock = manualClock();
    const errors: unknown[] = [];
    let calls = 0;
    const runner = new ReconcileRunner({
      clock, coalesceMs: 1, resyncMs: 60_000,
      run: async () => { calls++; if (calls === 1) throw new Error('map full'); },
      onRunError: (e) => errors.push(e),
    });
    runner.trigger();
    clock.advance(1);
    await runner.idle();
    runner.trigger();
    clock.advance(1);
    await runner.idle();
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
    runner.stop();
  });
});
