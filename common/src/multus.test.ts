import { describe, expect, it } from 'vitest';
import {
  effectiveInterfaces,
  networksForm,
  parseDefaultNetworkAnnotation,
  parseNetworksAnnotation,
  selectionToText,
} from './multus.js';

const pick = (v: string, ns = 'team'): Array<[string, string, string]> => {
  const r = parseNetworksAnnotation(v, ns);
  if (!r.ok) throw new Error(r.error);
  return r.value.selections.map((s) => [s.namespace, s.name, s.interface]);
};

describe('k8s.v1.cni.cncf.io/networks, text form', () => {
  it.each([
    ['a', [['team', 'a', '']]],
    ['a,b', [['team', 'a', ''], ['team', 'b', '']]],
    [' other/a@eth1 , b ', [['other', 'a', 'eth1'], ['team', 'b', '']]],
    ['a@ net5 ', [['team', 'a', 'net5']]],
    ['ns-1/a-b-c', [['ns-1', 'a-b-c', '']]],
  ] as Array<[string, Array<[string, string, string]>]>)('%j', (value, want) => {
    expect(networksForm(value)).toBe('text');
    expect(pick(value)).toEqual(want);
  });

  it.each([
    ['a/b/c', "parsePodNetworkAnnotation: parsePodNetworkObjectName: Invalid network object (failed at '/')"],
    ['a@b@c', "parsePodNetworkAnnotation: parsePodNetworkObjectName: Invalid network object (failed at '@')"],
    [
      'Team/a',
      "parsePodNetworkAnnotation: parsePodNetworkObjectName: Failed to parse: one or more items did not match comma-delimited format (must consist of lower case alphanumeric characters). Must start and end with an alphanumeric character), mismatch @ 'Team'",
    ],
    [
      'a@abcdefghijklmnop',
      "parsePodNetworkAnnotation: parsePodNetworkObjectName: Failed to parse interface name: must be less than 15 chars and not contain '/' or spaces. interface name 'abcdefghijklmnop'",
    ],
    ['', 'parsePodNetworkAnnotation: pod annotation does not have "network" as key'],
  ])('refuses %j with Multus wording', (value, error) => {
    expect(parseNetworksAnnotation(value, 'team')).toEqual({ ok: false, error });
  });

  it('an empty item parses with an empty name, as in Multus (the webhook refuses it later)', () => {
    expect(pick('a,')).toEqual([['team', 'a', ''], ['team', '', '']]);
  });
});

describe('k8s.v1.cni.cncf.io/networks, JSON form', () => {
  it('parses elements, defaults the namespace to the pod namespace, maps interfaceRequest', () => {
    const v = '[{"name":"a","interface":"eth1"},{"name":"b","namespace":"x"},{"name":"c","interfaceRequest":"old0"}]';
    expect(networksForm(v)).toBe('json');
    expect(pick(v)).toEqual([['team', 'a', 'eth1'], ['x', 'b', ''], ['team', 'c', 'old0']]);
  });
  it('matches field names case-insensitively like Go encoding/json', () => {
    expect(pick('[{"Name":"a","Interface":"x1"}]')).toEqual([['team', 'a', 'x1']]);
  });
  it('a bare object is refused', () => {
    const r = parseNetworksAnnotation('{"name":"a"}', 'team');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('failed to parse pod Network Attachment Selection Annotation JSON format');
  });
  it('broken JSON is refused', () => {
    const r = parseNetworksAnnotation('[{"name":"a"', 'team');
    expect(r.ok).toBe(false);
  });
  it('checks mac and ips like Multus', () => {
    expect(parseNetworksAnnotation('[{"name":"a","mac":"zz"}]', 'team').ok).toBe(false);
    expect(parseNetworksAnnotation('[{"name":"a","mac":"02:00:00:00:00:01"}]', 'team').ok).toBe(true);
    expect(parseNetworksAnnotation('[{"name":"a","ips":["10.0.0.1/24","fd00::1"]}]', 'team').ok).toBe(true);
    const r = parseNetworksAnnotation('[{"name":"a","ips":["10.0.0.300"]}]', 'team');
    expect(r).toEqual({ ok: false, error: 'failed to parse IP address "10.0.0.300"' });
  });
  it('a non-string name is a Go unmarshal error', () => {
    const r = parseNetworksAnnotation('[{"name":5}]', 'team');
    expect(r.ok).toBe(false);
  });
});

describe('v1.multus-cni.io/default-network', () => {
  it('a missing namespace means kube-system', () => {
    const r = parseDefaultNetworkAnnotation('under');
    expect(r.ok && [r.value.namespace, r.value.name, r.value.namespaceGiven]).toEqual(['kube-system', 'under', false]);
  });
  it('refuses more than one', () => {
    expect(parseDefaultNetworkAnnotation('a,b')).toEqual({
      ok: false,
      error: 'tryLoadK8sPodDefaultNetwork: more than one default network is specified: a,b',
    });
  });
});

describe('effective interface names (Multus getIfname)', () => {
  it('eth0 for the default, explicit wins, otherwise net<position>', () => {
    const r = parseNetworksAnnotation('[{"name":"a","interface":"macvlan1"},{"name":"b"}]', 'team');
    if (!r.ok) throw new Error(r.error);
    expect(effectiveInterfaces(undefined, r.value.selections).map((i) => i.name)).toEqual(['eth0', 'macvlan1', 'net2']);
  });
  it('text form of selections', () => {
    const r = parseNetworksAnnotation('[{"name":"a","namespace":"x","interface":"i1"},{"name":"b","ips":["10.0.0.1"]}]', 'team');
    if (!r.ok) throw new Error(r.error);
    expect(r.value.selections.map(selectionToText)).toEqual(['x/a@i1', undefined]);
  });
});
