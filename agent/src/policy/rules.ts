/**
 * The node's rule table: every rule that can decide a flow gets a stable index (`ruleId`), which
 * the datapath reports in flow events. Ids 0 and 1 are reserved for the implicit default deny of an
 * isolated endpoint (ingress, egress), so the datapath can name it without an entry.
 */
import type { Direction, RuleOrigin } from '../datapath/desired.js';

export const DEFAULT_DENY_INGRESS_RULE = 0;
export const DEFAULT_DENY_EGRESS_RULE = 1;

export const defaultDenyRule = (d: Direction): number =>
  d === 'ingress' ? DEFAULT_DENY_INGRESS_RULE : DEFAULT_DENY_EGRESS_RULE;

export class RuleTable {
  private readonly byKey = new Map<string, number>();
  readonly rules: RuleOrigin[] = [];

  constructor() {
    this.intern({ policy: 'default deny', kind: 'DefaultDeny', direction: 'ingress' });
    this.intern({ policy: 'default deny', kind: 'DefaultDeny', direction: 'egress' });
  }

  /** Returns the id of an equal origin if one exists, else appends it. Ids never change. */
  intern(o: RuleOrigin): number {
    // An audit policy's rules are other rules than the same policy's once it is enforced.
    const key = `${o.kind}|${o.policy}|${o.direction}|${o.index ?? ''}|${o.audit === true ? 'audit' : ''}`;
    const cur = this.byKey.get(key);
    if (cur !== undefined) return cur;
    const id = this.rules.length;
    this.rules.push(o);
    this.byKey.set(key, id);
    return id;
  }
}
