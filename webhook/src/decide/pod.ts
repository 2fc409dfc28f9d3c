/**
 * Pod decisions. mutatePod injects the namespace defaults (pod-defaults.ts), writes weir.dev/intent
 * and, at creation, drops NET_RAW on enforced interfaces (pod-security.ts); validatePod checks the
 * final object and reports every problem at once. Both are pure and total: they never throw.
 */
import {
  CHAIN_ENABLED,
  INJECT_ENABLED,
  INJECT_LABEL,
  K8S_EGRESS_BANDWIDTH,
  K8S_INGRESS_BANDWIDTH,
  MIRROR_POD,
  NAD_CHAIN,
  NS_MAX_EGRESS_BANDWIDTH,
  NS_MAX_INGRESS_BANDWIDTH,
  POD_INTENT,
  SPIDERPOOL_DEFAULT_ROUTE_NIC,
  annotationField,
} from '../../../common/src/annotations.js';
import { parseBandwidth } from '../../../common/src/bandwidth.js';
import { chainHas } from '../../../common/src/cni-chain.js';
import { encodeIntent, parseIntent, type Intent } from '../../../common/src/intent.js';
import { interfaceNameProblem } from '../../../common/src/multus.js';
import { renderReason } from '../../../common/src/reasons.js';
import { describeAttachment, resolveAttachments, type Attachment, type ResolvedAttachments } from './attachments.js';
import { refusal, toRefusal, uniq, warning, type Finding } from './findings.js';
import { nadCheck } from './nad-chain.js';
import { annotationOps } from './patch.js';
import { inject } from './pod-defaults.js';
import { parsePodObject, type PodObject } from './pod-object.js';
import { checkSecurity, rawSocketPatch, securityScope } from './pod-security.js';
import { POD_CREATE, type ClusterView, type Decision, type DecideOptions, type NamespaceInfo, type PodReview, type Refusal } from './types.js';

type Gate = { kind: 'skip'; reason: string } | { kind: 'deny'; refusal: Refusal } | { kind: 'go'; ns: NamespaceInfo };

function gate(pod: PodObject, namespace: string, view: ClusterView): Gate {
  const ns = view.namespace(namespace);
  if (ns === undefined) return { kind: 'deny', refusal: refusal('NAMESPACE_UNKNOWN', 'metadata.namespace', { namespace }) };
  if (ns.labels[INJECT_LABEL] !== INJECT_ENABLED) {
    return { kind: 'skip', reason: renderReason('SKIP_NAMESPACE_NOT_OPTED_IN', { namespace }) };
  }
  if (pod.annotations?.[MIRROR_POD] !== undefined) return { kind: 'skip', reason: renderReason('SKIP_MIRROR_POD', {}) };
  if (pod.hostNetwork) return { kind: 'skip', reason: renderReason('SKIP_HOST_NETWORK', {}) };
  return { kind: 'go', ns };
}

// ── intent ─────────────────────────────────────────────────────────────────────────────────────

/** The intent the annotations describe, or undefined when they do not parse (validate reports why). */
export function intentFor(annotations: Record<string, string>, podNamespace: string, view: ClusterView): Intent | undefined {
  return encodedIntentFor(annotations, podNamespace, view)?.intent;
}

/** intentFor plus its canonical encoding (encoded once: it is both checked and written). */
function encodedIntentFor(
  annotations: Record<string, string>,
  podNamespace: string,
  view: ClusterView,
  resolved: ResolvedAttachments = resolveAttachments(annotations, podNamespace, view),
): { intent: Intent; encoded: string } | undefined {
  if (resolved.problems.length > 0) return undefined;
  const intent: Intent = {
    version: 1,
    networks: resolved.attachments.map((a) => ({
      nad: a.ref ?? null,
      interface: a.iface.name,
      default: a.iface.isDefault,
      enforced: a.enforced,
    })),
    bandwidth: {},
  };
  for (const [key, dir] of [
    [K8S_INGRESS_BANDWIDTH, 'ingressBitsPerSecond'],
    [K8S_EGRESS_BANDWIDTH, 'egressBitsPerSecond'],
  ] as const) {
    const v = annotations[key];
    if (v === undefined) continue;
    const r = parseBandwidth(v);
    if (!r.ok) return undefined;
    intent.bandwidth[dir] = r.bitsPerSecond;
  }
  const drn = annotations[SPIDERPOOL_DEFAULT_ROUTE_NIC];
  if (drn !== undefined && drn !== '') intent.defaultRouteNic = drn;
  // Never hand over an intent the agent would reject (duplicate or invalid interface names):
  // validate refuses such pods with the precise reason instead.
  const encoded = encodeIntent(intent);
  return agentAccepts(encoded) ? { intent, encoded } : undefined;
}

