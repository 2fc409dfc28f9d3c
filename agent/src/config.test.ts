import { describe, expect, it } from 'vitest';
import { readAgentConfig } from './config.js';

describe('readAgentConfig', () => {
  it('defaults every node-scoped path from the node name', () => {
    const result = readAgentConfig({ WEIR_NODE_NAME: 'node-a' }, '/opt/weir/bpf');
    expect(result).toMatchObject({ ok: true, config: { pinRoot: '/sys/fs/bpf/weir/node-a', cniSocket: '/run/weir/cni.sock', apiPort: 9962, metricsPort: 9963, metricsHost: '127.0.0.1', stateDir: '/run/weir/node-a', bpfObjectDir: '/opt/weir/bpf', shaping: 'auto' } });
  });

  it('takes the mounted CNI bin dir (for the uninstall), and leaves it unset by default', () => {
    const set = readAgentConfig({ WEIR_NODE_NAME: 'node-a', WEIR_CNI_BIN_DIR: '/host/cni-bin' }, '/x');
    expect(set.ok && set.config.cniBinDir).toBe('/host/cni-bin');
    const unset = readAgentConfig({ WEIR_NODE_NAME: 'node-a' }, '/x');
    expect(unset.ok && unset.config.cniBinDir).toBeUndefined();
  });

  it('takes the node\'s netns path (the lab), and leaves it unset by default (the agent\'s own)', () => {
    const set = readAgentConfig({ WEIR_NODE_NAME: 'node-a', WEIR_NODE_NETNS: '/var/run/netns/lab-node-a' }, '/x');
    expect(set.ok && set.config.nodeNetnsPath).toBe('/var/run/netns/lab-node-a');
    const unset = readAgentConfig({ WEIR_NODE_NAME: 'node-a' }, '/x');
    expect(unset.ok && unset.config.nodeNetnsPath).toBeUndefined();
  });

  it.each([
    [{}, 'WEIR_NODE_NAME is not set'],
    [{ WEIR_NODE_NAME: 'a', WEIR_NODE_NETNS: 'lab-node-a' }, 'WEIR_NODE_NETNS="lab-node-a" must be an absolute path'],
    [{ WEIR_NODE_NAME: 'Node_A' }, 'WEIR_NODE_NAME "Node_A" is not a valid node name'],
    [{ WEIR_NODE_NAME: 'a', WEIR_METRICS_PORT: '70000' }, 'WEIR_METRICS_PORT="70000" is not a port number'],
    [{ WEIR_NODE_NAME: 'a', WEIR_API_PORT: '0' }, 'WEIR_API_PORT="0" is not a port number (1-65535)'],
    [{ WEIR_NODE_NAME: 'a', WEIR_METRICS_HOST: 'node-a' }, 'WEIR_METRICS_HOST="node-a" must be an IP address'],
    [{ WEIR_NODE_NAME: 'a', WEIR_API_PORT: '9000', WEIR_METRICS_PORT: '9000' }, 'give the metrics listener a port of its own'],
    [{ WEIR_NODE_NAME: 'a', WEIR_LOG_LEVEL: 'loud' }, 'WEIR_LOG_LEVEL="loud" must be one of'],
    [{ WEIR_NODE_NAME: 'a', WEIR_RESYNC_SECONDS: '-1' }, 'WEIR_RESYNC_SECONDS="-1" must be a positive number'],
    [{ WEIR_NODE_NAME: 'a', WEIR_CNI_BIN_DIR: 'opt/cni/bin' }, 'WEIR_CNI_BIN_DIR="opt/cni/bin" must be an absolute path'],
    [{ WEIR_NODE_NAME: 'a', WEIR_SHAPING: 'fq' }, 'WEIR_SHAPING="fq" must be auto (flow-fair HTB where the kernel has sch_htb) or tbf'],
  ])('refuses %j naming the variable', (env, message) => {
    const result = readAgentConfig(env, '/x');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.join('\n')).toContain(message);
  });

  it('honours overrides so two agents can share a machine', () => {
    const result = readAgentConfig({ WEIR_NODE_NAME: 'b', WEIR_PIN_ROOT: '/sys/fs/bpf/lab/b', WEIR_CNI_SOCKET: '/run/lab/b.sock', WEIR_API_PORT: '19001', WEIR_METRICS_PORT: '0', WEIR_SHAPING: 'tbf' }, '/x');
    expect(result).toMatchObject({ ok: true, config: { pinRoot: '/sys/fs/bpf/lab/b', cniSocket: '/run/lab/b.sock', apiPort: 19001, metricsPort: 0, shaping: 'tbf' } });
  });
});
