// The link watch (native/src/linkwatch.cc) on a real kernel: a socket opened inside a netns hears
// links added in that netns and no other, a closed watch hears nothing, a netns that does not exist
// is refused, and no fd outlives the watches.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePrivileged } from '../test/support/privileged.js';
import { loadNative, NativeError, type LinkWatch, type NativeAddon } from './index.js';

const tag = `lw${process.pid % 100000}`;
const nsA = `${tag}a`;
const nsB = `${tag}b`;
const path = (ns: string): string => `/var/run/netns/${ns}`;
const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: 'pipe' });
};
const openFds = (): number => readdirSync('/proc/self/fd').length;
/** After the poll phase that ran the awaited callback: every fd that was ready then has had its callback. */
const afterPollPhase = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A watch whose notifications are counted and can be awaited. */
class Watched {
  calls = 0;
  errors: Error[] = [];
  watch: LinkWatch | undefined;
  private waiters: Array<() => void> = [];
  onChange = (error?: Error): void => {
    this.calls++;
    if (error !== undefined) this.errors.push(error);
    for (const w of this.waiters.splice(0)) w();
  };
  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

describePrivileged('native link watch (rtnetlink notifications inside a netns)', () => {
  let addon: NativeAddon;

  beforeAll(() => {
    addon = loadNative();
    for (const ns of [nsA, nsB]) {
      try { ip('netns', 'del', ns); } catch { /* not there */ }
      ip('netns', 'add', ns);
    }
  });

  afterAll(() => {
    for (const ns of [nsA, nsB]) {
      try { ip('netns', 'del', ns); } catch { /* already gone */ }
    }
  });

  it('hears a link added in its own netns, not in another; a closed watch hears nothing; no fd is left', async () => {
    const fdsBefore = openFds();
    const a = new Watched();
    const b = new Watched();
    const witness = new Watched();
    a.watch = await addon.netlink.watchLinks(path(nsA), a.onChange);
    b.watch = await addon.netlink.watchLinks(path(nsB), b.onChange);
    witness.watch = await addon.netlink.watchLinks(path(nsA), witness.onChange);
    expect(a.watch.open).toBe(true);
    expect(openFds()).toBe(fdsBefore + 3);

    // A link added in B (a veth, created down, then set up): B's watch fires, A's does not.
    const heardB = b.next();
    ip('-n', nsB, 'link', 'add', 'lwb0', 'type', 'veth', 'peer', 'name', 'lwb1');
    await heardB;
    await afterPollPhase();
    expect(a.calls).toBe(0);
    expect(witness.calls).toBe(0);

    // A veth added in A (what a chained plugin does): A's watch fires.
    const heardA = a.next();
    ip('-n', nsA, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'lwa1');
    await heardA;
    // ... and again when the link goes up.
    const upA = a.next();
    ip('-n', nsA, 'link', 'set', 'veth0', 'up');
    await upA;
    expect(a.errors).toEqual([]);

    // Closed: a link added afterwards reaches the witness in the same netns, not the closed watch.
    a.watch.close();
    a.watch.close(); // idempotent
    expect(a.watch.open).toBe(false);
    await afterPollPhase();
    const callsAtClose = a.calls;
    const heardWitness = witness.next();
    ip('-n', nsA, 'link', 'add', 'lwa2', 'type', 'veth', 'peer', 'name', 'lwa3');
    await heardWitness;
    await afterPollPhase();
    expect(a.calls).toBe(callsAtClose);

    b.watch.close();
    witness.watch.close();
    expect(openFds()).toBe(fdsBefore);
  });

  it('refuses a netns that does not exist, naming it, and leaves no fd behind', async () => {
    const fdsBefore = openFds();
    const missing = path(`${tag}-missing`);
    const err: unknown = await addon.netlink.watchLinks(missing, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NativeError);
    expect(String(err)).toContain(missing);
    expect(openFds()).toBe(fdsBefore);
  });
});