/**
 * Encodings parseIntent accepted before. The pods of a workload share networks and bandwidth, so
 * the same few encodings recur review after review, and parseIntent is pure: a string it accepted
 * once it accepts again. Bounded by clearing when full.
 */
const acceptedIntents = new Set<string>();
const ACCEPTED_INTENTS_MAX = 1024;

export function agentAccepts(encoded: string): boolean {
  if (acceptedIntents.has(encoded)) return true;
  if (!parseIntent(encoded).ok) return false;
  if (acceptedIntents.size >= ACCEPTED_INTENTS_MAX) acceptedIntents.clear();
  acceptedIntents.add(encoded);
  return true;
}

// ── mutate ─────────────────────────────────────────────────────────────────────────────────────

/** Names of the interfaces Weir enforces; none when the annotations do not resolve. */
function enforcedInterfaces(resolved: ResolvedAttachments): string[] {
  return resolved.problems.length > 0 ? [] : resolved.attachments.filter((a) => a.enforced).map((a) => a.iface.name);
}

/**
 * For containers added to a running pod: its NADs may have changed or gone since it started, so an
 * interface whose NAD is gone, or annotations that no longer resolve, count as enforced (fail closed).
 */
function enforcedForEphemeral(annotations: Record<string, string>, namespace: string, view: ClusterView): string[] {
  const resolved = resolveAttachments(annotations, namespace, view);
  if (resolved.problems.length > 0) return ['(every interface: the network annotations no longer resolve)'];
  return resolved.attachments.filter((a) => a.enforced || (a.ref !== undefined && a.nad === undefined)).map((a) => a.iface.name);
}

export function mutatePod(podIn: unknown, namespace: string, view: ClusterView, _opts: DecideOptions, review: PodReview = POD_CREATE): Decision {
  const { pod } = parsePodObject(podIn);
  const g = gate(pod, namespace, view);
  switch (g.kind) {
    case 'skip':
      return { kind: 'allow', patch: [], warnings: [], skipped: g.reason };
    case 'deny':
      return { kind: 'deny', refusals: [g.refusal], warnings: [] };
    case 'go':
      break;
  }
  const current = pod.annotations ?? {};
  if (review.kind === 'ephemeral') {
    const scope = securityScope(pod, g.ns, enforcedForEphemeral(current, namespace, view), review);
    const raw = rawSocketPatch(pod, scope, false);
    return { kind: 'allow', patch: raw.ops, warnings: raw.warnings };
  }
  const injection = inject(current, g.ns, namespace);
  if (injection.refusals.length > 0) return { kind: 'deny', refusals: injection.refusals, warnings: injection.warnings };
  const next: Record<string, string> = { ...current, ...Object.fromEntries(injection.set) };
  const wanted: Array<[string, string]> = [...injection.set];
  const warnings = [...injection.warnings];
  const resolved = resolveAttachments(next, namespace, view);
  const intent = encodedIntentFor(next, namespace, view, resolved);
  if (intent !== undefined) {
    const { encoded } = intent;
    const existing = current[POD_INTENT];
    if (existing !== undefined && existing !== encoded) warnings.push(warning('W_INTENT_REPLACED', {}));
    wanted.push([POD_INTENT, encoded]);
  }
  const patch = annotationOps(pod.annotations, wanted);
  // Containers are immutable after creation: only a creation gets NET_RAW dropped.
  if (review.kind === 'create') {
    const raw = rawSocketPatch(pod, securityScope(pod, g.ns, enforcedInterfaces(resolved), review), true);
    patch.push(...raw.ops);
    warnings.push(...raw.warnings);
  }
  return { kind: 'allow', patch, warnings: uniq(warnings) };
}

// ── validate ───────────────────────────────────────────────────────────────────────────────────

function checkInterfaces(attachments: Attachment[], out: Finding[]): void {
  const seen = new Map<string, Attachment>();
  for (const a of attachments) {
    const explicit = a.iface.selection?.interface ?? '';
    if (explicit !== '' && interfaceNameProblem(explicit) !== undefined) {
      out.push({ code: 'POD_INTERFACE_INVALID', field: a.field, params: { name: explicit, nad: describeAttachment(a) } });
      continue;
    }
    const first = seen.get(a.iface.name);
    if (first !== undefined) {
      out.push({
        code: 'POD_INTERFACE_DUPLICATE',
        field: a.field,
        params: { name: a.iface.name, first: describeAttachment(first), second: describeAttachment(a) },
      });
    } else {
      seen.set(a.iface.name, a);
    }
  }
}

