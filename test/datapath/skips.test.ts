/**
 * The lookup-skip bits of the endpoint config (WEIR_EP_NO_EXACT / WEIR_EP_NO_ANY in
 * bpf/include/weir_shared.h, NO_EXACT_SHIFT / NO_ANY_SHIFT in codec.ts) agree between C and
 * TypeScript: for every (tier, direction, exact|any) slice, a deny entry decides while the driver's
 * own config is in place, and is ignored once exactly that slice's bit is set by hand. A bit at
 * the wrong position would either leave the deny in force or switch off a different slice.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  LAYOUT, NO_ANY_SHIFT, NO_EXACT_SHIFT, decodeEndpointConfig, directionCode, encodeEndpointConfig, encodeEndpointId, policySkipFlags, tierCode,
} from '../../agent/src/datapath/codec.js';
import type { Direction, Tier } from '../../agent/src/datapath/desired.js';
import { describePrivileged } from '../support/privileged.js';
import { TC_ACT_OK, TC_ACT_SHOT, endpoint, entry, openHarness, type Harness } from './harness.js';
import { ipv4, tcp } from './packets.js';

const POD = '10.0.0.10';
const B = '10.0.0.20';
const ID_B = 400;

const CASES: Array<{ tier: Tier; direction: Direction; kind: 'exact' | 'any' }> = [];
for (const tier of ['admin', 'network', 'baseline'] as const) {
  for (const direction of ['ingress', 'egress'] as const) {
    for (const kind of ['exact', 'any'] as const) CASES.push({ tier, direction, kind });
  }
}

describePrivileged('endpoint lookup-skip bits (BPF_PROG_TEST_RUN)', () => {
  let h: Harness;
  const objects: Array<{ close(): void }> = [];

  beforeAll(async () => {
    h = openHarness('skips');
    await h.dp.syncIpCache([{ cidr: `${B}/32`, identity: ID_B }]);
  });
  afterAll(async () => {
    for (const o of objects) o.close();
    await (h as typeof h | undefined)?.close(); // unset when beforeAll failed first
  });

  it.each(CASES.map((c, i) => ({ ...c, id: i + 1 })))('$tier $direction $kind: the slice decides until its skip bit is set', async ({ tier, direction, kind, id }) => {
    const deny = entry({ tier, direction, identity: kind === 'exact' ? ID_B : 0, protocol: 6, port: 80, portPrefixLength: 16, verdict: 'deny' });
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

    const bit = 1 << ((kind === 'exact' ? NO_EXACT_SHIFT : NO_ANY_SHIFT) + tierCode(tier) * 2 + directionCode(direction));
    if (written === undefined) throw new Error('endpoint config missing');
    configs.update(encodeEndpointId(id), encodeEndpointConfig({ ...written, skips: (written.skips ?? 0) | bit }));
    expect(run(40001)).toBe(TC_ACT_OK);
  });
});
