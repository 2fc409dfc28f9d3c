// The network-policy-api v0.3.0 ClusterNetworkPolicy CRDs Weir ships, exactly as upstream ships
// them (scripts/update-policy-crds.sh copies them from the Go module): the experimental channel in
// the chart's crds/ (installed by `helm install` unless --skip-crds) and in harness/crds (the test
// control plane and the lab), the standard channel in charts/weir/policy-crds/standard/.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { describeIf } from '../support/privileged.js';
import { chartDir, helm, helmBinary } from '../../harness/chart/helm.js';

const FILE = 'policy.networking.k8s.io_clusternetworkpolicies.yaml';
const experimentalPath = path.join(chartDir, 'crds', FILE);
const standardPath = path.join(chartDir, 'policy-crds', 'standard', FILE);
const testCrdPath = path.resolve(chartDir, '../../harness/crds', FILE);

interface Crd {
  metadata: { name: string; annotations: Record<string, string> };
  spec: { group: string; scope: string; names: { kind: string }; versions: { name: string; served: boolean; storage: boolean }[] };
}

async function load(p: string): Promise<{ text: string; crd: Crd }> {
  const text = await readFile(p, 'utf8');
  return { text, crd: parse(text) as Crd };
}

describe('ClusterNetworkPolicy CRDs (network-policy-api v0.3.0)', () => {
  it('harness/crds holds the same experimental-channel file as the chart, byte for byte', async () => {
    expect((await load(testCrdPath)).text).toBe((await load(experimentalPath)).text);
  });

  it.each([
    ['experimental', experimentalPath],
    ['standard', standardPath],
  ])('the %s channel: v0.3.0 bundle, v1beta1 stored, v1alpha2 still served', async (channel, p) => {
    const { crd } = await load(p);
    expect(crd.metadata.name).toBe('clusternetworkpolicies.policy.networking.k8s.io');
    expect(crd.metadata.annotations['policy.networking.k8s.io/bundle-version']).toBe('v0.3.0');
    expect(crd.metadata.annotations['policy.networking.k8s.io/channel']).toBe(channel);
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([
      ['v1alpha2', true, false],
      ['v1beta1', true, true],
    ]);
  });

  it('only the experimental channel has nodes, domainNames and destinationNamedPort', async () => {
    const exp = (await load(experimentalPath)).text;
    const std = (await load(standardPath)).text;
    for (const field of ['nodes:', 'domainNames:', 'destinationNamedPort:']) {
      expect(exp, field).toContain(field);
      expect(std, field).not.toContain(field);
    }
  });
});

describeIf(helmBinary() !== null, 'helm is not built (scripts/build-go-tools.sh)')('charts/weir: crds/', () => {
  it('helm installs the experimental CRD (rendered with --include-crds, never as a template)', async () => {
    const plain = await helm(['template', 'weir', chartDir]);
    expect(plain.stdout).not.toContain('kind: CustomResourceDefinition');
    const withCrds = await helm(['template', 'weir', chartDir, '--include-crds']);
    expect(withCrds.code).toBe(0);
    expect(withCrds.stdout).toContain('name: clusternetworkpolicies.policy.networking.k8s.io');
    expect(withCrds.stdout).toContain('policy.networking.k8s.io/channel: experimental');
  });
});
