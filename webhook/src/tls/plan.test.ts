import { describe, expect, it } from 'vitest';
import { certInfo, isSignedBy, sanOf } from './certs.js';
import { parseTlsState, planTls, serializeTlsState, servingNames, type RotationPolicy, type TlsState } from './plan.js';

const DAY = 24 * 3600 * 1000;
const policy: RotationPolicy = { caValidityMs: 100 * DAY, servingValidityMs: 10 * DAY, renewCaBeforeMs: 20 * DAY, renewServingBeforeMs: 3 * DAY, caPropagationMs: 60_000 };
const names = servingNames('weir-webhook', 'weir-system');
const t0 = new Date('2030-01-01T00:00:00Z');
const at = (days: number) => new Date(t0.getTime() + days * DAY);

function fresh(): TlsState {
  return planTls(undefined, t0, names, 'ca', undefined, policy).state;
}

describe('planTls', () => {
  it('creates a CA and a serving certificate for the service names and loopback', () => {
    const p = planTls(undefined, t0, names, 'ca', undefined, policy);
    expect(p.changes).toEqual(['created CA and serving certificate']);
    expect(p.state.trust).toEqual([p.state.signer.certPem]);
    expect(isSignedBy(p.state.serving.certPem, p.state.signer.certPem)).toBe(true);
    expect(sanOf(p.state.serving.certPem)).toEqual({
      dns: ['weir-webhook', 'weir-webhook.weir-system', 'weir-webhook.weir-system.svc', 'weir-webhook.weir-system.svc.cluster.local', 'localhost'],
      ips: ['127.0.0.1'],
    });
  });

  it('round-trips through the Secret data and changes nothing when all is fresh', () => {
    const s = fresh();
    const back = parseTlsState(serializeTlsState(s));
    expect(back).toEqual(s);
    const p = planTls(back, at(1), names, 'ca', [s.signer.certPem], policy);
    expect(p.changes).toEqual([]);
    expect(p.state).toEqual(s);
  });

  it.each([
    ['empty Secret (chart pre-created)', {}],
    ['missing key', { 'ca-signer.crt': 'x' }],
    ['garbage', { 'ca-signer.crt': 'x', 'ca-signer.key': 'y', 'tls.crt': 'z', 'tls.key': 'w' }],
  ])('treats %s as absent', (_n, data) => {
    expect(parseTlsState(data)).toBeUndefined();
  });

  it('renews the serving certificate with the SAME CA before expiry (caBundle unchanged)', () => {
    const s = fresh();
    const p = planTls(s, at(8), names, 'ca', [s.signer.certPem], policy);
    expect(p.changes).toEqual(['serving certificate renewed before expiry']);
    expect(p.state.signer).toEqual(s.signer);
    expect(p.state.trust).toEqual(s.trust);
    expect(p.state.serving.certPem).not.toBe(s.serving.certPem);
    expect((certInfo(p.state.serving.certPem)?.notAfter.getTime() ?? 0) > at(17).getTime()).toBe(true);
  });

  it('re-issues when the service names change', () => {
    const s = fresh();
    const p = planTls(s, at(1), servingNames('other', 'weir-system'), 'ca', undefined, policy);
    expect(p.changes).toEqual(['serving certificate re-issued: names changed']);
    expect(sanOf(p.state.serving.certPem).dns).toContain('other.weir-system.svc');
  });

  it('rotates the CA in two phases: publish the new CA first, sign with it only once published', () => {
    let s = fresh();
    // Keep the serving cert fresh along the way so only CA logic is under test.
    s = planTls(s, at(78), names, 'ca', [s.signer.certPem], policy).state;
    const oldCa = s.signer.certPem;
    const a = planTls(s, at(81), names, 'ca', [oldCa], policy);
    expect(a.changes).toEqual(['CA rotation phase A: new CA added to the trust bundle']);
    expect(a.state.next).toBeDefined();
    expect(a.state.signer.certPem).toBe(oldCa);
    expect(a.state.trust).toHaveLength(2);
    expect(isSignedBy(a.state.serving.certPem, oldCa)).toBe(true);
    const nextCa = a.state.next?.certPem ?? '';

    // Not yet in every caBundle: nothing moves.
    const wait = planTls(a.state, at(81), names, 'ca', [oldCa], policy);
    expect(wait.changes).toEqual([]);
    expect(wait.state.next?.certPem).toBe(nextCa);

    // In every caBundle: the moment is recorded, the old CA still signs.
    const seen = planTls(a.state, at(81), names, 'ca', [oldCa, nextCa], policy);
    expect(seen.changes).toEqual(['new CA is in every caBundle; waiting for API servers to pick it up']);
    expect(seen.state.signer.certPem).toBe(oldCa);
    expect(parseTlsState(serializeTlsState(seen.state))?.nextPublishedAt).toEqual(at(81));
    const early = planTls(seen.state, new Date(at(81).getTime() + 30_000), names, 'ca', [oldCa, nextCa], policy);
    expect(early.changes).toEqual([]);

    // Published long enough: the new CA signs, the old one stays trusted until it expires.
    const b = planTls(seen.state, new Date(at(81).getTime() + 61_000), names, 'ca', [oldCa, nextCa], policy);
    expect(b.changes).toEqual(['CA rotation phase B: new CA signs; serving certificate re-issued']);
    expect(b.state.signer.certPem).toBe(nextCa);
    expect(b.state.next).toBeUndefined();
    expect(b.state.trust).toEqual([nextCa, oldCa]);
    expect(isSignedBy(b.state.serving.certPem, nextCa)).toBe(true);

    // After the old CA expired it is dropped from the bundle.
    const c = planTls(b.state, at(101), names, 'ca', [nextCa, oldCa], policy);
    expect(c.state.trust).toEqual([nextCa]);
    expect(c.changes).toContain('dropped expired CAs from the trust bundle');
  });

  it('starts over when the CA already expired (nothing left to keep)', () => {
    const p = planTls(fresh(), at(120), names, 'ca', undefined, policy);
    expect(p.changes).toEqual(['CA expired; created a new one']);
  });

  it('re-issues a serving certificate not signed by the current CA', () => {
    const s = fresh();
    const other = fresh();
    const p = planTls({ ...s, serving: other.serving }, at(1), names, 'ca', undefined, policy);
    expect(p.changes).toEqual(['serving certificate re-issued: not signed by the current CA']);
    expect(isSignedBy(p.state.serving.certPem, s.signer.certPem)).toBe(true);
  });

  it('repairs a trust bundle that lost the signer', () => {
    const s = fresh();
    const p = planTls({ ...s, trust: [] }, at(1), names, 'ca', undefined, policy);
    expect(p.state.trust).toEqual([s.signer.certPem]);
    expect(p.changes).toContain('trust bundle repaired');
  });
});
