/**
 * `weir endpoints`: what Weir enforces on each pod, read from the WeirEndpoint objects the agents
 * publish through the API server (agent/src/endpoints/weirendpoint.ts). Needs only `list` on
 * weirendpoints.weir.dev in the namespaces asked for: no port-forward, no agent reachable.
 * An object that does not parse is shown as unreadable and makes the command exit 1.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import { parseWeirEndpoint, WEIR_ENDPOINT, type WeirEndpoint } from '../../agent/src/endpoints/weirendpoint.js';
import { formatBitsPerSecond } from '../../common/src/bandwidth.js';
import { formatFieldErrors } from '../../common/src/field-errors.js';
import { isList, isRecord } from '../../common/src/records.js';
import type { OutputFormat } from './args.js';
import { CommandError } from './errors.js';
import type { Cluster } from './kube.js';
import { alignColumns, structured } from './output.js';
import { entriesText } from './status-format.js';

type Row = { endpoint: WeirEndpoint } | { namespace: string; name: string; error: string };

function rows(list: unknown): Row[] {
  const items = isRecord(list) && isList(list['items']) ? list['items'] : [];
  return items.map((item) => {
    const parsed = parseWeirEndpoint(item);
    if (parsed.ok) return { endpoint: parsed.value };
    const meta = isRecord(item) && isRecord(item['metadata']) ? item['metadata'] : {};
    const text = (v: unknown) => (typeof v === 'string' ? v : '?');
    return { namespace: text(meta['namespace']), name: text(meta['name']), error: formatFieldErrors(parsed.errors) };
  });
}

function bandwidth(bits: number | undefined): string {
  return bits === undefined ? '-' : formatBitsPerSecond(bits);
}

/** One line per interface: the binding (spec) beside what the agent reports enforcing (status). */
export function formatEndpoints(list: Row[], wide: boolean): string[] {
  const header = ['NAMESPACE', 'POD', 'NODE', 'INTERFACE', 'NETWORK', 'IPS', 'ENFORCED', 'ISOLATED', 'ENTRIES', 'SHAPING', ...(wide ? ['EGRESS', 'INGRESS', 'WARNINGS'] : [])];
  const table: string[][] = [header];
  for (const row of list) {
    if ('error' in row) {
      table.push([row.namespace, row.name, '-', '-', '-', '-', 'UNREADABLE', '-', '-', row.error]);
      continue;
    }
    const ep = row.endpoint;
    for (const i of ep.interfaces) {
      const e = ep.enforcement.find((x) => x.name === i.name);
      const isolated = e === undefined ? '-' : [e.isolatedIngress ? 'ingress' : '', e.isolatedEgress ? 'egress' : ''].filter((s) => s !== '').join(',') || 'no';
      table.push([
        ep.namespace, ep.name, ep.node, i.name, i.network ?? '(default)', i.ips.join(',') || '-',
        e === undefined ? 'unknown' : e.enforced ? 'yes' : 'NO', isolated, e === undefined ? '-' : entriesText(e.policyEntries, e.policyQuota), e?.shaping ?? '-',
        ...(wide ? [bandwidth(e?.egressBitsPerSecond), bandwidth(e?.ingressBitsPerSecond), e?.warnings.join('; ') || '-'] : []),
      ]);
    }
  }
  return alignColumns(table);
}

export async function endpointsCommand(cluster: Cluster, opts: { allNamespaces: boolean; format: OutputFormat }, out: (line: string) => void): Promise<number> {
  const api = cluster.kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = WEIR_ENDPOINT;
  let list: unknown;
  try {
    list = opts.allNamespaces
      ? await api.listClusterCustomObject({ group, version, plural })
      : await api.listNamespacedCustomObject({ group, version, plural, namespace: cluster.namespace });
  } catch (e) {
    const code = isRecord(e) ? e['code'] : undefined;
    if (code === 404) throw new CommandError('the API server has no weirendpoints.weir.dev: is Weir installed (helm install weir charts/weir)?');
    if (code === 403) throw new CommandError(`not allowed to list weirendpoints.weir.dev${opts.allNamespaces ? ' in all namespaces' : ` in namespace ${cluster.namespace}`}: ask for "list" on that resource`);
    throw e;
  }
  const all = rows(list);
  const text = structured(opts.format, { kind: 'WeirEndpointList', items: all.map((r) => ('error' in r ? r : r.endpoint)) });
  if (text !== undefined) out(text.trimEnd());
  else if (all.length === 0) out(`no WeirEndpoints${opts.allNamespaces ? '' : ` in namespace ${cluster.namespace}`}: no pod there has an interface Weir attached`);
  else for (const line of formatEndpoints(all, opts.format === 'wide')) out(line);
  const unreadable = all.filter((r) => 'error' in r).length;
  if (unreadable > 0) throw new CommandError(`${unreadable} WeirEndpoint object(s) did not parse (shown as UNREADABLE)`);
  return 0;
}
