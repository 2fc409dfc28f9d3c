import { describe, expect, it } from 'vitest';
import { intOption, KUBE_OPTIONS, outputFormat, parseCommandArgs, podRef, UsageError } from './args.js';

describe('parseCommandArgs (node:util parseArgs)', () => {
  const options = { ...KUBE_OPTIONS, nodes: { type: 'string' }, verdict: { type: 'string' } } as const;
  it('reads long and short forms, positionals and the rest after --', () => {
    const a = parseCommandArgs(['up', '--nodes', '3', '--verdict=dropped', '-n', 'shop', '-o', 'json', '--', 'ping', '-c1'], options);
    expect(a.positionals).toEqual(['up']);
    expect(a.values).toMatchObject({ nodes: '3', verdict: 'dropped', namespace: 'shop', output: 'json' });
    expect(a.rest).toEqual(['ping', '-c1']);
    expect(intOption(a.values.nodes, 'nodes', 1, 8)).toBe(3);
  });
  it.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['--nodes'], "Option '--nodes <value>' argument missing"],
  ])('refuses %j as a usage error', (argv, message) => {
    expect(() => parseCommandArgs(argv, options)).toThrow(UsageError);
    expect(() => parseCommandArgs(argv, options)).toThrow(message);
  });
  it('range-checks numbers and output formats', () => {
    expect(() => intOption('0', 'nodes', 1, 8)).toThrow('--nodes must be a whole number from 1 to 8');
    expect(() => intOption('2.5', 'nodes', 1, 8)).toThrow(UsageError);
    expect(outputFormat(undefined)).toBe('text');
    expect(outputFormat('yaml')).toBe('yaml');
    expect(() => outputFormat('table')).toThrow('-o/--output must be json, yaml or wide');
  });
  it('parses pod references, with -n for a bare name', () => {
    expect(podRef('demo/client', 'pod')).toEqual({ namespace: 'demo', name: 'client' });
    expect(podRef('client', 'pod', 'shop')).toEqual({ namespace: 'shop', name: 'client' });
    expect(() => podRef('client', 'the pod')).toThrow('the pod must be <namespace>/<pod>, got "client"');
    expect(() => podRef('a/b/c', 'the pod', 'x')).toThrow('or <pod> (in -n)');
  });
});
