/**
 * The attach check: every endpoint still has the node's Weir programs in its tc slot, and links a
 * later chained plugin added to an enforced pod's netns (Spiderpool's coordinator's veth0) carry
 * them too. Programs that disappeared or were replaced are re-attached; filters running ahead of
 * Weir's are removed; each tamper is a Warning Event on the pod (something in it holds
 * CAP_NET_ADMIN). Runs periodically and, for links, whenever a netns's link watch hears of a link
 * added or changed (linkChanged; link-watches.ts). The periodic check is the backstop for links.
 */
import { errorMessage } from '../../../common/src/errors.js';
import type { DatapathApi } from '../datapath/api.js';
import type { PodEventSink } from '../events.js';
import type { Log } from '../log.js';
import type { Clock } from '../reconcile/runner.js';
import type { AttachProbe } from './probe.js';
import type { Programmed } from './programmed.js';
import { endpointKeyOf } from './registry.js';

export interface AttachCheckDeps {
  datapath: Pick<DatapathApi, 'programIds' | 'attachEndpoint' | 'enforceLinks'>;
  probe: AttachProbe;
  /** The agent's live view of what it programmed (entries go while a check runs). */
  programmed: ReadonlyMap<number, Programmed>;
  /** The agent's lock: datapath writes never interleave with a reconcile or a CNI command. */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  events: PodEventSink | undefined;
  log: Log;
  metrics: { reattachments: { inc(): void }; reconcileErrors: { inc(labels: { step: string }): void } };
  clock: Clock;
  periodSeconds: number;
  flowEvents(): { ingress: boolean; egress: boolean };
}

export class AttachCheck {
  private timer: { cancel(): void } | undefined;
  /** Per netns, the link pass running now; `again`: another change came while it ran. */
  private readonly linkPasses = new Map<string, { again: boolean; done: Promise<void> }>();
  private stopped = false;

  constructor(private readonly d: AttachCheckDeps) {}

