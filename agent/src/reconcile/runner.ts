/**
 * One reconcile loop: events only mark the state dirty; a single run at a time computes desired
 * state and applies the difference. Bursts of events coalesce into one run, and a periodic full
 * resync runs even when nothing was reported (it repairs drift: a detached program, a map entry
 * someone removed).
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

export type RunReason = 'event' | 'resync';

export interface RunnerOptions {
  /** Does the work; must not throw for expected errors (it reports them), but a throw is contained. */
  run(reason: RunReason): Promise<void>;
  /** Events within this window coalesce into one run. */
  coalesceMs: number;
  /** Full resync period. */
  resyncMs: number;
  clock?: Clock;
  onRunError?(error: unknown): void;
  onRunDone?(reason: RunReason, durationMs: number): void;
}

export class ReconcileRunner {
  private readonly clock: Clock;
  private pendingTimer: { cancel(): void } | undefined;
  private resyncTimer: { cancel(): void } | undefined;
  private running: Promise<void> | undefined;
  private dirty: RunReason | undefined;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: RunnerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  start(): void {
    this.scheduleResync();
    this.trigger('resync');
  }

  /** Marks the state dirty; a run follows within coalesceMs. */
  trigger(reason: RunReason = 'event'): void {
    if (this.stopped) return;
    // A resync request is stronger than an event request: keep the strongest pending reason.
    this.dirty = this.dirty === 'resync' ? 'resync' : reason;
    if (this.pendingTimer || this.running) return;
    this.pendingTimer = this.clock.setTimeout(() => {
      this.pendingTimer = undefined;
      void this.runNow();
    }, this.options.coalesceMs);
  }

  /** Resolves when no run is pending or in progress (tests and CNI ADD use it). */
  async idle(): Promise<void> {
    if (!this.running && !this.pendingTimer && this.dirty === undefined) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.pendingTimer?.cancel();
    this.resyncTimer?.cancel();
    this.pendingTimer = undefined;
    this.resyncTimer = undefined;
    this.dirty = undefined;
    this.releaseIdle();
  }

  private scheduleResync(): void {
    if (this.stopped) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      this.trigger('resync');
      this.scheduleResync();
    }, this.options.resyncMs);
  }

  private async runNow(): Promise<void> {
    const reason = this.dirty;
    if (reason === undefined || this.stopped) {
      this.releaseIdle();
      return;
    }
    this.dirty = undefined;
    const started = this.clock.now();
    this.running = this.options.run(reason).then(
      () => this.options.onRunDone?.(reason, this.clock.now() - started),
      (error: unknown) => this.options.onRunError?.(error),
    );
    await this.running;
    this.running = undefined;
    // Events that arrived during the run are already coalesced in `dirty`: run again right away.
    // With nothing dirty (or once stopped) runNow only releases the idle waiters.
    await this.runNow();
  }

  private releaseIdle(): void {
    if (this.running || this.pendingTimer || this.dirty !== undefined) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
