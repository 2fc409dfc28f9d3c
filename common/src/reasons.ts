/**
 * The one catalogue of stable reason codes: every refusal and warning Weir's admission decisions
 * produce, with its message template and fix. docs/reasons.md is generated from this table
 * (`reasonsMarkdown`) and a test keeps the two identical. Codes are stable: metrics label by them and
 * users search for them; never rename one, add a new one instead.
 *
 * Templates use `{param}` placeholders. A refusal's message is `<field path>: <rendered template>`.
 */

export type ReasonSeverity = 'refusal' | 'warning' | 'skip';
export type ReasonSubject = 'pod' | 'nad';

export interface ReasonEntry {
  readonly severity: ReasonSeverity;
  readonly subject: ReasonSubject;
  readonly summary: string;
  readonly template: string;
  readonly fix: string;
}

const CHAIN_ORDER = '[ifacer] → interface plugin (with ipam) → weir | cilium-cni → coordinator';

export const REASONS = {
  // ── pods ─────────────────────────────────────────────────────────────────────────────────────
  SKIP_NAMESPACE_NOT_OPTED_IN: {
    severity: 'skip', subject: 'pod',
    summary: 'The namespace is not labelled weir.dev/inject=enabled; the pod passes untouched.',
    template: 'namespace "{namespace}" is not labelled weir.dev/inject=enabled',
    fix: 'Label the namespace weir.dev/inject=enabled to opt its pods in.',
  },
  SKIP_HOST_NETWORK: {
    severity: 'skip', subject: 'pod',
    summary: 'hostNetwork pods get no Multus attachments; nothing to check or enforce.',
    template: 'hostNetwork pod: Multus attaches no networks',
    fix: 'None needed.',
  },
  SKIP_MIRROR_POD: {
    severity: 'skip', subject: 'pod',
    summary: 'Mirror (static) pods are never mutated or checked.',
    template: 'mirror pod (kubernetes.io/config.mirror)',
    fix: 'None needed.',
  },
  NAMESPACE_UNKNOWN: {
    severity: 'refusal', subject: 'pod',
    summary: "The pod's namespace is not in the webhook's informer cache yet.",
    template: 'namespace "{namespace}" is not in the webhook\'s cache yet, so its opt-in and caps are unknown; retry in a few seconds',
    fix: 'Retry; controllers do so automatically. If it persists, check the webhook can list/watch namespaces.',
  },
  NAMESPACE_DEFAULT_INVALID: {
    severity: 'refusal', subject: 'pod',
    summary: 'A namespace default (weir.dev/networks, weir.dev/default-network, …) that would be injected is itself invalid.',
    template: 'namespace "{namespace}" annotation {key}: {detail}; fix the namespace default (or set the pod annotation)',
    fix: 'Correct the namespace annotation; it is injected into every pod that does not set its own value.',
  },
  POD_MALFORMED: {
    severity: 'refusal', subject: 'pod',
    summary: 'The pod object does not have the shape the webhook needs.',
    template: '{detail}',
    fix: 'Send a valid v1 Pod.',
  },
  POD_NETWORKS_INVALID: {
    severity: 'refusal', subject: 'pod',
    summary: 'k8s.v1.cni.cncf.io/networks does not parse the way Multus parses it (Multus\'s own error is quoted).',
    template: '{detail}; write comma-separated [namespace/]name[@interface] items, or a JSON array of {"name": …} objects',
    fix: 'Fix the annotation syntax; a missing namespace means the pod\'s namespace.',
  },
  POD_DEFAULT_NETWORK_INVALID: {
    severity: 'refusal', subject: 'pod',
    summary: 'v1.multus-cni.io/default-network does not parse the way Multus parses it.',
    template: '{detail}; write one [namespace/]name (no namespace means kube-system, as in Multus)',
    fix: 'Fix the annotation syntax; name the namespace explicitly.',
  },
  POD_SECOND_DEFAULT_NETWORK: {
    severity: 'refusal', subject: 'pod',
    summary: 'More than one default network is named; Multus refuses this at sandbox creation.',
    template: 'names {count} default networks ("{value}"); a pod has exactly one: keep one and move the others to k8s.v1.cni.cncf.io/networks',
    fix: 'Keep one entry in v1.multus-cni.io/default-network; list the others in k8s.v1.cni.cncf.io/networks.',
  },
  POD_INTERFACE_INVALID: {
    severity: 'refusal', subject: 'pod',
    summary: 'A requested interface name is too long or contains "/" or whitespace.',
    template: 'interface "{name}" requested for {nad}: must be less than 15 chars and not contain \'/\' or spaces',
    fix: 'Use an interface name of at most 15 characters without "/" or spaces.',
  },
  POD_INTERFACE_DUPLICATE: {
    severity: 'refusal', subject: 'pod',
    summary: 'Two attachments would get the same interface name (explicit names collide with eth0 or net<N>).',
    template: 'interface "{name}" would be used by both {first} and {second}; give each attachment a distinct name (@ifname or "interface")',
    fix: 'Name the interfaces explicitly and distinctly; unnamed attachments get net<position>.',
  },
  POD_NAD_NOT_FOUND: {
    severity: 'refusal', subject: 'pod',
    summary: 'A referenced NetworkAttachmentDefinition does not exist.',
    template: 'NetworkAttachmentDefinition {ref} does not exist{hint}; create it or fix the reference',
    fix: 'Create the NAD, or correct the namespace/name in the annotation.',
  },
  POD_NAD_CHAIN_INVALID: {
    severity: 'refusal', subject: 'pod',
    summary: "A referenced NAD's spec.config breaks a chain rule (the NAD's own reason is quoted).",
    template: 'NetworkAttachmentDefinition {ref} is invalid ({nadCode}): {detail}',
    fix: 'Fix the NAD as its reason says; the NAD webhook reports the same reasons on apply.',
  },
  POD_DEFAULT_ROUTE_NIC_UNKNOWN: {
    severity: 'refusal', subject: 'pod',
    summary: 'ipam.spidernet.io/default-route-nic names an interface the pod will not have.',
    template: '"{nic}" is not one of the pod\'s interfaces ({interfaces}); name one of them',
    fix: 'Use one of the effective interface names: eth0, the explicit names, or net<position>.',
  },
  BANDWIDTH_INVALID: {
    severity: 'refusal', subject: 'pod',
    summary: 'A bandwidth annotation is not a Kubernetes Quantity (the runtime\'s error is quoted).',
    template: '"{value}": {error}; use a Quantity in bits/s such as 10M or 1G',
    fix: 'Write bits per second as a Quantity: 10M = 10 Mbit/s (m is milli, not mega).',
  },
  BANDWIDTH_OUT_OF_RANGE: {
    severity: 'refusal', subject: 'pod',
    summary: 'A bandwidth annotation is outside 1k..1P bits/s (the runtime\'s bounds and wording).',
    template: '"{value}": {error}; use a value from 1k to 1P bits/s',
    fix: 'Use a value between 1k and 1P.',
  },
  BANDWIDTH_ABOVE_CAP: {
    severity: 'refusal', subject: 'pod',
    summary: 'A bandwidth annotation exceeds the namespace cap weir.dev/max-*-bandwidth.',
    template: '"{value}" exceeds the cap {cap} set by {capKey} on namespace "{namespace}"; ask for at most {cap}',
    fix: 'Lower the pod\'s request, or raise the namespace cap.',
  },
  NAMESPACE_CAP_INVALID: {
    severity: 'refusal', subject: 'pod',
    summary: 'A namespace bandwidth cap annotation is not a valid bandwidth, so no pod can be checked against it.',
    template: 'namespace "{namespace}" annotation {capKey}: "{value}": {error}; fix the namespace annotation',
    fix: 'Set the cap to a Quantity between 1k and 1P bits/s.',
  },
  BANDWIDTH_NOT_SHAPED: {
    severity: 'refusal', subject: 'pod',
    summary: "Bandwidth is requested but the pod's default network does not run Weir, so nothing would shape it.",
    template: 'bandwidth is requested but {detail}',
    fix: 'Use a default-network NAD whose chain contains {"type":"weir"} (annotate the NAD weir.dev/chain: enabled).',
  },
  COORDINATOR_MISSING: {
    severity: 'refusal', subject: 'pod',
    summary: 'A chain the pod uses contains coordinator, but no SpiderCoordinator with the configured name exists.',
    template: 'NetworkAttachmentDefinition {ref} chains "coordinator" but SpiderCoordinator "{name}" does not exist; the coordinator would fail with "coordinator config not found". Install Spiderpool\'s coordinator or remove coordinator from the chain',
    fix: 'Create the SpiderCoordinator (Spiderpool installs "default"), or point the webhook at the right name.',
  },
  COORDINATOR_NOT_SYNCED: {
    severity: 'refusal', subject: 'pod',
    summary: 'A chain the pod uses contains coordinator and the SpiderCoordinator is not Synced.',
    template: 'NetworkAttachmentDefinition {ref} chains "coordinator" but SpiderCoordinator "{name}" is {phase} (reason: {reason}); the pod would fail at sandbox creation with "spidercoordinator: {name} no ready". Fix the coordinator first',
    fix: 'Resolve status.reason of the SpiderCoordinator (pod/service CIDR detection) until status.phase is Synced.',
  },
  POD_NET_ADMIN_ON_ENFORCED: {
    severity: 'refusal', subject: 'pod',
    summary: 'A container that is privileged or adds NET_ADMIN, SYS_ADMIN, BPF or ALL would share a netns whose interfaces Weir enforces, and could remove its own policy (SYS_ADMIN and BPF can open the node\'s maps by id).',
    template: '{what} while Weir enforces interface(s) {interfaces}; such a container can remove its own policy and shaping. Drop it, or annotate namespace "{namespace}" with weir.dev/allow-net-admin: "true"',
    fix: 'Remove the capability or privileged, or opt the namespace out explicitly with weir.dev/allow-net-admin: "true".',
  },
  POD_NET_RAW_ON_ENFORCED: {
    severity: 'refusal', subject: 'pod',
    summary: 'A container adds NET_RAW, or keeps it (its NET_RAW drop was removed after Weir\'s mutating webhook), on a pod whose interfaces Weir enforces: raw sockets send frames that get past tc egress policy.',
    template: 'container "{container}" {what} while Weir enforces interface(s) {interfaces}; raw sockets send frames that get past Weir\'s egress policy. Remove it (ping works without it), or annotate namespace "{namespace}" with weir.dev/allow-raw-sockets: "true"',
    fix: 'Remove NET_RAW from capabilities.add (the webhook drops it and sets net.ipv4.ping_group_range so ping still works), or let the namespace\'s pods keep raw sockets on purpose with weir.dev/allow-raw-sockets: "true".',
  },
  POD_NAD_WEIR_MISSING: {
    severity: 'refusal', subject: 'pod',
    summary: 'A NAD the pod uses is annotated weir.dev/chain: enabled but its chain has no weir plugin (the NAD webhook, which fails open, did not insert it), so the interface would run unenforced.',
    template: 'NetworkAttachmentDefinition {ref} is annotated weir.dev/chain: enabled but its chain has no {"type":"weir"}, so Weir would not enforce this interface; apply the NAD again so the webhook inserts it, or add it after the interface plugin',
    fix: 'Re-apply the NAD while the webhook runs (it inserts weir), or add {"type":"weir"} right after the interface plugin yourself.',
  },
  POD_INTENT_MISMATCH: {
    severity: 'refusal', subject: 'pod',
    summary: 'weir.dev/intent is missing or does not match what the pod\'s annotations say (something changed them after the mutating webhook).',
    template: '{detail}; expected {expected}. It is written by Weir\'s mutating webhook only: remove the value or make sure the mutating webhook runs last',
    fix: 'Do not set weir.dev/intent; check that no later mutating webhook edits the network annotations.',
  },
  W_POD_NAD_CONFIG_EMPTY: {
    severity: 'warning', subject: 'pod',
    summary: 'A referenced NAD has an empty spec.config; Multus reads a file Weir cannot see.',
    template: 'NAD {ref} has an empty spec.config; its chain was not checked',
    fix: 'Put the CNI config in spec.config so it can be checked.',
  },
  W_POD_NETWORKS_AS_JSON: {
    severity: 'warning', subject: 'pod',
    summary: 'Merging namespace default networks needed fields only the JSON form has, so the annotation was rewritten as JSON.',
    template: 'k8s.v1.cni.cncf.io/networks rewritten as JSON to merge the namespace defaults',
    fix: 'None needed; write the pod annotation in JSON form to avoid the rewrite.',
  },
  W_POD_NET_ADMIN_ALLOWED: {
    severity: 'warning', subject: 'pod',
    summary: 'NET_ADMIN/privileged on enforced interfaces is allowed by the namespace opt-out.',
    template: 'NET_ADMIN/privileged allowed on enforced interfaces by weir.dev/allow-net-admin',
    fix: 'None; remove the namespace annotation to enforce strictly.',
  },
  W_POD_NET_RAW_DROPPED: {
    severity: 'warning', subject: 'pod',
    summary: 'NET_RAW was dropped from every container of a pod with an enforced interface, and net.ipv4.ping_group_range set so ping still works.',
    template: 'NET_RAW dropped from every container: raw sockets get past Weir\'s egress policy (ping still works)',
    fix: 'None needed. To keep raw sockets on purpose, annotate the namespace weir.dev/allow-raw-sockets: "true".',
  },
  W_POD_RAW_SOCKETS_ALLOWED: {
    severity: 'warning', subject: 'pod',
    summary: 'The namespace allows raw sockets on enforced interfaces (weir.dev/allow-raw-sockets), so this pod\'s egress is not enforceable.',
    template: 'raw sockets allowed by weir.dev/allow-raw-sockets: this pod\'s egress is not enforceable',
    fix: 'None; remove the namespace annotation to have NET_RAW dropped.',
  },
  W_INTENT_REPLACED: {
    severity: 'warning', subject: 'pod',
    summary: 'A client-supplied weir.dev/intent was overwritten.',
    template: 'client-supplied weir.dev/intent replaced; only the webhook writes it',
    fix: 'Do not set weir.dev/intent.',
  },
  // ── NetworkAttachmentDefinitions ─────────────────────────────────────────────────────────────
  NAD_MALFORMED: {
    severity: 'refusal', subject: 'nad',
    summary: 'The NAD object does not have the shape the webhook needs (e.g. spec.config is not a string).',
    template: '{detail}',
    fix: 'Send a valid k8s.cni.cncf.io/v1 NetworkAttachmentDefinition.',
  },
  NAD_CONFIG_INVALID: {
    severity: 'refusal', subject: 'nad',
    summary: 'spec.config is not a CNI config: not JSON, not an object, empty plugins, or a plugin without "type".',
    template: '{detail}; spec.config must be one plugin object or a conflist with a non-empty "plugins" array',
    fix: 'Write spec.config as a JSON CNI config or conflist.',
  },
  NAD_CNI_VERSION_UNSUPPORTED: {
    severity: 'refusal', subject: 'nad',
    summary: 'cniVersion is not a version libcni supports.',
    template: '"{version}" is not a supported cniVersion; use one of {supported}',
    fix: 'Set cniVersion to a supported version, e.g. "0.3.1" or "1.0.0".',
  },
  NAD_INTERFACE_NOT_FIRST: {
    severity: 'refusal', subject: 'nad',
    summary: 'The chain does not start with the interface plugin.',
    template: `"{type}" cannot start the chain; the order is ${CHAIN_ORDER}`,
    fix: 'Put the interface plugin (macvlan, ipvlan, sriov, …) first; only ifacer may precede it.',
  },
  NAD_CHAIN_ORDER: {
    severity: 'refusal', subject: 'nad',
    summary: 'A plugin is out of order.',
    template: `"{type}" must come {where}; the order is ${CHAIN_ORDER}`,
    fix: 'Reorder the plugins.',
  },
  NAD_IPAM_MISSING: {
    severity: 'refusal', subject: 'nad',
    summary: 'The interface plugin of a chain that runs weir has no ipam with a type. Weir needs the pod\'s IPs (identities, policy, spoofing checks); outside a Weir chain an interface without IPAM is normal (DPDK SR-IOV, host-device, L2 bridges, tap) and passes.',
    template: 'the interface plugin "{type}" has no "ipam" with a "type", but this chain runs weir, which needs the pod\'s IPs to enforce policy; add one, e.g. "ipam": {"type": "spiderpool"}',
    fix: 'Add an ipam block to the interface plugin, or take weir out of the chain (remove {"type":"weir"} and the weir.dev/chain annotation).',
  },
  NAD_CNI_VERSION_BELOW_WEIR: {
    severity: 'refusal', subject: 'nad',
    summary: 'The chain runs (or, with weir.dev/chain, will run) the weir plugin, which needs cniVersion 0.3.1 or later; an older or missing cniVersion would fail every pod at sandbox creation.',
    template: 'is {version}, but this chain runs weir, which needs cniVersion {supported}; the pod would fail at sandbox creation. Set "cniVersion": "1.0.0"',
    fix: 'Set cniVersion to 0.3.1, 0.4.0, 1.0.0 or 1.1.0 (all plugins in the chain read the conflist\'s version).',
  },
  NAD_IPVLAN_L3S_WEIR: {
    severity: 'refusal', subject: 'nad',
    summary: 'ipvlan in l3s mode with weir in the chain: l3s traffic bypasses the slave\'s tc ingress hook, so Weir\'s ingress policy would never see it.',
    template: '"l3s" cannot be enforced by weir: in l3s mode traffic bypasses the ipvlan slave\'s tc ingress hook, where Weir\'s ingress policy runs; use "l2" or "l3"',
    fix: 'Use ipvlan mode l2 or l3, or take weir out of the chain.',
  },
  NAD_CHAIN_WEIR_MISSING: {
    severity: 'refusal', subject: 'nad',
    summary: 'The NAD is annotated weir.dev/chain: enabled but its chain has no weir plugin after mutation (the mutating NAD webhook did not run).',
    template: 'the NAD is annotated weir.dev/chain: enabled but the chain has no {"type":"weir"}; apply it again so the mutating webhook inserts it, or add it after the interface plugin',
    fix: 'Re-apply the NAD while the webhook runs, or add {"type":"weir"} yourself.',
  },
  NAD_MODE_INVALID: {
    severity: 'refusal', subject: 'nad',
    summary: 'macvlan/ipvlan mode is not one the plugin knows.',
    template: '{value} is not a {type} mode; use one of {modes}',
    fix: 'macvlan: bridge, private, vepa, passthru; ipvlan: l2, l3, l3s.',
  },
  NAD_POLICY_MULTIPLE: {
    severity: 'refusal', subject: 'nad',
    summary: 'More than one policy plugin (weir, cilium-cni) in one chain.',
    template: '"{type}" is a second policy plugin ("{first}" is at plugins[{firstIndex}]); keep exactly one of weir or cilium-cni',
    fix: 'Keep one policy plugin.',
  },
  NAD_COORDINATOR_MODE_INVALID: {
    severity: 'refusal', subject: 'nad',
    summary: 'coordinator mode is not one the coordinator CNI knows (catches "disabled", which the CRD allows but the CNI rejects).',
    template: '{value} is not a coordinator mode; use one of auto, underlay, overlay, disable{hint}',
    fix: 'Use auto, underlay, overlay or disable (not "disabled").',
  },
  NAD_BANDWIDTH_PLUGIN_NO_VETH: {
    severity: 'refusal', subject: 'nad',
    summary: 'The standard bandwidth plugin needs a host-side veth, which macvlan/ipvlan interfaces do not have.',
    template: 'the "bandwidth" plugin cannot shape a {iface} interface (it needs a host-side veth); use weir: remove it, add {"type":"weir"} after "{iface}" and set kubernetes.io/ingress-bandwidth / egress-bandwidth on the pod',
    fix: 'Replace the bandwidth plugin with {"type":"weir"} (or annotate the NAD weir.dev/chain: enabled).',
  },
  NAD_CILIUM_CHAINER_NAME: {
    severity: 'refusal', subject: 'nad',
    summary: 'cilium-cni is chained but the conflist name is not the chainer name, so cilium-chaining silently gives no policy or bandwidth.',
    template: 'is {name} but cilium-cni only chains a conflist named "spidernet-chainer" (legacy "terway-chainer"); set "name": "spidernet-chainer"',
    fix: 'Set the conflist name to spidernet-chainer (Spiderpool: annotation cni.spidernet.io/cniconfig-name).',
  },
  NAD_DUPLICATE_PLUGIN: {
    severity: 'refusal', subject: 'nad',
    summary: 'A plugin type appears twice in one chain.',
    template: '"{type}" appears twice (first at plugins[{firstIndex}]); remove one',
    fix: 'Keep one instance of each plugin.',
  },
  NAD_PLUGIN_NEAR_MISS: {
    severity: 'refusal', subject: 'nad',
    summary: 'A plugin type is a near miss of a known plugin (a typo).',
    template: '"{value}" is not a known CNI plugin; did you mean "{suggestion}"?',
    fix: 'Correct the type.',
  },
  NAD_IPAM_NEAR_MISS: {
    severity: 'refusal', subject: 'nad',
    summary: 'An ipam type is a near miss of a known IPAM plugin (a typo).',
    template: '"{value}" is not a known IPAM plugin; did you mean "{suggestion}"?',
    fix: 'Correct the ipam type.',
  },
  W_NAD_CONFIG_EMPTY: {
    severity: 'warning', subject: 'nad',
    summary: 'spec.config is empty: Multus reads a config file named after the NAD, which Weir cannot check.',
    template: 'spec.config is empty: Multus will read a file named after the NAD; Weir cannot check it',
    fix: 'Put the config in spec.config.',
  },
  W_NAD_PLUGIN_UNKNOWN: {
    severity: 'warning', subject: 'nad',
    summary: 'A plugin type Weir does not know; it is allowed but not checked.',
    template: '{path}: "{type}" is not a plugin Weir knows; not checked',
    fix: 'None, if the plugin is installed on every node.',
  },
  W_NAD_OUT_OF_SCOPE: {
    severity: 'warning', subject: 'nad',
    summary: 'A NAD outside Weir\'s scope (no weir plugin, no weir.dev/chain, namespace not opted in) breaks a rule; it is only warned about, never refused.',
    template: '{field}: {code} (a warning only: this NAD is outside Weir\'s scope)',
    fix: 'Fix it if the NAD is meant to work; pods in opted-in namespaces that use it are still refused.',
  },
  W_NAD_CNI_VERSION_MISSING: {
    severity: 'warning', subject: 'nad',
    summary: 'spec.config has no cniVersion.',
    template: 'spec.config has no cniVersion; set one, e.g. "0.3.1"',
    fix: 'Set cniVersion.',
  },
  W_NAD_LEGACY_CHAINER: {
    severity: 'warning', subject: 'nad',
    summary: 'The conflist uses the legacy chainer name terway-chainer.',
    template: 'name "terway-chainer" is legacy; current cilium-chaining registers "spidernet-chainer"',
    fix: 'Rename to spidernet-chainer when cilium-chaining is upgraded.',
  },
} as const satisfies Record<string, ReasonEntry>;

