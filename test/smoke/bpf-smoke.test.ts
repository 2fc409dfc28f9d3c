// Issue-2 smoke test: a trivial BPF object loads through the native addon and runs once with
// BPF_PROG_TEST_RUN. If this fails, nothing that touches the kernel can work.
import { execFileSync } from 'node:child_process';
import { beforeAll, expect, it } from 'vitest';
import { loadNative } from '../../native/index.js';
import { describePrivileged } from '../support/privileged.js';

const TC_ACT_OK = 0;

describePrivileged('BPF smoke (native addon + BPF_PROG_TEST_RUN)', () => {
  beforeAll(() => {
    execFileSync('make', ['-s', 'native', 'build/bpf/smoke.bpf.o'], { stdio: 'inherit' });
  });

  it('loads a trivial tc program and runs it once', () => {
    const addon = loadNative();
    const obj = addon.openObject({ path: 'build/bpf/smoke.bpf.o' });
    try {
      const prog = obj.program('smoke_pass');
      expect(prog.id).toBeGreaterThan(0);
      // 60-byte Ethernet frame of zeros: enough for the kernel to build an skb.
      const run = prog.testRun({ data: Buffer.alloc(60) });
      expect(run.retval).toBe(TC_ACT_OK);
    } finally {
      obj.close();
    }
  });
});
