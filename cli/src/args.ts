/**
 * Argument parsing for the `weir` CLI: node:util parseArgs (strict: unknown options and missing
 * values are usage errors), the kubectl-style options every cluster command shares, and the value
 * checks, each failing with a message that says what to type instead.
 */
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** kubectl's names and short forms, for every command that talks to a cluster. */
export const KUBE_OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export interface ParsedArgs<V> {
  values: V;
  positionals: string[];
  /** Everything after a literal `--` (a command to run). */
  rest: string[];
}

/** parseArgs with strict options; its errors (unknown option, missing value) become UsageErrors. */
export function parseCommandArgs<O extends OptionSpec>(argv: readonly string[], options: O) {
  const dashDash = argv.indexOf('--');
  const own = dashDash < 0 ? [...argv] : argv.slice(0, dashDash);
  const rest = dashDash < 0 ? [] : argv.slice(dashDash + 1);
  try {
    const parsed = nodeParseArgs({ args: own, options, strict: true, allowPositionals: true });
    return { values: parsed.values, positionals: parsed.positionals, rest };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error);
    throw new UsageError(`${message.replace(/\. To specify a positional argument.*$/, '')}; see --help`);
  }
}

export type OutputFormat = 'text' | 'wide' | 'json' | 'yaml';

export function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return 'text';
  if (value === 'wide' || value === 'json' || value === 'yaml') return value;
  throw new UsageError(`-o/--output must be json, yaml or wide, got ${JSON.stringify(value)}`);
}

export function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

const NAME = '[a-z0-9]([-a-z0-9.]*[a-z0-9])?';
const NAMESPACE = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';

/**
 * "ns/name", or "name" in `namespace` (kubectl's -n, else the kubeconfig context's namespace);
 * anything else is a usage error naming the expected form.
 */
export function podRef(text: string | undefined, what: string, namespace?: string): { namespace: string; name: string } {
  const value = text ?? '';
  const qualified = new RegExp(`^(${NAMESPACE})/(${NAME})$`).exec(value);
  if (qualified?.[1] !== undefined && qualified[3] !== undefined) return { namespace: qualified[1], name: qualified[3] };
  if (namespace !== undefined && new RegExp(`^${NAME}$`).test(value)) return { namespace, name: value };
  throw new UsageError(`${what} must be <namespace>/<pod>${namespace === undefined ? '' : ' or <pod> (in -n)'}, got ${JSON.stringify(value)}`);
}
