/**
 * Capabilities on enforced interfaces (issue 13, findings 1 and 9). Weir's programs sit on tc of the
 * pod's own interfaces, so a container in that netns must not be able to get past or remove them:
 *
 * - NET_RAW (granted by containerd by default): an AF_PACKET socket sends frames with a forged
 *   skb->protocol, and PACKET_QDISC_BYPASS skips tc egress and the shaper. The mutating webhook
 *   drops it from every container and sets the namespaced, safe sysctl net.ipv4.ping_group_range so
 *   ping keeps working with ICMP datagram sockets. Explicitly adding it is refused, unless the
 *   namespace allows raw sockets on purpose (weir.dev/allow-raw-sockets: "true").
 * - NET_ADMIN removes filters and qdiscs; SYS_ADMIN and BPF open the node's maps and programs by
 *   id; privileged and ALL hold all of these. Refused, unless weir.dev/allow-net-admin: "true".
 *
 * Pure: the pod as parsed by pod-object.ts in, findings and JSON Patch ops out.
 */
import {
  ALLOW_NET_ADMIN_TRUE,
  ALLOW_RAW_SOCKETS_TRUE,
  NS_ALLOW_NET_ADMIN,
  NS_ALLOW_RAW_SOCKETS,
} from '../../../common/src/annotations.js';
import { isRecord } from '../../../common/src/records.js';
import { warning, type Finding } from './findings.js';
import { parsePodObject, type ContainerSecurity, type PodObject } from './pod-object.js';
import type { JsonPatchOp, NamespaceInfo, PodReview } from './types.js';

/** Lets every group open ICMP echo (datagram) sockets, so ping works without NET_RAW. */
export const PING_GROUP_RANGE = { name: 'net.ipv4.ping_group_range', value: '0 2147483647' } as const;

/** Capabilities that let a container undo its own enforcement. */
const ADMIN_CAPABILITIES: readonly string[] = ['NET_ADMIN', 'SYS_ADMIN', 'BPF'];

/**
 * A capability as granted. Conservative for grants: case and a CAP_ prefix are ignored, so
 * "cap_net_admin" counts as NET_ADMIN even though the runtime would reject the name.
 */
function granted(cap: string): string {
  const c = cap.toUpperCase();
  return c.startsWith('CAP_') ? c.slice(4) : c;
}

/**
 * Does this drop entry remove NET_RAW? Conservative for drops: the CRI upper-cases and prepends
 * CAP_ itself, so only "NET_RAW" or "ALL" (any case) work; "CAP_NET_RAW" would drop nothing.
 */
function dropsNetRawEntry(entry: unknown): boolean {
  if (typeof entry !== 'string') return false;
  const c = entry.toUpperCase();
  return c === 'NET_RAW' || c === 'ALL';
}

function dropsNetRaw(c: ContainerSecurity): boolean {
  return c.drop?.some(dropsNetRawEntry) ?? false;
}

export interface SecurityScope {
  /** Names of the pod's enforced interfaces; empty when Weir enforces none (nothing to do). */
  enforced: string[];
  allowRawSockets: boolean;
  allowNetAdmin: boolean;
  /** The containers this review may change and must check. */
  containers: ContainerSecurity[];
}

export function securityScope(pod: PodObject, ns: NamespaceInfo, enforced: string[], review: PodReview): SecurityScope {
  let containers = pod.containers;
  if (review.kind === 'ephemeral') {
    const existing = new Set(parsePodObject(review.oldPod).pod.containers.filter((c) => c.list === 'ephemeralContainers').map((c) => c.name));
    containers = pod.containers.filter((c) => c.list === 'ephemeralContainers' && !existing.has(c.name));
  }
  return {
    enforced,
    allowRawSockets: ns.annotations[NS_ALLOW_RAW_SOCKETS] === ALLOW_RAW_SOCKETS_TRUE,
    allowNetAdmin: ns.annotations[NS_ALLOW_NET_ADMIN] === ALLOW_NET_ADMIN_TRUE,
    containers,
  };
}

function dropOp(c: ContainerSecurity): JsonPatchOp {
  const base = `/spec/${c.list}/${c.index}/securityContext`;
  if (!c.hasSecurityContext) return { op: 'add', path: base, value: { capabilities: { drop: ['NET_RAW'] } } };
  if (!c.hasCapabilities) return { op: 'add', path: `${base}/capabilities`, value: { drop: ['NET_RAW'] } };
  if (c.drop === undefined) return { op: 'add', path: `${base}/capabilities/drop`, value: ['NET_RAW'] };
  // The whole array, extended: the ops stay within add/replace on members (no "-" appends).
  return { op: 'replace', path: `${base}/capabilities/drop`, value: [...c.drop, 'NET_RAW'] };
}

