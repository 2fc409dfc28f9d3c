import { describe, expect, it } from 'vitest';
import { parseTbfSent } from './qdisc.js';

const SAMPLE = `qdisc noqueue 0: dev lo root refcnt 2
 Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0)
 backlog 0b 0p requeues 0
qdisc tbf 8001: dev eth0 root refcnt 2 rate 10Mbit burst 5000b lat 50ms
 Sent 7512345 bytes 4990 pkt (dropped 12, overlimits 900 requeues 0)
 backlog 0b 0p requeues 0
qdisc ingress ffff: dev eth0 parent ffff:fff1 ----------------
 Sent 99 bytes 1 pkt (dropped 0, overlimits 0 requeues 0)
qdisc tbf 1: dev weirifb1 root refcnt 2 rate 10Mbit burst 5000b lat 50ms
 Sent 42 bytes 1 pkt (dropped 0, overlimits 0 requeues 0)
`;

describe('parseTbfSent', () => {
  it('keeps TBF qdiscs only, per device', () => {
    expect(parseTbfSent(SAMPLE)).toEqual(new Map([['eth0', 7512345], ['weirifb1', 42]]));
  });
  it('empty output → empty map', () => {
    expect(parseTbfSent('').size).toBe(0);
  });
});
