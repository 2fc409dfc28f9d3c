import { describe, expect, it } from 'vitest';
import { GO_IP, hostCidr, parseCidr, parseIp } from './ip.js';

describe('the one IP grammar', () => {
  it('leading zeros: decimal as Kubernetes validates ipBlocks, refused as Go (Multus) parses', () => {
    expect(parseCidr('010.001.0.0/16')?.canonical).toBe('10.1.0.0/16');
    expect(parseCidr('010.001.0.0/16', GO_IP)).toBeUndefined();
    expect(parseIp('10.0.0.01', GO_IP)).toBeUndefined();
    expect(parseIp('10.0.0.0', GO_IP)).toEqual({ family: 4, addr: 10n << 24n });
    expect(parseIp('::ffff:10.0.0.01', GO_IP)).toBeUndefined();
    expect(parseIp('::ffff:10.0.0.01')).toBeDefined();
  });

  it('addresses and CIDRs both grammars agree on', () => {
    for (const g of [undefined, GO_IP]) {
      expect(parseIp('256.0.0.1', g)).toBeUndefined();
      expect(parseIp('1.2.3', g)).toBeUndefined();
      expect(parseIp('fd00::1', g)?.family).toBe(6);
      expect(parseIp('fd00::1::2', g)).toBeUndefined();
      expect(parseIp('1:2:3:4:5:6:7::8', g)).toBeUndefined(); // "::" must stand for at least one group
      expect(parseCidr('10.1.2.3/8', g)?.canonical).toBe('10.0.0.0/8'); // host bits cleared
      expect(parseCidr('10.0.0.0/33', g)).toBeUndefined();
      expect(parseCidr('fd00::/129', g)).toBeUndefined();
      expect(parseCidr('10.0.0.0', g)).toBeUndefined();
    }
    expect(hostCidr('fd00:0:0::1')?.canonical).toBe('fd00::1/128');
  });
});
