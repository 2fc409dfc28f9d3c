import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cniOrThrow, type CniInvocation } from '../../harness/support/cni.js';
import { NetLab, execInNetns, run } from '../../harness/support/netns.js';
import { describePrivileged } from '../support/privileged.js';

/**
 * Two "pods" (network namespaces) on one macvlan network in bridge mode over a veth "uplink",
 * wired by the real macvlan + host-local CNI plugins run inside a "node" namespace, so the host's
 * own interfaces are never touched.
 */
describePrivileged('smoke: macvlan (bridge) + host-local between two pod namespaces', () => {
  const lab = new NetLab('wsmk');
  let node = '';
  let pods: string[] = [];
  let ipamDir = '';
  const ips: string[] = [];

  const invocation = (pod: string, command: CniInvocation['command'], i: number): CniInvocation => ({
    plugin: 'macvlan',
    command,
    containerId: `wsmk-c${i}`,
    netns: pod,
    ifName: 'net1',
    hostNetns: node,
    config: {
      cniVersion: '1.0.0',
      name: 'wsmk-net',
      type: 'macvlan',
      master: 'uplink0',
      mode: 'bridge',
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.231.7.0/24' }]], dataDir: ipamDir },
    },
  });

  beforeAll(async () => {
    await lab.sweep();
    ipamDir = await mkdtemp(join(tmpdir(), 'wsmk-ipam-'));
    node = await lab.netns('node');
    pods = [await lab.netns('pod1'), await lab.netns('pod2')];
    await lab.veth('uplink0', 'uplink0p', { ns: node });
  });

  afterAll(async () => {
    await lab.cleanup();
    if (ipamDir !== '') await rm(ipamDir, { recursive: true, force: true });
  });

  it('ADD gives each pod an address on net1', async () => {
    for (const [i, pod] of pods.entries()) {
      const result = await cniOrThrow(invocation(pod, 'ADD', i));
      expect(result?.interfaces.map((x) => x.name)).toContain('net1');
      const address = result?.ips[0]?.address;
      expect(address).toMatch(/^10\.231\.7\.\d+\/24$/);
      ips.push(address?.split('/')[0] ?? '');
    }
    expect(new Set(ips).size).toBe(2);
  });

  it('the pods reach each other across the macvlan bridge', async () => {
    const [pod1] = pods;
    const target = ips[1];
    if (pod1 === undefined || target === undefined) throw new Error('ADD did not run');
    const r = await execInNetns(pod1, ['ping', '-c', '3', '-i', '0.2', '-W', '2', target], 15_000);
    expect(r.stdout).toContain('3 received');
    expect(r.code).toBe(0);
  });

  it('DEL removes the interfaces and releases the addresses', async () => {
    for (const [i, pod] of pods.entries()) await cniOrThrow(invocation(pod, 'DEL', i));
    for (const pod of pods) {
      const r = await run(['ip', '-n', pod, 'link', 'show', 'net1']);
      expect(r.code).not.toBe(0);
    }
    // host-local keeps one file per allocated address (plus bookkeeping files) under <dataDir>/<network>.
    const files = await readdir(join(ipamDir, 'wsmk-net'));
    expect(files.filter((f) => f.startsWith('10.231.7.'))).toEqual([]);
  });
});
