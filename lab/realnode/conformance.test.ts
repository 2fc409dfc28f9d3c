import { describe, expect, it } from 'vitest';
import { END_MARKER, START_MARKER, parseGinkgoReport, renderResults, spliceResults } from './conformance.js';

const spec = (leaf: string, state: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ContainerHierarchyTexts: ['[sig-network] Netpol', 'NetworkPolicy between server and client'],
  LeafNodeType: 'It',
  LeafNodeText: leaf,
  State: state,
  RunTime: 31_400_000_000,
  ...extra,
});

const report = [
  {
    StartTime: '2026-11-29T09:05:00Z',
    RunTime: 125_000_000_000,
    SpecReports: [
      { LeafNodeType: 'SynchronizedBeforeSuite', State: 'passed' },
      spec('should support a default-deny-ingress policy [Feature:NetworkPolicy]', 'passed'),
      spec('should enforce updated policy [Feature:NetworkPolicy]', 'failed', { Failure: { Message: 'Expected 81 | blocked\nmore detail' } }),
      spec('should enforce policy based on Ports', 'timedout'),
    ],
  },
];

describe('parseGinkgoReport', () => {
  it('keeps only It specs, sorted by name, with their state, seconds and failure', () => {
    const run = parseGinkgoReport(report);
    expect(run.specs.map((s) => [s.state, s.rawState, s.seconds])).toEqual([
      ['other', 'timedout', 31.4],
      ['failed', 'failed', 31.4],
      ['passed', 'passed', 31.4],
    ]);
    expect(run.specs[1]?.failure).toContain('Expected 81');
    expect(run.seconds).toBe(125);
  });

  it.each([
    [{}, 'expected a JSON array'],
    [[{ SpecReports: 'x' }], 'SpecReports: expected an array'],
    [[{ SpecReports: [{ LeafNodeType: 'It', LeafNodeText: 'x' }] }], 'SpecReports[0].State: expected a string'],
  ])('refuses %j naming the field', (input, message) => {
    expect(() => parseGinkgoReport(input)).toThrow(message);
  });
});

describe('renderResults and spliceResults', () => {
  const block = renderResults(parseGinkgoReport(report), { kernel: '6.18' }, 'make realnode-netpol');

  it('counts, names each spec without the common prefix, escapes pipes and keeps one failure line', () => {
    expect(block).toContain('**1 passed, 1 failed, 0 skipped, 1 other** of 3 specs.');
    expect(block).toContain('| NetworkPolicy between server and client should support a default-deny-ingress policy | passed | 31.4 |  |');
    expect(block).toContain('| failed | 31.4 | Expected 81 \\| blocked |');
    expect(block).not.toContain('more detail');
    expect(block).toContain('| timedout |');
    expect(block).toContain('`make realnode-netpol`');
  });

  it('replaces only the generated block and appends one when there is none', () => {
    const doc = `# C\n\nintro\n\n${START_MARKER}\nold\n${END_MARKER}\n\n## Analysis\nkept\n`;
    const next = spliceResults(doc, block);
    expect(next).not.toContain('\nold\n');
    expect(next.startsWith('# C\n\nintro\n\n')).toBe(true);
    expect(next.endsWith('## Analysis\nkept\n')).toBe(true);
    expect(spliceResults('# C\n', block)).toBe(`# C\n\n${block}\n`);
  });
});
