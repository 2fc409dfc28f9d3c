/**
 * Field readers shared by the policy parsers (np-parse.ts, anp-parse.ts, pod-parse.ts, cnp.ts,
 * service-model.ts): selectors, protocols, CIDRs, object metadata and the annotations every kind reads.
 */
import { ENFORCEMENT_AUDIT, ENFORCEMENT_ENFORCE, MULTUS_POLICY_FOR as POLICY_FOR_ANNOTATION, NS_ENFORCEMENT } from '../../../common/src/annotations.js';
import { parseCidr, type Cidr } from '../../../common/src/ip.js';
import type { LabelExpression, LabelSelector, ProtocolName } from './model.js';
import type { Reader } from './read.js';

export function readSelector(r: Reader, v: unknown, path: string): LabelSelector {
  const o = r.record(v, path) ?? {};
  const matchLabels = r.stringMap(o['matchLabels'], `${path}.matchLabels`);
  const matchExpressions: LabelExpression[] = [];
  (r.array(o['matchExpressions'], `${path}.matchExpressions`) ?? []).forEach((e, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const eo = r.requiredRecord(e, p);
    const key = r.requiredString(eo['key'], `${p}.key`);
    const op = r.requiredString(eo['operator'], `${p}.operator`);
    const values = (r.array(eo['values'], `${p}.values`) ?? []).map((x, j) => r.string(x, `${p}.values[${j}]`) ?? '');
    switch (op) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) r.fail(`${p}.values`, `must be non-empty for ${op}`);
        matchExpressions.push({ key, operator: op, values });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length !== 0) r.fail(`${p}.values`, `must be empty for ${op}`);
        matchExpressions.push({ key, operator: op, values: [] });
        break;
      default:
        if (op !== '') r.fail(`${p}.operator`, 'must be one of In, NotIn, Exists, DoesNotExist');
    }
  });
  return { matchLabels, matchExpressions };
}

export function readProtocol(r: Reader, v: unknown, path: string, fallback: ProtocolName | undefined): ProtocolName | undefined {
  const s = r.string(v, path);
  if (s === undefined) return fallback;
  if (s === 'TCP' || s === 'UDP' || s === 'SCTP') return s;
  r.fail(path, 'must be TCP, UDP or SCTP');
  return fallback;
}

export function readCidr(r: Reader, v: unknown, path: string): Cidr | undefined {
  const s = r.requiredString(v, path);
  if (s === '') return undefined;
  const c = parseCidr(s);
  if (c === undefined) r.fail(path, `"${s}" is not a CIDR`);
  return c;
}

export function readMeta(r: Reader, obj: Record<string, unknown>, namespaced: boolean): {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  const m = r.requiredRecord(obj['metadata'], 'metadata');
  return {
    namespace: namespaced ? r.requiredString(m['namespace'], 'metadata.namespace') : '',
    name: r.requiredString(m['name'], 'metadata.name'),
    labels: r.stringMap(m['labels'], 'metadata.labels'),
    annotations: r.stringMap(m['annotations'], 'metadata.annotations'),
  };
}

/**
 * `weir.dev/enforcement` on a policy object (every kind): "audit" makes it an audit policy, compiled
 * and evaluated for each new flow but never enforced (issue 17); "enforce" or absence enforces. Any
 * other value is a refusal of the whole object (its intake falls back as for any unreadable policy).
 */
export function readPolicyEnforcement(r: Reader, annotations: Record<string, string>): { audit?: true } {
  const v = annotations[NS_ENFORCEMENT];
  if (v === undefined || v === ENFORCEMENT_ENFORCE) return {};
  if (v === ENFORCEMENT_AUDIT) return { audit: true };
  r.fail(`metadata.annotations["${NS_ENFORCEMENT}"]`, `${JSON.stringify(v)} must be ${ENFORCEMENT_ENFORCE} or ${ENFORCEMENT_AUDIT}`);
  return {};
}

/**
 * The NADs of a `k8s.v1.cni.cncf.io/policy-for` annotation: comma-separated `[namespace/]name`;
 * a bare name is in `defaultNamespace`, and needs one (cluster-scoped objects have none).
 */
export function readPolicyFor(r: Reader, value: string, defaultNamespace: string | undefined): { namespace: string; name: string }[] {
  const out: { namespace: string; name: string }[] = [];
  const path = `metadata.annotations["${POLICY_FOR_ANNOTATION}"]`;
  for (const part of value.split(',')) {
    const s = part.trim();
    if (s === '') continue;
    const bits = s.split('/');
    if (bits.length === 1 && bits[0] && defaultNamespace !== undefined) out.push({ namespace: defaultNamespace, name: bits[0] });
    else if (bits.length === 2 && bits[0] && bits[1]) out.push({ namespace: bits[0], name: bits[1] });
    else r.fail(path, `"${s}" is not ${defaultNamespace === undefined ? 'namespace/name' : '[namespace/]name'}`);
  }
  return out;
}
