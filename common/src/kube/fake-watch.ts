/**
 * Test support for Reflector users: a scriptable watch endpoint and a polling wait. Lives beside
 * the Reflector so the webhook's and the agent's tests script the API server the same way.
 */
import type { WatchFn } from './reflector.js';

export interface FakeWatch {
  fn: WatchFn;
  emit(type: string, obj: unknown): void;
  close(err?: unknown): void;
  opened: { path: string; query: Record<string, unknown> }[];
}

/** A scriptable watch: each call opens a watch that stays open until closed or aborted. */
export function fakeWatch(): FakeWatch {
  let cur: { onEvent: (t: string, o: unknown) => void; onDone: (e: unknown) => void } | undefined;
  const w: FakeWatch = {
    opened: [],
    fn: async (path, query, onEvent, onDone) => {
      w.opened.push({ path, query });
      cur = { onEvent, onDone };
      const c = new AbortController();
      c.signal.addEventListener('abort', () => onDone(new Error('aborted')));
      return c;
    },
    emit: (t, o) => cur?.onEvent(t, o),
    close: (err) => {
      const c = cur;
      cur = undefined;
      c?.onDone(err ?? null);
    },
  };
  return w;
}

/** Polls `cond` every few ms; throws after `ms`. */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 5));
  }
}
