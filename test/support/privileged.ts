import { describe } from 'vitest';

/**
 * Suites that need root (network namespaces, BPF, tc) or the real control plane use these.
 * Outside CI they skip loudly with the reason; under CI=true a missing requirement is a failure,
 * never a skip.
 */
export const inCI = process.env.CI === 'true';
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Declares a suite: `describe` when the requirement holds, `describe.skip` (after saying why) otherwise. */
export type SuiteDeclaration = (name: string, body: () => void) => void;

export function describeIf(requirementMet: boolean, reason: string): SuiteDeclaration {
  if (requirementMet) return (name, body) => describe(name, body);
  if (inCI) {
    throw new Error(`CI=true but this suite cannot run: ${reason}`);
  }
  process.stderr.write(`\n*** SKIPPING privileged suite: ${reason} ***\n\n`);
  return (name, body) => describe.skip(name, body);
}

export const describePrivileged = describeIf(isRoot, 'needs root (network namespaces, BPF, tc); run the tests as root');
