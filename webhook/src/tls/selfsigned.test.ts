import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { isSignedBy, splitPemBundle } from './certs.js';
import { servingNames, type RotationPolicy } from './plan.js';
import { startSelfSignedTls, type BundlePublisher, type SecretStore, type StoredSecret } from './selfsigned.js';

const DAY = 24 * 3600 * 1000;
const logger = pino({ level: 'silent' });
const names = servingNames('weir-webhook', 'weir');

/** An in-memory Secret with the API server's optimistic concurrency. */
function memoryStore(): SecretStore & { writes: number; current(): StoredSecret | undefined } {
  let cur: StoredSecret | undefined;
  let rv = 0;
  const s = {
    writes: 0,
    current: () => cur,
    async read() {
      await new Promise((r) => setTimeout(r, 1));
      return cur === undefined ? undefined : { data: { ...cur.data }, resourceVersion: cur.resourceVersion };
    },
    async write(data: Record<string, string>, resourceVersion: string | undefined): Promise<'ok' | 'conflict'> {
      await new Promise((r) => setTimeout(r, 1));
      if ((resourceVersion === undefined) !== (cur === undefined)) return 'conflict';
      if (cur !== undefined && cur.resourceVersion !== resourceVersion) return 'conflict';
      rv++;
      s.writes++;
      cur = { data: { ...data }, resourceVersion: String(rv) };
      return 'ok';
    },
  };
  return s;
}

function memoryPublisher(exists = true): BundlePublisher & { bundle: string; publishes: number } {
  const p = {
    bundle: '',
    publishes: 0,
    async published() {
      return exists ? splitPemBundle(p.bundle).map((x) => x.trim()) : undefined;
    },
    async publish(b: string) {
      if (!exists) return;
      if (p.bundle !== b) p.publishes++;
      p.bundle = b;
    },
  };
  return p;
}

describe('self-signed TLS over a shared Secret', () => {
  it('two replicas starting together converge on one CA and one serving certificate', async () => {
    const store = memoryStore();
    const pub = memoryPublisher();
    const [a, b] = await Promise.all([
      startSelfSignedTls({ store, publisher: pub, names, caName: 'ca', logger }),
      startSelfSignedTls({ store, publisher: pub, names, caName: 'ca', logger }),
    ]);
    expect(a.caBundle()).toBe(b.caBundle());
    expect(a.material()).toEqual(b.material());
    expect(store.writes).toBe(1);
    expect(pub.bundle).toBe(a.caBundle());
    expect(isSignedBy(a.material().cert, splitPemBundle(pub.bundle)[0] ?? '')).toBe(true);
    a.stop();
    b.stop();
  });

  it('adopts a Secret another replica already filled, without writing', async () => {
    const store = memoryStore();
    const pub = memoryPublisher();
    const first = await startSelfSignedTls({ store, publisher: pub, names, caName: 'ca', logger });
    const second = await startSelfSignedTls({ store, publisher: pub, names, caName: 'ca', logger });
    expect(store.writes).toBe(1);
    expect(second.material()).toEqual(first.material());
    first.stop();
    second.stop();
  });

  it('rotates before expiry on a check (injected clock), notifies listeners, and the published bundle always trusts the serving cert', async () => {
    const policy: RotationPolicy = { caValidityMs: 100 * DAY, servingValidityMs: 10 * DAY, renewCaBeforeMs: 20 * DAY, renewServingBeforeMs: 3 * DAY, caPropagationMs: 60_000 };
    let now = new Date('2030-01-01T00:00:00Z');
    const store = memoryStore();
    const pub = memoryPublisher();
    const tls = await startSelfSignedTls({ store, publisher: pub, names, caName: 'ca', logger, policy, now: () => now, checkIntervalMs: 3_600_000 });
    const seen: string[] = [];
    tls.onChange((m) => seen.push(m.cert));
    const trusted = () => splitPemBundle(pub.bundle).some((ca) => isSignedBy(tls.material().cert, ca));
    const firstBundle = pub.bundle;

    now = new Date(now.getTime() + 8 * DAY);
    await tls.reconcile();
    expect(seen).toHaveLength(1);
    expect(pub.bundle).toBe(firstBundle); // serving renewal never touches the caBundle
    expect(trusted()).toBe(true);

    now = new Date(now.getTime() + 75 * DAY); // CA has < 20 days left
    await tls.reconcile();
    expect(splitPemBundle(pub.bundle)).toHaveLength(2);
    expect(trusted()).toBe(true);
    expect(isSignedBy(tls.material().cert, splitPemBundle(firstBundle)[0] ?? '')).toBe(true); // old CA still signs

    now = new Date(now.getTime() + 61_000); // the new CA has been in the caBundle long enough
    await tls.reconcile();
    expect(isSignedBy(tls.material().cert, splitPemBundle(firstBundle)[0] ?? '')).toBe(false);
    expect(trusted()).toBe(true);
    expect(seen).toHaveLength(3); // renewed at +8 d, at +83 d (expired meanwhile), and by the new CA
    tls.stop();
  });

  it('without webhook configurations (nothing to patch) it still works', async () => {
    const tls = await startSelfSignedTls({ store: memoryStore(), publisher: memoryPublisher(false), names, caName: 'ca', logger });
    expect(tls.healthy()).toBe(true);
    tls.stop();
  });
});