export type ReasonCode = keyof typeof REASONS;
export type ReasonParams = Readonly<Record<string, string | number>>;

export function reasonCodes(): ReasonCode[] {
  return Object.keys(REASONS) as ReasonCode[];
}

/** Fills `{param}` placeholders; a missing parameter stays visible as `{param}` (tests catch it). */
export function renderReason(code: ReasonCode, params: ReasonParams): string {
  const template: string = REASONS[code].template;
  return template.replace(/\{([A-Za-z]+)\}/g, (whole, key: string) => {
    const v = params[key];
    return v === undefined ? whole : String(v);
  });
}

/** The placeholder names a template uses. */
export function templateParams(code: ReasonCode): string[] {
  const template: string = REASONS[code].template;
  return [...template.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1] ?? '');
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** docs/reasons.md, generated. */
export function reasonsMarkdown(): string {
  const lines: string[] = [
    '# Weir admission reason codes',
    '',
    '<!-- Generated from common/src/reasons.ts by reasonsMarkdown(); common/src/reasons.test.ts keeps them equal. -->',
    '',
    'Every refusal and warning from Weir\'s admission webhook carries one of these stable codes. A refusal is',
    'shown as `<field path>: <message> [CODE]`; several refusals are reported together. Warnings stay under',
    '120 characters. `{name}` marks a value filled in from the object.',
    '',
  ];
  const sections: ReadonlyArray<[ReasonSubject, ReasonSeverity, string]> = [
    ['pod', 'refusal', 'Pods: refusals'],
    ['pod', 'warning', 'Pods: warnings'],
    ['pod', 'skip', 'Pods: passed untouched'],
    ['nad', 'refusal', 'NetworkAttachmentDefinitions: refusals'],
    ['nad', 'warning', 'NetworkAttachmentDefinitions: warnings'],
  ];
  for (const [subject, severity, title] of sections) {
    lines.push(`## ${title}`, '', '| code | meaning | message | fix |', '|---|---|---|---|');
    for (const code of reasonCodes()) {
      const e: ReasonEntry = REASONS[code];
      if (e.subject !== subject || e.severity !== severity) continue;
      lines.push(`| \`${code}\` | ${mdCell(e.summary)} | ${mdCell(e.template)} | ${mdCell(e.fix)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
