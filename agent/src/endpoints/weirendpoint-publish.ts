/**
 * Publishes this agent's WeirEndpoints through the API server. CNI ADD and DEL never wait for it:
 * the local datapath already has the binding; other nodes learn it when the write lands. Writes
 * are coalesced per pod, skipped when nothing changed, and retried with a delay when they fail.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { isRecord } from '../../../common/src/records.js';
import { WEIR_ENDPOINT, weirEndpointObject, type WeirEndpoint } from './weirendpoint.js';

/** Where WeirEndpoints go: the API server (KubeEndpointWriter) or a test's recorder. */
export interface EndpointWriter {
  apply(ep: WeirEndpoint): Promise<void>;
  /** Deletes the pod's WeirEndpoint if it still describes the incarnation `podUid`. */
  remove(namespace: string, name: string, podUid: string): Promise<void>;
}

export interface PublisherOptions {
  writer: EndpointWriter;
  /** The endpoint to publish for a pod now; undefined = this agent binds nothing of it any more. */
  snapshot(podKey: string): WeirEndpoint | undefined;
  onError(podKey: string, error: unknown): void;
  retryMs?: number;
}

export class EndpointPublisher {
  /** podKey → uid of the incarnation to delete if the snapshot is empty. */
  private readonly dirty = new Map<string, string>();
  private readonly written = new Map<string, string>();
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly o: PublisherOptions) {}

  /** Schedules a write of the pod's current WeirEndpoint (or its deletion). */
  mark(podKey: string, podUid: string): void {
    if (this.stopped) return;
    this.dirty.set(podKey, podUid);
    this.running ??= this.drain().finally(() => { this.running = undefined; });
  }

  /** Resolves when every scheduled write has been attempted (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async drain(): Promise<void> {
    while (this.dirty.size > 0 && !this.stopped) {
      const [podKey, podUid] = this.dirty.entries().next().value as [string, string];
      this.dirty.delete(podKey);
      const ep = this.o.snapshot(podKey);
      const text = ep === undefined ? `deleted:${podUid}` : JSON.stringify(ep);
      if (this.written.get(podKey) === text) continue;
      try {
        if (ep === undefined) {
          const [namespace = '', name = ''] = podKey.split('/');
          await this.o.writer.remove(namespace, name, podUid);
          this.written.delete(podKey);
        } else {
          await this.o.writer.apply(ep);
          this.written.set(podKey, text);
        }
      } catch (e) {
        this.o.onError(podKey, e);
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.mark(podKey, podUid);
        }, this.o.retryMs ?? 2_000);
        t.unref();
        this.timers.add(t);
      }
    }
  }
}

const FIELD_MANAGER = 'weir-agent';

function statusCode(e: unknown): number | undefined {
  return isRecord(e) && typeof e['code'] === 'number' ? e['code'] : undefined;
}

/** Server-side apply as the agent's ServiceAccount (the only writer RBAC allows). */
export class KubeEndpointWriter implements EndpointWriter {
  private readonly api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  async apply(ep: WeirEndpoint): Promise<void> {
    await this.api.patchNamespacedCustomObject(
      {
        group: WEIR_ENDPOINT.group, version: WEIR_ENDPOINT.version, plural: WEIR_ENDPOINT.plural,
        namespace: ep.namespace, name: ep.name, body: weirEndpointObject(ep), fieldManager: FIELD_MANAGER, force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }

  async remove(namespace: string, name: string, podUid: string): Promise<void> {
    const ref = { group: WEIR_ENDPOINT.group, version: WEIR_ENDPOINT.version, plural: WEIR_ENDPOINT.plural, namespace, name };
    let current: unknown;
    try {
      current = await this.api.getNamespacedCustomObject(ref);
    } catch (e) {
      if (statusCode(e) === 404) return;
      throw e;
    }
    const spec = isRecord(current) && isRecord(current['spec']) ? current['spec'] : {};
    const meta = isRecord(current) && isRecord(current['metadata']) ? current['metadata'] : {};
    // A newer incarnation of the pod (possibly on another node) owns it now: leave it alone.
    if (spec['podUID'] !== podUid || typeof meta['uid'] !== 'string') return;
    try {
      await this.api.deleteNamespacedCustomObject({ ...ref, body: { preconditions: { uid: meta['uid'] } } });
    } catch (e) {
      if (statusCode(e) !== 404 && statusCode(e) !== 409) throw e;
    }
  }
}
