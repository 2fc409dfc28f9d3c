// The chart's uninstall story as rendered: a pre-delete hook Job that arms every agent
// (`weir uninstall --prepare`, cli/src/uninstall-prepare.ts) with a Role for exactly that, and an
// agent that can reach the host's CNI bin dir to remove the plugin when it stops for an uninstall
// (agent/src/uninstall.ts). Issue 16: after helm uninstall nothing is left on the nodes.
import { beforeAll, expect, it } from 'vitest';
import { readAgentConfig } from '../../agent/src/config.js';
import { isRecord } from '../../common/src/records.js';
import { describeIf } from '../support/privileged.js';
import { asArray, at, find, helmBinary, render, type Manifest } from '../../harness/chart/helm.js';

const describeHelm = describeIf(helmBinary() !== null, 'helm is not built (scripts/build-go-tools.sh)');

function annotations(m: Manifest): Record<string, unknown> {
  return isRecord(m.metadata.annotations) ? m.metadata.annotations : {};
}

function preDelete(ms: readonly Manifest[]): Manifest[] {
  return ms.filter((m) => annotations(m)['helm.sh/hook'] === 'pre-delete');
}

function envOf(container: unknown): Map<string, unknown> {
  return new Map(asArray(at(container, 'env'), 'env').map((e) => [String(at(e, 'name')), at(e, 'value') ?? at(e, 'valueFrom')]));
}

function mountsOf(container: unknown): Map<string, unknown> {
  return new Map(asArray(at(container, 'volumeMounts'), 'volumeMounts').map((v) => [String(at(v, 'name')), at(v, 'mountPath')]));
}

describeHelm('charts/weir: uninstall leaves nothing on the nodes', () => {
  let ms: Manifest[] = [];
  beforeAll(async () => {
    ms = await render({ release: 'edge', namespace: 'net-ops', set: { 'agent.cniBinDir': '/var/lib/cni/bin' } });
  });

  it('a pre-delete hook Job arms the agents of this release, with RBAC created before it and removed after', () => {
    const hooks = preDelete(ms);
    expect(hooks.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      'Job/edge-weir-uninstall',
      'Role/edge-weir-uninstall',
      'RoleBinding/edge-weir-uninstall',
      'ServiceAccount/edge-weir-uninstall',
    ]);
    for (const m of hooks) {
      expect(m.metadata.namespace, m.kind).toBe('net-ops');
      expect(annotations(m)['helm.sh/hook-delete-policy'], m.kind).toBe('before-hook-creation,hook-succeeded');
      // helm creates hooks by ascending weight: the RBAC must exist when the Job's pod starts.
      expect(Number(annotations(m)['helm.sh/hook-weight'] ?? 0), m.kind).toBe(m.kind === 'Job' ? 0 : -1);
    }
    const job = find(hooks, 'Job');
    const pod = at(job, 'spec.template.spec');
    expect(at(pod, 'serviceAccountName')).toBe('edge-weir-uninstall');
    expect(at(pod, 'restartPolicy')).toBe('Never');
    expect(at(pod, 'securityContext.runAsNonRoot')).toBe(true);
    const c = at(pod, 'containers.0');
    expect(at(c, 'image')).toBe(at(find(ms, 'DaemonSet'), 'spec.template.spec.containers.0.image'));
    expect(at(c, 'securityContext')).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    const command = asArray(at(c, 'command'), 'command').map(String);
    expect(command.slice(0, 6)).toEqual(['node', 'dist/cli/src/main.js', 'uninstall', '--prepare', '--namespace', 'net-ops']);
    expect(command[6]).toBe('--selector');
    const selector = Object.fromEntries((command[7] ?? '').split(',').map((kv): [string, string] => {
      const [key = '', value = ''] = kv.split('=');
      return [key, value];
    }));
    expect(selector).toEqual(at(find(ms, 'DaemonSet'), 'spec.selector.matchLabels'));
    // The marker it writes lasts 10 minutes (agent/src/uninstall.ts): the Job must end before.
    expect(Number(at(job, 'spec.activeDeadlineSeconds'))).toBeLessThan(600);
  });

  it('the hook\'s Role may list the agent pods and exec into them, in the release namespace only', () => {
    const hooks = preDelete(ms);
    expect(at(find(hooks, 'Role'), 'rules')).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['pods/exec'], verbs: ['get', 'create'] },
    ]);
    const binding = find(hooks, 'RoleBinding');
    expect(at(binding, 'roleRef')).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'edge-weir-uninstall' });
    expect(at(binding, 'subjects')).toEqual([{ kind: 'ServiceAccount', name: 'edge-weir-uninstall', namespace: 'net-ops' }]);
    expect(ms.filter((m) => m.kind.startsWith('Cluster') && m.metadata.name.includes('uninstall'))).toEqual([]);
  });

  it('the agent sees the host CNI bin dir (the volume install-cni writes to) and is told where it is', () => {
    const spec = at(find(ms, 'DaemonSet'), 'spec.template.spec');
    const agent = at(spec, 'containers.0');
    const installCni = asArray(at(spec, 'initContainers'), 'initContainers').find((c) => at(c, 'name') === 'install-cni');
    expect(mountsOf(agent).get('cni-bin')).toBe('/host/cni-bin');
    expect(mountsOf(installCni).get('cni-bin')).toBe('/host/cni-bin');
    const volume = asArray(at(spec, 'volumes'), 'volumes').find((v) => at(v, 'name') === 'cni-bin');
    expect(at(volume, 'hostPath.path')).toBe('/var/lib/cni/bin');
    const env = envOf(agent);
    expect(env.get('WEIR_CNI_BIN_DIR')).toBe('/host/cni-bin');
    // What the chart passes is what the agent accepts.
    const config = readAgentConfig({ WEIR_NODE_NAME: 'node-a', WEIR_CNI_BIN_DIR: String(env.get('WEIR_CNI_BIN_DIR')) }, '/opt/weir/build/bpf');
    expect(config.ok && config.config.cniBinDir, JSON.stringify(config)).toBe('/host/cni-bin');
  });

  it('agent.cleanupOnUninstall=false: no hook, and the agent gets neither the bin dir nor its path', async () => {
    const off = await render({ set: { 'agent.cleanupOnUninstall': 'false' } });
    expect(preDelete(off)).toEqual([]);
    const agent = at(find(off, 'DaemonSet'), 'spec.template.spec.containers.0');
    expect(envOf(agent).has('WEIR_CNI_BIN_DIR')).toBe(false);
    expect(mountsOf(agent).has('cni-bin')).toBe(false);
  });
});