function checkNads(attachments: Attachment[], out: Finding[], warnings: string[]): void {
  const checked = new Set<string>();
  for (const a of attachments) {
    if (a.ref === undefined || checked.has(a.ref)) continue;
    checked.add(a.ref);
    if (a.nad === undefined) {
      const sel = a.iface.selection;
      const hint =
        a.iface.isDefault && sel !== undefined && !sel.namespaceGiven
          ? ' (v1.multus-cni.io/default-network without a namespace means kube-system, as in Multus)'
          : '';
      out.push({ code: 'POD_NAD_NOT_FOUND', field: a.field, params: { ref: a.ref, hint } });
      continue;
    }
    // Issue 12: the NAD says it is enforced, but weir is not in its chain (the NAD webhook fails
    // open, so it may never have inserted it): the interface would come up unenforced.
    if (a.nad.annotations[NAD_CHAIN] === CHAIN_ENABLED && a.chain !== undefined && !a.enforced) {
      out.push({ code: 'POD_NAD_WEIR_MISSING', field: a.field, params: { ref: a.ref } });
    }
    const check = nadCheck(a.nad);
    if ('empty' in check) {
      warnings.push(warning('W_POD_NAD_CONFIG_EMPTY', { ref: a.ref }));
      continue;
    }
    for (const f of check.refusals) {
      out.push({ code: 'POD_NAD_CHAIN_INVALID', field: a.field, params: { ref: a.ref, detail: toRefusal(f).message, nadCode: f.code } });
    }
  }
}

function checkDefaultRouteNic(annotations: Record<string, string>, attachments: Attachment[], out: Finding[]): void {
  const nic = annotations[SPIDERPOOL_DEFAULT_ROUTE_NIC];
  if (nic === undefined || nic === '') return;
  const names = attachments.map((a) => a.iface.name);
  if (!names.includes(nic)) {
    out.push({ code: 'POD_DEFAULT_ROUTE_NIC_UNKNOWN', field: annotationField(SPIDERPOOL_DEFAULT_ROUTE_NIC), params: { nic, interfaces: names.join(', ') } });
  }
}

function checkBandwidth(
  annotations: Record<string, string>,
  ns: NamespaceInfo,
  attachments: Attachment[] | undefined,
  out: Finding[],
): void {
  let requested: string | undefined;
  for (const [key, capKey] of [
    [K8S_INGRESS_BANDWIDTH, NS_MAX_INGRESS_BANDWIDTH],
    [K8S_EGRESS_BANDWIDTH, NS_MAX_EGRESS_BANDWIDTH],
  ] as const) {
    const value = annotations[key];
    if (value === undefined) continue;
    const field = annotationField(key);
    requested ??= field;
    const r = parseBandwidth(value);
    if (!r.ok) {
      out.push({ code: r.problem === 'format' ? 'BANDWIDTH_INVALID' : 'BANDWIDTH_OUT_OF_RANGE', field, params: { value, error: r.error } });
      continue;
    }
    const cap = ns.annotations[capKey];
    if (cap === undefined) continue;
    const c = parseBandwidth(cap);
    if (!c.ok) {
      out.push({ code: 'NAMESPACE_CAP_INVALID', field, params: { namespace: ns.name, capKey, value: cap, error: c.error } });
    } else if (r.bitsPerSecond > c.bitsPerSecond) {
      out.push({ code: 'BANDWIDTH_ABOVE_CAP', field, params: { value, cap, capKey, namespace: ns.name } });
    }
  }
  if (requested === undefined || attachments === undefined) return;
  const dflt = attachments.find((a) => a.iface.isDefault);
  if (dflt === undefined) return;
  if (dflt.ref === undefined) {
    out.push({
      code: 'BANDWIDTH_NOT_SHAPED',
      field: requested,
      params: {
        detail:
          "the pod's default network is Multus's cluster network, which Weir cannot see or shape; " +
          'set v1.multus-cni.io/default-network to a NAD whose chain contains {"type":"weir"}',
      },
    });
  } else if (dflt.chain !== undefined && !dflt.enforced) {
    out.push({
      code: 'BANDWIDTH_NOT_SHAPED',
      field: requested,
      params: {
        detail:
          `the default network's NetworkAttachmentDefinition ${dflt.ref} has no {"type":"weir"} in its chain; ` +
          'add it right after the interface plugin, or annotate that NAD weir.dev/chain: enabled',
      },
    });
  }
}

