/**
 * One link watch (DatapathApi.watchLinks: a NETLINK_ROUTE socket inside the netns,
 * native/src/linkwatch.cc) per netns holding an enforced endpoint, so a link a plugin chained
 * after weir adds to the pod (Spiderpool's coordinator's veth0) is enforced when the kernel says
 * it exists, not when a timer next looks (attach-check.ts linkChanged).
 *
 * EndpointPrograms holds a netns's watch for each endpoint it programs there (opened during the
 * CNI ADD, before weir answers, so nothing the rest of the chain adds goes unheard; or during the
 * first reconcile after a restart) and releases it when it forgets the endpoint (CNI DEL, GC, the
 * pod gone); the last release closes the socket. An open socket keeps its netns alive, so a watch
 * must never outlive its endpoints. Every call runs under the agent's lock.
 */
import { errorMessage } from '../../../common/src/errors.js';
import type { DatapathApi, LinkWatchHandle } from '../datapath/api.js';

export interface LinkWatchesDeps {
  datapath: Pick<DatapathApi, 'watchLinks'>;
  /** A link in the netns was added or changed (or notifications were lost); error: the watch broke. */
  onChange(netnsPath: string, error?: Error): void;
}

interface Entry {
  watch: LinkWatchHandle;
  /** Endpoint ids whose programs are in this netns. */
  holders: Set<number>;
}

export class LinkWatches {
  private readonly byNetns = new Map<string, Entry>();
  private closed = false;

  constructor(private readonly d: LinkWatchesDeps) {}

  /**
   * The netns's watch, opened for its first endpoint; then one pass over the links already there
   * (a watch hears only what happens after it opened). Rejects when it cannot be opened: the
   * caller fails that endpoint closed.
   */
  async hold(netnsPath: string, endpointId: number): Promise<void> {
    if (this.closed) throw new Error('the agent is stopping: no new link watches');
    const cur = this.byNetns.get(netnsPath);
    if (cur !== undefined) {
      cur.holders.add(endpointId);
      return;
    }
    let entry: Entry | undefined;
    const onChange = (error?: Error): void => {
      // A broken watch closed itself: open a fresh one for the same holders (best effort; the
      // periodic attach check still covers the netns meanwhile).
      if (error !== undefined && entry !== undefined) this.reopen(netnsPath, entry, onChange);
      this.d.onChange(netnsPath, error);
    };
    let watch: LinkWatchHandle;
    try {
      watch = await this.d.datapath.watchLinks(netnsPath, onChange);
    } catch (e) {
      throw new Error(`cannot watch the links of ${netnsPath} (a link added later would go unenforced): ${errorMessage(e)}`);
    }
    // Callers hold the agent's lock, so nothing else opened this netns's watch meanwhile; but stop
    // does not wait for the lock.
    if (this.isClosed()) {
      watch.close();
      throw new Error('the agent is stopping: no new link watches');
    }
    entry = { watch, holders: new Set([endpointId]) };
    this.byNetns.set(netnsPath, entry);
    this.d.onChange(netnsPath);
  }

  /** The endpoint left the netns; its last endpoint closes the watch. */
  release(netnsPath: string, endpointId: number): void {
    const entry = this.byNetns.get(netnsPath);
    if (entry === undefined) return;
    entry.holders.delete(endpointId);
    if (entry.holders.size > 0) return;
    entry.watch.close();
    this.byNetns.delete(netnsPath);
  }

  /** Agent stop: every watch closes (the new agent opens its own on recovery). */
  closeAll(): void {
    this.closed = true;
    for (const e of this.byNetns.values()) e.watch.close();
    this.byNetns.clear();
  }

  /** Read through a call: closeAll may run while hold awaits (a plain field read would be narrowed away). */
  private isClosed(): boolean {
    return this.closed;
  }

  /** Netns paths watched now (status, tests). */
  watched(): string[] {
    return [...this.byNetns.keys()];
  }

  private reopen(netnsPath: string, entry: Entry, onChange: (error?: Error) => void): void {
    void this.d.datapath.watchLinks(netnsPath, onChange).then((w) => {
      if (this.byNetns.get(netnsPath) === entry && !this.closed) entry.watch = w;
      else w.close();
    }, (e: unknown) => this.d.onChange(netnsPath, new Error(`reopening it: ${errorMessage(e)}`)));
  }
}
