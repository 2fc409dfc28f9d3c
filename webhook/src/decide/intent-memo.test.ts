/** agentAccepts remembers accepted intent encodings; it must answer exactly as parseIntent does. */
import { describe, expect, it } from 'vitest';
import { encodeIntent, parseIntent, type Intent } from '../../../common/src/intent.js';
import { agentAccepts } from './pod.js';

function intent(iface: string, bps: number): Intent {
  return {
    version: 1,
    networks: [
      { nad: null, interface: 'eth0', default: true, enforced: false },
      { nad: 'ns/a', interface: iface, default: false, enforced: true },
    ],
    bandwidth: { egressBitsPerSecond: bps },
  };
}

describe('agentAccepts', () => {
  it('agrees with parseIntent for accepted and refused encodings, on first and repeated calls, past the bound', () => {
    const refused = encodeIntent(intent('not a valid interface name!', 1));
    expect(parseIntent(refused).ok).toBe(false);
    for (let i = 0; i < 2100; i++) {
      const accepted = encodeIntent(intent('net1', 1_000_000 + i));
      expect(parseIntent(accepted).ok).toBe(true);
      expect(agentAccepts(accepted)).toBe(true);
      expect(agentAccepts(accepted)).toBe(true);
      expect(agentAccepts(refused)).toBe(false);
    }
    expect(agentAccepts('{"version":1}')).toBe(parseIntent('{"version":1}').ok);
    expect(agentAccepts('not json')).toBe(false);
  });
});
