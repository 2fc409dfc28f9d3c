import { describe, expect, it } from 'vitest';
import { flagInt, parseArgs, podRef, UsageError } from './args.js';

describe('parseArgs', () => {
  const known = { nodes: 'value', verdict: 'value', help: 'switch' } as const;
  it('reads flags in both forms, positionals and the rest after --', () => {
    const a = parseArgs(['up', '--nodes', '3', '--verdict=dropped', '--help', '--', 'ping', '-c1'], known);
    expect(a.positionals).toEqual(['up']);
    expect(a.flags.get('nodes')).toBe('3');
    expect(a.flags.get('verdict')).toBe('dropped');
    expect(a.flags.get('help')).toBe(true);
    expect(a.rest).toEqual(['ping', '-c1']);
    expect(flagInt(a, 'nodes', 1, 8)).toBe(3);
  });
  it.each([
    [['--bogus'], 'unknown option --bogus'],
    [['--nodes'], 'option --nodes needs a value'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgs(argv, known)).toThrow(message);
  });
  it('range-checks numbers', () => {
    expect(() => flagInt(parseArgs(['--nodes', '0'], known), 'nodes', 1, 8)).toThrow(UsageError);
  });
  it('parses pod references', () => {
    expect(podRef('demo/client', 'pod')).toEqual({ namespace: 'demo', name: 'client' });
    expect(() => podRef('client', 'the pod')).toThrow('the pod must be <namespace>/<pod>');
  });
});
