import type { TestProject } from 'vitest/node';
import { findBinaries, startControlPlane } from '../harness/controlplane/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin kubeconfig path of the shared control plane; '' when none could be started. */
    kubeconfig: string;
  }
}

/**
 * Starts ONE etcd + kube-apiserver for the whole vitest run and hands every test file the admin
 * kubeconfig path (`inject('kubeconfig')`). Suites isolate themselves by namespace.
 * Missing binaries: a failure under CI=true, a loud warning and no API server otherwise (API
 * suites then skip through describeWithApi).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const bins = findBinaries();
  if (bins.kind === 'missing') {
    const msg = `control-plane binaries missing in ${bins.dir}: ${bins.missing.join(', ')}; run \`make bootstrap\``;
    if (process.env.CI === 'true') throw new Error(`CI=true: ${msg}`);
    process.stderr.write(`\n*** WARNING: ${msg}. Suites that need the API server will SKIP. ***\n\n`);
    project.provide('kubeconfig', '');
    return async () => {};
  }
  const cp = await startControlPlane();
  process.stderr.write(`control plane ready in ${cp.startupMs} ms (${cp.server})\n`);
  project.provide('kubeconfig', cp.kubeconfigPath);
  return async () => {
    await cp.stop();
  };
}
