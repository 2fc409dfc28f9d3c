import { RESOURCES, type ClusterSource, type Resource, type SourceChange } from './sources.js';

/**
 * A ClusterSource driven by the test: objects are put and deleted by hand, and the API server's
 * direct GET answers from `apiPods` (so a test can model a watch that lags behind the API).
 */
export class ScriptedSource implements ClusterSource {
  private onChange: ((c: SourceChange) => void) | undefined;
  private readonly initial: SourceChange[] = [];
  /** What a direct GET finds, keyed "ns/name". */
  readonly apiPods = new Map<string, unknown>();
  syncedFlag = false;
  fetches = 0;

  /** Objects present at the first list. */
  seed(resource: Resource, object: unknown): this {
    this.initial.push({ resource, type: 'upsert', object });
    return this;
  }

  async start(onChange: (c: SourceChange) => void): Promise<void> {
    this.onChange = onChange;
    for (const c of this.initial) onChange(c);
    this.syncedFlag = true;
  }

  get synced(): boolean { return this.syncedFlag; }
  unsynced(): Resource[] { return this.syncedFlag ? [] : [...RESOURCES]; }

  put(resource: Resource, object: unknown): void {
    this.onChange?.({ resource, type: 'upsert', object });
  }

  remove(resource: Resource, object: unknown): void {
    this.onChange?.({ resource, type: 'delete', object });
  }

  async fetchPod(namespace: string, name: string): Promise<unknown> {
    this.fetches++;
    return this.apiPods.get(`${namespace}/${name}`);
  }

  async stop(): Promise<void> {
    this.onChange = undefined;
  }
}
