/**
 * A small, strict argument parser for the `weir` CLI: known flags only, values typed by the
 * caller, and usage errors that say what to type instead.
 */
export class UsageError extends Error {}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
  /** Everything after a literal `--`. */
  rest: string[];
}

export function parseArgs(argv: readonly string[], known: Record<string, 'value' | 'switch'>): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const kind = known[name];
      if (kind === undefined) throw new UsageError(`unknown option --${name}; see --help`);
      if (kind === 'switch') {
        flags.set(name, true);
        continue;
      }
      const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '') throw new UsageError(`option --${name} needs a value`);
      flags.set(name, value);
      continue;
    }
    positionals.push(arg);
  }
  return { positionals, flags, rest };
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function flagInt(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = flagString(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

/** "ns/name" → parts; anything else is a usage error naming the expected form. */
export function podRef(text: string | undefined, what: string): { namespace: string; name: string } {
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(text ?? '');
  if (!match || match[1] === undefined || match[3] === undefined) throw new UsageError(`${what} must be <namespace>/<pod>, got ${JSON.stringify(text ?? '')}`);
  return { namespace: match[1], name: match[3] };
}
