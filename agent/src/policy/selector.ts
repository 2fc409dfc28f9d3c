/** Label selector matching, and a canonical key so equal selectors share one cached result. */
import type { LabelSelector } from './model.js';

export function matchesSelector(sel: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) {
    if (labels[k] !== v) return false;
  }
  for (const e of sel.matchExpressions) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || value === undefined || !e.values.includes(value)) return false;
        break;
      case 'NotIn':
        if (has && value !== undefined && e.values.includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default: {
        const never: never = e.operator;
        throw new Error(`unknown operator ${String(never)}`);
      }
    }
  }
  return true;
}

/** Order-independent text form: equal selectors produce equal keys. */
export function selectorKey(sel: LabelSelector): string {
  const labels = Object.entries(sel.matchLabels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  const exprs = sel.matchExpressions
    .map((e) => `${e.key} ${e.operator} (${[...e.values].sort().join(',')})`)
    .sort();
  return `{${labels.join(',')}|${exprs.join(',')}}`;
}
