import { describe, expect, it } from 'vitest';
import { parseCniArgs, parseCniRequest, parseCniResponse } from './protocol.js';

describe('parseCniArgs', () => {
  it.each<[string, Record<string, string> | null]>([
    ['', {}],
    ['IgnoreUnknown=1', { IgnoreUnknown: '1' }],
    ['K8S_POD_NAMESPACE=a;K8S_POD_NAME=b;', { K8S_POD_NAMESPACE: 'a', K8S_POD_NAME: 'b' }],
    ['X=a=b', { X: 'a=b' }],
    ['=v', null],
    ['novalue', null],
  ])('%j', (raw, expected) => {
    const r = parseCniArgs(raw);
    expect(r.ok ? r.value : null).toEqual(expected);
  });
});

describe('parseCniRequest', () => {
  const base = { version: 1, containerId: 'c', netns: '/n', ifName: 'eth0', args: '', path: '/a:/b', config: { cniVersion: '1.1.0', name: 'net' } };

  it('STATUS needs no attachment', () => {
    const r = parseCniRequest({ ...base, command: 'STATUS', containerId: '', netns: '', ifName: '' });
    expect(r).toMatchObject({ ok: true, value: { command: 'STATUS', networkName: 'net', path: ['/a', '/b'] } });
  });

  it('DEL without netns and without pod args', () => {
    const r = parseCniRequest({ ...base, command: 'DEL', netns: '' });
    expect(r).toMatchObject({ ok: true, value: { command: 'DEL', attachment: { containerId: 'c', ifName: 'eth0', netns: null }, pod: null, prevResult: null } });
  });

  it('reports every bad field at once', () => {
    const r = parseCniRequest({ version: 3, command: 'ADD', containerId: 5, config: { cniVersion: 1 } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.path).sort()).toEqual(['config.cniVersion', 'config.prevResult', 'containerId', 'containerId', 'ifName', 'netns', 'version']);
  });

  it.each([null, 'x', [], 42])('rejects %j', (input) => {
    expect(parseCniRequest(input).ok).toBe(false);
  });
});

describe('parseCniResponse', () => {
  it.each<[unknown, boolean]>([
    [{ ok: true }, true],
    [{ ok: false, code: 7, message: 'm' }, true],
    [{ ok: false, code: 7, message: 'm', details: 'd' }, true],
    [{ ok: false, message: 'm' }, false],
    [{ ok: false, code: 1.5, message: 'm' }, false],
    [{ ok: 'yes' }, false],
    [{}, false],
  ])('%j → valid=%s', (input, valid) => {
    expect(parseCniResponse(input).ok).toBe(valid);
  });
});
