/**
 * Namespace audit mode (issue 17): `weir.dev/enforcement: audit` on a namespace puts its endpoints
 * in audit mode. The compiler does not know about it; the agent marks each desired endpoint of an
 * audit namespace (DesiredEndpoint.audit), and the driver sets WEIR_EP_AUDIT in its config.
 * A value that is neither "enforce" nor "audit" enforces, with a warning naming the field.
 */
import { ENFORCEMENT_AUDIT, ENFORCEMENT_ENFORCE, NS_ENFORCEMENT, annotationField } from '../../../common/src/annotations.js';
import { annotationsOf, metaOf } from '../../../common/src/records.js';
import type { DesiredEndpoint } from '../datapath/desired.js';

export type EnforcementMode = 'enforce' | 'audit';

export interface ParsedEnforcement {
  mode: EnforcementMode;
  /** Set when the annotation has a value that does not parse (the namespace is enforced). */
  warning?: string;
}

/** The enforcement mode a namespace object asks for. */
export function parseEnforcement(namespace: unknown): ParsedEnforcement {
  const value = annotationsOf(namespace)[NS_ENFORCEMENT];
  if (value === undefined || value === ENFORCEMENT_ENFORCE) return { mode: 'enforce' };
  if (value === ENFORCEMENT_AUDIT) return { mode: 'audit' };
  return {
    mode: 'enforce',
    warning: `namespace ${metaOf(namespace).name}: ${annotationField(NS_ENFORCEMENT)} is ${JSON.stringify(value)}; ` +
      `use ${ENFORCEMENT_ENFORCE}|${ENFORCEMENT_AUDIT}. The namespace is enforced until it is fixed`,
  };
}

/** The namespaces in audit mode, as the watched Namespace objects say. */
export class NamespaceEnforcement {
  private readonly audited = new Set<string>();
  /** Last warning per namespace, so a resync of an unchanged object does not repeat it. */
  private readonly warned = new Map<string, string>();

  /** Records a namespace object; returns a warning to log when its annotation does not parse (once per value). */
  upsert(namespace: unknown): string | undefined {
    const name = metaOf(namespace).name;
    const parsed = parseEnforcement(namespace);
    if (parsed.mode === 'audit') this.audited.add(name);
    else this.audited.delete(name);
    if (parsed.warning === undefined) {
      this.warned.delete(name);
      return undefined;
    }
    if (this.warned.get(name) === parsed.warning) return undefined;
    this.warned.set(name, parsed.warning);
    return parsed.warning;
  }

  remove(name: string): void {
    this.audited.delete(name);
    this.warned.delete(name);
  }

  mode(namespace: string): EnforcementMode {
    return this.audited.has(namespace) ? 'audit' : 'enforce';
  }

  /** The compiler's `desired` (never marked) with its namespace's mode: `audit: true` only in audit mode. */
  apply(desired: DesiredEndpoint): DesiredEndpoint {
    return this.audited.has(desired.namespace) ? { ...desired, audit: true } : desired;
  }
}
