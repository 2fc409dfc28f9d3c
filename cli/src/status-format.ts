import type { AgentStatus } from '../../agent/src/api.js';
import { formatBitsPerSecond } from '../../common/src/bandwidth.js';
import { alignColumns } from './output.js';

/** `weir status`: one block per node, one line per endpoint, aligned columns (wide: also container and netns). */
export function formatStatus(status: AgentStatus, wide = false): string[] {
  const lines = [
    `node ${status.node}: ${status.ready ? 'ready' : `NOT READY (waiting for ${status.unsynced.join(', ')})`}; ` +
      `${status.endpoints.length} endpoint(s), ${status.pods} pod(s) known cluster-wide; ` +
      `maps: ipcache ${status.maps.ipcache}, policy ${status.maps.policy}, endpoints ${status.maps.endpoints}` +
      (status.malformedIntents > 0 ? `; ${status.malformedIntents} malformed intent(s)` : ''),
  ];
  const rows = status.endpoints.map((e) => [
    `${e.pod}/${e.interface}`,
    `#${e.endpointId}`,
    e.programmed ? 'programmed' : 'adopted',
    `shaping ${e.shaping}`,
    e.bandwidth ? `in ${rate(e.bandwidth.ingressBitsPerSecond)} out ${rate(e.bandwidth.egressBitsPerSecond)}` : 'no limit',
    `entries ${entriesText(e.policyEntries, e.policyQuota)}`,
    `isolated ${[e.isolation.ingress ? 'ingress' : '', e.isolation.egress ? 'egress' : ''].filter((x) => x !== '').join('+') || 'no'}` +
      (e.audit === true ? ' (AUDIT: drops pass)' : ''),
    ...(wide ? [`container ${e.containerId.slice(0, 12)}`, `netns ${e.netnsPath}`] : []),
  ]);
  for (const line of alignColumns(rows)) lines.push(`  ${line}`);
  return lines;
}

/** "120/16384" (entries / quota; older agents report no quota), and OVER QUOTA when the agent isolated the endpoint for it. */
export function entriesText(entries: number, quota: number | undefined): string {
  if (quota === undefined) return String(entries);
  return `${entries}/${quota}${entries > quota ? ' OVER QUOTA (isolated)' : ''}`;
}

function rate(bps: number | undefined): string {
  return bps === undefined ? '-' : formatBitsPerSecond(bps);
}