  /** Runs the check every periodSeconds until stop(). */
  start(): void {
    if (this.stopped) return;
    this.timer = this.d.clock.setTimeout(() => {
      void this.check().finally(() => this.start());
    }, this.d.periodSeconds * 1000);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /**
   * Re-attaches programs that disappeared from an endpoint or were replaced by a program that is
   * not the node's Weir program, and removes filters running ahead of Weir's (a pod tampering with
   * its netns); a tamper is also a Warning Event on the pod. Then enforces links a later chained
   * plugin added to the pod's netns (enforceLinks). Returns how many endpoints and links got
   * programs attached.
   */
  async check(): Promise<number> {
    let reattached = 0;
    const expected = this.d.datapath.programIds();
    for (const p of [...this.d.programmed.values()]) {
      const rec = p.record;
      const state = await this.d.probe.check(rec.netnsPath, rec.ifName, expected, rec.endpointId).catch(() => ({ kind: 'netns-gone' as const }));
      if (state.kind !== 'missing') continue;
      const what = `${rec.namespace}/${rec.pod} ${rec.ifName}`;
      if (state.foreign.length > 0) {
        this.d.events?.warning(
          { namespace: rec.namespace, name: rec.pod, uid: rec.podUid },
          'WeirProgramReplaced',
          `a tc filter that is not Weir's replaced Weir's or runs ahead of it on ${rec.ifName} (${state.foreign.join(', ')}); it is removed and Weir's re-attached. Something in the pod holds CAP_NET_ADMIN`,
        );
      }
      try {
        // The endpoint may have been forgotten (its pod deleted) while it was being probed: the
        // kubelet deletes pods on a real node while this check runs. Then there is nothing to do.
        const done = await this.d.withLock(async () => {
          if (this.d.programmed.get(rec.endpointId) !== p) return false;
          const res = await this.d.datapath.attachEndpoint({
            endpointId: rec.endpointId, netnsPath: rec.netnsPath, ifname: rec.ifName, desired: p.desired, bandwidth: p.bandwidth, flowEvents: this.d.flowEvents(),
          });
          p.shaping = res.shapingMode;
          return true;
        });
        if (!done) continue;
        reattached++;
        this.d.metrics.reattachments.inc();
        this.d.log.warn({ endpoint: endpointKeyOf(rec), missing: state.directions, foreign: state.foreign }, `programs missing or replaced on ${what}, re-attached`);
      } catch (e) {
        this.d.metrics.reconcileErrors.inc({ step: 'reattach' });
        this.d.log.error({ endpoint: endpointKeyOf(rec), err: errorMessage(e) }, `programs missing or replaced on ${what}; re-attach failed`);
      }
    }
    return reattached + (await this.enforceAddedLinks());
  }

  /**
   * Links in enforced pods' netns that no CNI ADD reported (a plugin chained after weir, such as
   * Spiderpool's coordinator with its veth0) get the endpoint's programs (Datapath.enforceLinks).
   * Tampering found on them is a Warning Event, like on the endpoint's own interface.
   */
  private async enforceAddedLinks(): Promise<number> {
    let attached = 0;
    for (const p of [...this.d.programmed.values()]) attached += await this.enforceLinksOf(p);
    return attached;
  }

  private async enforceLinksOf(p: Programmed): Promise<number> {
    const rec = p.record;
    const what = `${rec.namespace}/${rec.pod}`;
    try {
      const report = await this.d.withLock(async () => (this.d.programmed.get(rec.endpointId) === p ? this.d.datapath.enforceLinks(rec.endpointId) : undefined));
      if (report === undefined) return 0;
      for (const link of report.attached) {
        this.d.log.info({ endpoint: endpointKeyOf(rec), link }, `${what}: link ${link}, added after weir's CNI ADD, now carries the endpoint's programs`);
      }
      for (const t of report.tampered) {
        this.d.events?.warning(
          { namespace: rec.namespace, name: rec.pod, uid: rec.podUid },
          'WeirProgramReplaced',
          `tc filters that were not Weir's on ${t.link}: ${t.filters.join('; ')}. Something in the pod holds CAP_NET_ADMIN`,
        );
      }
      for (const link of report.released ?? []) {
        this.d.log.info({ endpoint: endpointKeyOf(rec), link }, `${what}: link ${link} now carries another network's address; Weir's programs removed from it`);
      }
      for (const l of report.leftAlone) this.d.log.debug({ endpoint: endpointKeyOf(rec), link: l.link }, `${what}: link ${l.link} left unenforced: ${l.reason}`);
      return report.attached.length;
    } catch (e) {
      this.d.metrics.reconcileErrors.inc({ step: 'reattach' });
      this.d.log.error({ endpoint: endpointKeyOf(rec), err: errorMessage(e) }, `${what}: could not enforce links added to the pod after weir's CNI ADD`);
      return 0;
    }
  }

  /**
   * A link watch heard that a link in this netns was added or changed (or lost notifications):
   * the netns's links get the same pass as in check(), at once. The chain goes on after weir's
   * ADD returns (a coordinator adds its veth0 then) and the pod's containers start only after it,
   * so the pass normally lands before them; it runs beside the chain, not inside it.
   * Coalesced per netns: one pass at a time and at most one more after it, so a flood of
   * notifications costs at most back-to-back passes, each taking its turn on the lock.
   */
  linkChanged(netnsPath: string, error?: Error): void {
    if (error !== undefined) {
      this.d.metrics.reconcileErrors.inc({ step: 'linkwatch' });
      this.d.log.error({ netns: netnsPath, err: errorMessage(error) }, `the link watch of ${netnsPath} failed; links added there wait for the periodic attach check until it is open again`);
    }
    const running = this.linkPasses.get(netnsPath);
    if (running !== undefined) {
      running.again = true;
      return;
    }
    const pass = { again: true, done: Promise.resolve() };
    pass.done = (async () => {
      while (pass.again && !this.stopped) {
        pass.again = false;
        // Looked up under the lock: the endpoint whose ADD opened the watch is programmed by then.
        const owner = await this.d.withLock(async () => this.linkOwnerIn(netnsPath));
        if (owner !== undefined) await this.enforceLinksOf(owner);
      }
    })().finally(() => this.linkPasses.delete(netnsPath));
    this.linkPasses.set(netnsPath, pass);
  }

  /** Resolves once no link pass runs or waits (tests). */
  async linkPassesSettled(): Promise<void> {
    while (this.linkPasses.size > 0) await Promise.all([...this.linkPasses.values()].map((p) => p.done));
  }

  /** The endpoint whose programs go on the netns's other links: its lowest id (Datapath.enforceLinks). */
  private linkOwnerIn(netnsPath: string): Programmed | undefined {
    let owner: Programmed | undefined;
    for (const p of this.d.programmed.values()) {
      if (p.record.netnsPath === netnsPath && (owner === undefined || p.record.endpointId < owner.record.endpointId)) owner = p;
    }
    return owner;
  }
}