function sysctlOp(pod: PodObject): JsonPatchOp | undefined {
  // A value the pod chose itself is left alone.
  if (pod.sysctls?.some((s) => isRecord(s) && s['name'] === PING_GROUP_RANGE.name) === true) return undefined;
  const entry = { ...PING_GROUP_RANGE };
  if (!pod.hasPodSecurityContext) return { op: 'add', path: '/spec/securityContext', value: { sysctls: [entry] } };
  if (pod.sysctls === undefined) return { op: 'add', path: '/spec/securityContext/sysctls', value: [entry] };
  return { op: 'replace', path: '/spec/securityContext/sysctls', value: [...pod.sysctls, entry] };
}

/**
 * NET_RAW dropped from every container in scope that still has it, plus the ping sysctl when
 * `withSysctl` (only at creation: the pod's securityContext is immutable afterwards). Idempotent:
 * a mutated pod yields no ops. The warning says why, once, when a drop was added.
 */
export function rawSocketPatch(pod: PodObject, scope: SecurityScope, withSysctl: boolean): { ops: JsonPatchOp[]; warnings: string[] } {
  if (scope.enforced.length === 0 || scope.allowRawSockets) return { ops: [], warnings: [] };
  const drops = scope.containers.filter((c) => !dropsNetRaw(c)).map(dropOp);
  const sysctl = withSysctl ? sysctlOp(pod) : undefined;
  return {
    ops: sysctl === undefined ? drops : [...drops, sysctl],
    warnings: drops.length > 0 ? [warning('W_POD_NET_RAW_DROPPED', {})] : [],
  };
}

/**
 * Refusals for containers that could get past or remove enforcement, each naming the container
 * and the capability. `requireDrop`: also refuse a container that still holds NET_RAW (the drop the
 * mutating webhook added was removed by a later one); not on updates, where containers are immutable.
 */
export function checkSecurity(scope: SecurityScope, ns: NamespaceInfo, requireDrop: boolean, out: Finding[], warnings: string[]): void {
  if (scope.enforced.length === 0) return;
  const interfaces = scope.enforced.join(', ');
  const common = { interfaces, namespace: ns.name };
  let adminAllowed = false;
  for (const c of scope.containers) {
    const admin: Array<{ what: string; field: string }> = [];
    if (c.privileged) admin.push({ what: `container "${c.name}" is privileged`, field: `${c.path}.securityContext.privileged` });
    c.add.forEach((cap, i) => {
      const g = granted(cap);
      const field = `${c.path}.securityContext.capabilities.add[${i}]`;
      if (g === 'ALL') admin.push({ what: `container "${c.name}" adds ALL capabilities`, field });
      else if (ADMIN_CAPABILITIES.includes(g)) admin.push({ what: `container "${c.name}" adds ${g}`, field });
    });
    if (admin.length > 0 && scope.allowNetAdmin) adminAllowed = true;
    else for (const a of admin) out.push({ code: 'POD_NET_ADMIN_ON_ENFORCED', field: a.field, params: { ...common, what: a.what } });

    if (scope.allowRawSockets) continue;
    const raw = c.add.findIndex((cap) => granted(cap) === 'NET_RAW');
    if (raw >= 0) {
      out.push({
        code: 'POD_NET_RAW_ON_ENFORCED',
        field: `${c.path}.securityContext.capabilities.add[${raw}]`,
        params: { ...common, container: c.name, what: 'adds NET_RAW' },
      });
    } else if (requireDrop && !c.privileged && !dropsNetRaw(c)) {
      out.push({
        code: 'POD_NET_RAW_ON_ENFORCED',
        field: `${c.path}.securityContext.capabilities.drop`,
        params: { ...common, container: c.name, what: "keeps NET_RAW (the drop Weir's mutating webhook adds is missing)" },
      });
    }
  }
  if (adminAllowed) warnings.push(warning('W_POD_NET_ADMIN_ALLOWED', {}));
  if (scope.allowRawSockets) warnings.push(warning('W_POD_RAW_SOCKETS_ALLOWED', {}));
}
