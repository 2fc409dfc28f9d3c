import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { structured, toYaml } from './output.js';

describe('-o yaml', () => {
  it('writes nested objects and lists the way kubectl does', () => {
    expect(toYaml({ kind: 'AgentStatusList', items: [{ node: 'n1', maps: { ipcache: 3 }, unsynced: [] }, { node: 'n2', error: 'x: "y"' }] })).toBe(
      'kind: "AgentStatusList"\nitems:\n  - node: "n1"\n    maps:\n      ipcache: 3\n    unsynced: []\n  - node: "n2"\n    error: "x: \\"y\\""\n',
    );
  });
  it('reads back as the same value for any JSON data', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      const normalised: unknown = JSON.parse(JSON.stringify(value));
      expect(parse(toYaml(normalised))).toEqual(normalised);
    }), { numRuns: 300 });
  });
  it('json is indented JSON; text and wide are left to the command', () => {
    expect(structured('json', { a: 1 })).toBe('{\n  "a": 1\n}\n');
    expect(structured('wide', { a: 1 })).toBeUndefined();
  });
});
