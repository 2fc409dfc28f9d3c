/** `weir version`: this CLI's version, and (unless --client) the API server's and the agents' images. */
import { CoreV1Api, VersionApi } from '@kubernetes/client-node';
import { weirVersion } from '../../common/src/process-metrics.js';
import type { OutputFormat } from './args.js';
import type { Cluster } from './kube.js';
import { structured } from './output.js';

export interface VersionReport {
  client: { weir: string; nodejs: string };
  server?: { kubernetes: string; agentImages: string[] } | { error: string };
}

export async function versionReport(cluster: Cluster | undefined, selector: string): Promise<VersionReport> {
  const client = { weir: weirVersion(), nodejs: process.versions.node };
  if (cluster === undefined) return { client };
  try {
    const code = await cluster.kc.makeApiClient(VersionApi).getCode();
    const pods = cluster.labAgentUrls === undefined ? (await cluster.kc.makeApiClient(CoreV1Api).listPodForAllNamespaces({ labelSelector: selector })).items : [];
    const images = new Set(pods.flatMap((p) => (p.spec?.containers ?? []).filter((c) => c.name === 'agent').map((c) => c.image ?? '?')));
    return { client, server: { kubernetes: code.gitVersion, agentImages: [...images].sort() } };
  } catch (error) {
    return { client, server: { error: error instanceof Error ? error.message : String(error) } };
  }
}

export function printVersion(report: VersionReport, format: OutputFormat, out: (line: string) => void): void {
  const text = structured(format, report);
  if (text !== undefined) {
    out(text.trimEnd());
    return;
  }
  out(`Client Version: weir ${report.client.weir} (Node.js ${report.client.nodejs})`);
  if (report.server === undefined) return;
  if ('error' in report.server) out(`Server Version: unknown (${report.server.error})`);
  else {
    out(`Server Version: Kubernetes ${report.server.kubernetes}`);
    out(`Agent images: ${report.server.agentImages.join(', ') || 'none found (the lab runs agents as processes)'}`);
  }
}
