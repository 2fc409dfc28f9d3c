/**
 * The cluster the CLI talks to, chosen as kubectl chooses it: --kubeconfig, else $KUBECONFIG, else
 * ~/.kube/config; --context, else the kubeconfig's current context; -n, else the context's
 * namespace, else "default". One addition: without --kubeconfig or $KUBECONFIG, a running local lab
 * (`weir lab up`) comes before ~/.kube/config, so the lab's walkthrough never touches another cluster;
 * inside a pod, its ServiceAccount.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CommandError } from './errors.js';

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface Cluster {
  kc: KubeConfig;
  /** -n, else the context's namespace, else "default". */
  namespace: string;
  /** Set when the cluster is the local lab, whose agents are processes on this machine, not pods. */
  labAgentUrls?: string[];
}

async function labFallback(): Promise<{ kubeconfig: string; agentUrls: string[] } | undefined> {
  // lab/ ships with the repository, not with an installed CLI: no lab there, nothing to fall back on.
  const lab = await import('../../lab/cli.js').catch(() => undefined);
  return lab?.runningLab();
}

export async function loadCluster(opts: KubeOptions): Promise<Cluster> {
  const kc = new KubeConfig();
  let labAgentUrls: string[] | undefined;
  const envFiles = (process.env.KUBECONFIG ?? '').split(':').filter((f) => f !== '');
  const defaultFile = join(homedir(), '.kube', 'config');
  try {
    if (opts.kubeconfig !== undefined) {
      if (!existsSync(opts.kubeconfig)) throw new CommandError(`--kubeconfig ${opts.kubeconfig}: no such file`);
      kc.loadFromFile(opts.kubeconfig);
    } else if (envFiles.length > 0) {
      kc.loadFromDefault();
    } else if ((process.env.KUBERNETES_SERVICE_HOST ?? '') !== '') {
      // In a pod (the chart's `helm test` pod): its ServiceAccount.
      kc.loadFromCluster();
    } else {
      const lab = await labFallback();
      if (lab !== undefined) {
        kc.loadFromFile(lab.kubeconfig);
        labAgentUrls = lab.agentUrls;
      } else if (existsSync(defaultFile)) {
        kc.loadFromFile(defaultFile);
      } else {
        throw new CommandError('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config (or start the local lab: weir lab up)');
      }
    }
  } catch (error) {
    if (error instanceof CommandError) throw error;
    throw new CommandError(`cannot load the kubeconfig: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (opts.context !== undefined) {
    if (!kc.getContexts().some((c) => c.name === opts.context)) {
      throw new CommandError(`--context ${opts.context}: no such context (the kubeconfig has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    }
    kc.setCurrentContext(opts.context);
  }
  if (kc.getCurrentCluster() === null) throw new CommandError('the kubeconfig has no current context; pass --context');
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  const namespace = opts.namespace ?? (contextNamespace || 'default');
  return labAgentUrls === undefined ? { kc, namespace } : { kc, namespace, labAgentUrls };
}
