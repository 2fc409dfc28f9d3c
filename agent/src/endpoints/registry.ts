import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../../common/src/files.js';
import { join } from 'node:path';
import { isRecord } from '../../../common/src/records.js';
import { allocateEndpointId } from '../datapath/api.js';

/**
 * The endpoints this node's agent enforces, as learned from CNI ADD: which pod interface lives in
 * which netns. Persisted (atomically, on every change) so a restarted agent can adopt the programs
 * it attached before, without detaching them. The file is ours but still read as untrusted input.
 */
export interface EndpointRecord {
  /** Datapath endpoint id (const volatile in the programs, key prefix in the shared maps). */
  endpointId: number;
  containerId: string;
  netnsPath: string;
  ifName: string;
  namespace: string;
  pod: string;
  podUid: string;
}

export const endpointKeyOf = (r: Pick<EndpointRecord, 'namespace' | 'pod' | 'ifName'>): string => `${r.namespace}/${r.pod}/${r.ifName}`;

export class EndpointRegistry {
  private readonly records = new Map<string, EndpointRecord>();
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly stateDir: string) {}

  get file(): string { return join(this.stateDir, 'endpoints.json'); }

  /** Loads the persisted records; malformed entries are dropped and returned as problems. */
  async load(): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return [];
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return [`${this.file} is not JSON; starting with no endpoints (they are re-learned at the next CNI ADD)`];
    }
    const problems: string[] = [];
    const list = isRecord(value) && Array.isArray(value.endpoints) ? value.endpoints : [];
    for (const [index, item] of list.entries()) {
      const record = parseRecord(item);
      if (record === undefined) {
        problems.push(`${this.file}: endpoints[${index}] is malformed; skipped`);
        continue;
      }
      this.records.set(endpointKeyOf(record), record);
    }
    return problems;
  }

  list(): EndpointRecord[] { return [...this.records.values()]; }
  get(key: string): EndpointRecord | undefined { return this.records.get(key); }
  byContainer(containerId: string, ifName: string): EndpointRecord | undefined {
    return this.list().find((r) => r.containerId === containerId && r.ifName === ifName);
  }

  /**
   * Adds (or refreshes after a sandbox re-creation) an endpoint, keeping its id when it had one.
   * A new endpoint gets the lowest free id: ids index BPF arrays of fixed size, so a counter that
   * only grows would run out after that many attachments in one agent's life. Reuse is safe
   * because remove() follows the datapath's detach, which clears the id's entries.
   * Throws when every id is in use.
   */
  async put(fields: Omit<EndpointRecord, 'endpointId'>): Promise<EndpointRecord> {
    const existing = this.records.get(endpointKeyOf(fields));
    const record: EndpointRecord = { ...fields, endpointId: existing?.endpointId ?? this.allocateId() };
    this.records.set(endpointKeyOf(record), record);
    await this.save();
    return record;
  }

  async remove(key: string): Promise<void> {
    if (this.records.delete(key)) await this.save();
  }

  private allocateId(): number {
    return allocateEndpointId(new Set([...this.records.values()].map((r) => r.endpointId)));
  }

  private save(): Promise<void> {
    // Writes are chained so the file always ends with the latest state.
    this.writing = this.writing.then(async () => {
      await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.file, JSON.stringify({ version: 1, endpoints: this.list() }, null, 1));
    });
    return this.writing;
  }
}


function parseRecord(v: unknown): EndpointRecord | undefined {
  if (!isRecord(v)) return undefined;
  const { endpointId, containerId, netnsPath, ifName, namespace, pod, podUid } = v;
  if (typeof endpointId !== 'number' || !Number.isInteger(endpointId) || endpointId < 1 || endpointId > 0xffffffff) return undefined;
  for (const s of [containerId, netnsPath, ifName, namespace, pod, podUid]) if (typeof s !== 'string') return undefined;
  return { endpointId, containerId: String(containerId), netnsPath: String(netnsPath), ifName: String(ifName), namespace: String(namespace), pod: String(pod), podUid: String(podUid) };
}
