/**
 * The lookup-skip bits of the endpoint config (WEIR_EP_NO_* in bpf/include/weir_shared.h,
 * NO_*_SHIFT in codec.ts) agree between C and TypeScript: for every (tier, direction, exact | any |
 * namespace class | cluster class) slice, a deny entry decides while the driver's own config is in
 * place, and is ignored once exactly that slice's bit is set by hand. A bit at the wrong position
 * would either leave the deny in force or switch off a different slice. Class entries match pod
 * addresses only (the ipcache's namespace class), never a non-pod address.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  LAYOUT, NO_ANY_SHIFT, NO_CLUSTER_SHIFT, NO_EXACT_SHIFT, NO_NAMESPACE_SHIFT, decodeEndpointConfig, directionCode, encodeEndpointConfig, encodeEndpointId, policySkipFlags, tierCode,
} from '../../agent/src/datapath/codec.js';
import { CLUSTER_IDENTITY, NAMESPACE_CLASS_BIT, type Direction, type Tier } from '../../agent/src/datapath/desired.js';
import { describePrivileged } from '../support/privileged.js';
import { TC_ACT_OK, TC_ACT_SHOT, endpoint, entry, openHarness, type Harness } from '../../harness/datapath/harness.js';
import { ipv4, tcp } from '../../harness/datapath/packets.js';

const POD = '10.0.0.10';
const B = '10.0.0.20';
const ID_B = 400;
const NS_B = NAMESPACE_CLASS_BIT + 5;
/** A CIDR identity: an address no pod holds, so it has no namespace class. */
const EXTERNAL = '10.0.0.30';
const ID_EXTERNAL = 401;

const KINDS = {
  exact: { identity: ID_B, shift: NO_EXACT_SHIFT },
  any: { identity: 0, shift: NO_ANY_SHIFT },
  namespace: { identity: NS_B, shift: NO_NAMESPACE_SHIFT },
  cluster: { identity: CLUSTER_IDENTITY, shift: NO_CLUSTER_SHIFT },
} as const;
type Kind = keyof typeof KINDS;

const CASES: Array<{ tier: Tier; direction: Direction; kind: Kind }> = [];
for (const tier of ['admin', 'network', 'baseline'] as const) {
  for (const direction of ['ingress', 'egress'] as const) {
    for (const kind of Object.keys(KINDS) as Kind[]) CASES.push({ tier, direction, kind });
  }
}

describePrivileged('endpoint lookup-skip bits (BPF_PROG_TEST_RUN)', () => {
  let h: Harness;
  const objects: Array<{ close(): void }> = [];

  beforeAll(async () => {
    h = openHarness('skips');
    await h.dp.syncIpCache([{ cidr: `${B}/32`, identity: ID_B, namespaceClass: NS_B }, { cidr: `${EXTERNAL}/32`, identity: ID_EXTERNAL }]);
  });
  afterAll(async () => {
    for (const o of objects) o.close();
    await (h as typeof h | undefined)?.close(); // unset when beforeAll failed first
  });

  it.each(CASES.map((c, i) => ({ ...c, id: i + 1 })))('$tier $direction $kind: the slice decides until its skip bit is set', async ({ tier, direction, kind, id }) => {
    const deny = entry({ tier, direction, identity: KINDS[kind].identity, protocol: 6, port: 80, portPrefixLength: 16, verdict: 'deny' });
    await h.dp.stageEndpoint({ endpointId: id, netnsPath: null, ifname: 'unused', desired: endpoint([deny]), addresses: { mac: '02:00:00:00:00:01', ips: [POD] } });
    const obj = h.dp.loadEndpointObject(id);
    objects.push(obj);
    const configs = obj.map('weir_endpoints');
    const run = (sport: number): number => direction === 'ingress'
      ? obj.program('weir_ingress').testRun({ data: ipv4(B, POD, tcp(sport, 80)) }).retval
      : obj.program('weir_egress').testRun({ data: ipv4(POD, B, tcp(sport, 80)) }).retval;

    const written = decodeEndpointConfig(configs.lookup(encodeEndpointId(id)) ?? Buffer.alloc(LAYOUT.weir_endpoint_config.size));
    expect(written?.skips).toBe(policySkipFlags([deny]));
    expect(run(40000)).toBe(TC_ACT_SHOT);

    const bit = 1 << (KINDS[kind].shift + tierCode(tier) * 2 + directionCode(direction));
    if (written === undefined) throw new Error('endpoint config missing');
    configs.update(encodeEndpointId(id), encodeEndpointConfig({ ...written, skips: (written.skips ?? 0) | bit }));
    expect(run(40001)).toBe(TC_ACT_OK);
  });

  it.each(['namespace', 'cluster'] as const)('a %s-class entry never matches an address no pod holds', async (kind) => {
    const id = CASES.length + (kind === 'namespace' ? 1 : 2);
    const deny = entry({ tier: 'admin', direction: 'ingress', identity: KINDS[kind].identity, protocol: 6, port: 80, portPrefixLength: 16, verdict: 'deny' });
    await h.dp.stageEndpoint({ endpointId: id, netnsPath: null, ifname: 'unused', desired: endpoint([deny]), addresses: { mac: '02:00:00:00:00:01', ips: [POD] } });
    const obj = h.dp.loadEndpointObject(id);
    objects.push(obj);
    expect(obj.program('weir_ingress').testRun({ data: ipv4(B, POD, tcp(41000, 80)) }).retval).toBe(TC_ACT_SHOT);
    expect(obj.program('weir_ingress').testRun({ data: ipv4(EXTERNAL, POD, tcp(41001, 80)) }).retval).toBe(TC_ACT_OK);
  });
});
