/**
 * `weir uninstall --check`: what still depends on Weir, which `helm uninstall` would break. A NAD
 * whose chain runs `weir` makes every new pod on it fail at sandbox creation once the agents are
 * gone (the plugin fails closed); a SpiderMultusConfig that appends weir regenerates such a NAD; an
 * opted-in namespace loses its defaults and checks. Exit 1 while anything is found, so a pipeline
 * can gate the uninstall on it. docs/operations.md ("Uninstalling") says what to do with each.
 */
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { INJECT_ENABLED, INJECT_LABEL, NAD_CHAIN } from '../../common/src/annotations.js';
import { configRunsWeir } from '../../common/src/cni-chain.js';
import { apiMessage, apiStatus } from '../../common/src/kube/api-errors.js';
import { annotationsOf, isList, isRecord, metaOf } from '../../common/src/records.js';
import { CommandError } from './errors.js';
import type { Cluster } from './kube.js';

export interface Dependents {
  nads: string[];
  spiderMultusConfigs: string[];
  namespaces: string[];
}

async function listItems(cluster: Cluster, group: string, version: string, plural: string): Promise<unknown[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const list: unknown = await cluster.kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group, version, plural });
      return isRecord(list) && isList(list.items) ? list.items : [];
    } catch (error) {
      const status = apiStatus(error);
      if (status === 404) return []; // the CRD is not installed: nothing of that kind can depend on Weir
      // 429: the API server is busy or its cache for a new CRD is still filling; it asks to retry.
      if (status !== 429 || attempt === 5) throw new CommandError(`cannot list ${plural}.${group}: ${apiMessage(error) ?? String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

const nameOf = (o: unknown): string => `${metaOf(o).namespace}/${metaOf(o).name}`;

export async function findDependents(cluster: Cluster): Promise<Dependents> {
  const nads = (await listItems(cluster, 'k8s.cni.cncf.io', 'v1', 'network-attachment-definitions')).filter((nad) => {
    const spec = isRecord(nad) && isRecord(nad.spec) ? nad.spec : {};
    const chained = typeof spec.config === 'string' && configRunsWeir(spec.config);
    return chained || annotationsOf(nad)[NAD_CHAIN] !== undefined;
  });
  const smcs = (await listItems(cluster, 'spiderpool.spidernet.io', 'v2beta1', 'spidermultusconfigs')).filter((smc) => {
    const spec = isRecord(smc) && isRecord(smc.spec) ? smc.spec : {};
    return Array.isArray(spec.chainCNIJsonData) && spec.chainCNIJsonData.some((c) => typeof c === 'string' && /"type"\s*:\s*"weir"/.test(c));
  });
  const namespaces = (await cluster.kc.makeApiClient(CoreV1Api).listNamespace({ labelSelector: `${INJECT_LABEL}=${INJECT_ENABLED}` })).items;
  return {
    nads: nads.map(nameOf).sort(),
    spiderMultusConfigs: smcs.map(nameOf).sort(),
    namespaces: namespaces.map((n) => n.metadata?.name ?? '').sort(),
  };
}

export async function uninstallCheckCommand(cluster: Cluster, out: (line: string) => void): Promise<number> {
  const d = await findDependents(cluster);
  for (const n of d.nads) out(`NetworkAttachmentDefinition ${n}: chains weir (new pods on it fail once the agents are gone): remove {"type":"weir"} and the weir.dev/chain annotation`);
  for (const s of d.spiderMultusConfigs) out(`SpiderMultusConfig ${s}: appends weir through chainCNIJsonData: remove that entry`);
  for (const n of d.namespaces) out(`Namespace ${n}: opted in (weir.dev/inject=enabled): kubectl label namespace ${n} weir.dev/inject-`);
  const total = d.nads.length + d.spiderMultusConfigs.length + d.namespaces.length;
  if (total > 0) throw new CommandError(`${total} object(s) still depend on Weir; helm uninstall now would break them`);
  out('Nothing depends on Weir: helm uninstall is safe. Its pre-delete hook has every agent remove Weir from its node (programs, pins, plugin): docs/operations.md, "Uninstalling".');
  return 0;
}