function checkCoordinator(attachments: Attachment[], view: ClusterView, opts: DecideOptions, out: Finding[]): void {
  const users = attachments.filter((a) => a.chain !== undefined && chainHas(a.chain, 'coordinator'));
  const first = users[0];
  if (first === undefined || first.ref === undefined) return;
  const refs = [...new Set(users.map((a) => a.ref))].join(', ');
  const c = view.coordinator(opts.coordinatorName);
  if (c === undefined) {
    out.push({ code: 'COORDINATOR_MISSING', field: first.field, params: { ref: refs, name: opts.coordinatorName } });
  } else if (c.phase !== 'Synced') {
    out.push({
      code: 'COORDINATOR_NOT_SYNCED',
      field: first.field,
      params: {
        ref: refs,
        name: c.name,
        phase: c.phase === undefined || c.phase === '' ? 'without a status.phase' : c.phase,
        reason: c.reason === undefined || c.reason === '' ? 'none given' : c.reason,
      },
    });
  }
}

/** `want` is the canonical encoding of the expected intent. */
function checkIntent(annotations: Record<string, string>, want: string, out: Finding[]): void {
  const have = annotations[POD_INTENT];
  // The usual case: what mutate wrote. Canonical, so equal strings are equal intents.
  if (have === want) return;
  const field = annotationField(POD_INTENT);
  if (have === undefined) {
    out.push({ code: 'POD_INTENT_MISMATCH', field, params: { detail: 'is missing', expected: want } });
    return;
  }
  const parsed = parseIntent(have);
  if (!parsed.ok) {
    out.push({ code: 'POD_INTENT_MISMATCH', field, params: { detail: `does not parse (${parsed.errors.join('; ')})`, expected: want } });
  } else if (encodeIntent(parsed.intent) !== want) {
    out.push({ code: 'POD_INTENT_MISMATCH', field, params: { detail: `is ${encodeIntent(parsed.intent)}, which no longer matches the annotations`, expected: want } });
  }
}

export function validatePod(podIn: unknown, namespace: string, view: ClusterView, opts: DecideOptions, review: PodReview = POD_CREATE): Decision {
  const { pod, problems } = parsePodObject(podIn);
  const g = gate(pod, namespace, view);
  switch (g.kind) {
    case 'skip':
      return { kind: 'allow', patch: [], warnings: [], skipped: g.reason };
    case 'deny':
      return { kind: 'deny', refusals: [g.refusal, ...problems], warnings: [] };
    case 'go':
      break;
  }
  const annotations = pod.annotations ?? {};
  const findings: Finding[] = [];
  const warnings: string[] = [];
  if (review.kind === 'ephemeral') {
    // Only the added containers change; the pod's networks were judged when it was created.
    checkSecurity(securityScope(pod, g.ns, enforcedForEphemeral(annotations, namespace, view), review), g.ns, true, findings, warnings);
    const refusals = [...problems, ...findings.map(toRefusal)];
    return refusals.length > 0 ? { kind: 'deny', refusals, warnings: uniq(warnings) } : { kind: 'allow', patch: [], warnings: uniq(warnings) };
  }
  const resolved = resolveAttachments(annotations, namespace, view);
  findings.push(...resolved.problems);
  const attachments = resolved.problems.length === 0 ? resolved.attachments : undefined;
  if (attachments !== undefined) {
    checkInterfaces(attachments, findings);
    checkNads(attachments, findings, warnings);
    checkDefaultRouteNic(annotations, attachments, findings);
  }
  checkBandwidth(annotations, g.ns, attachments, findings);
  if (attachments !== undefined) {
    checkCoordinator(attachments, view, opts, findings);
    const scope = securityScope(pod, g.ns, enforcedInterfaces(resolved), review);
    checkSecurity(scope, g.ns, review.kind === 'create', findings, warnings);
  }
  // The intent is compared only when the annotations parse; otherwise the parse errors say it all.
  const expected = encodedIntentFor(annotations, namespace, view, resolved);
  if (expected !== undefined) checkIntent(annotations, expected.encoded, findings);
  const refusals = [...problems, ...findings.map(toRefusal)];
  if (refusals.length > 0) return { kind: 'deny', refusals, warnings: uniq(warnings) };
  return { kind: 'allow', patch: [], warnings: uniq(warnings) };
}
