import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  SUPPORTED_CNI_VERSIONS,
  WEIR_PLUGIN_CNI_VERSIONS,
  configRunsWeir,
  editDistance,
  nearMiss,
  knownPluginTypes,
  parseChain,
} from './cni-chain.js';

describe('parseChain', () => {
  it('empty → empty', () => {
    expect(parseChain('')).toEqual({ kind: 'empty' });
    expect(parseChain('  \n')).toEqual({ kind: 'empty' });
  });
  it('single plugin', () => {
    const r = parseChain('{"cniVersion":"0.3.1","type":"macvlan","master":"eth0"}');
    expect(r.kind === 'chain' && [r.chain.form, r.chain.plugins.map((p) => [p.type, p.kind, p.path])]).toEqual([
      'single',
      [['macvlan', 'interface', 'spec.config']],
    ]);
  });
  it('conflist with kinds and paths', () => {
    const r = parseChain('{"name":"n","plugins":[{"type":"ifacer"},{"type":"ipvlan"},{"type":"weir"},{"type":"coordinator"},{"type":"x"}]}');
    expect(r.kind === 'chain' && r.chain.plugins.map((p) => `${p.path}:${p.kind}`)).toEqual([
      'spec.config.plugins[0]:prelude',
      'spec.config.plugins[1]:interface',
      'spec.config.plugins[2]:policy',
      'spec.config.plugins[3]:coordinator',
      'spec.config.plugins[4]:unknown',
    ]);
  });
  it.each([
    ['{', 'spec.config'],
    ['[]', 'spec.config'],
    ['{"plugins":[]}', 'spec.config.plugins'],
    ['{"plugins":{}}', 'spec.config.plugins'],
    ['{"plugins":[{"type":"macvlan"},{"master":"x"}]}', 'spec.config.plugins[1].type'],
    ['{"plugins":[5]}', 'spec.config.plugins[0]'],
    ['{"name":"x"}', 'spec.config'],
    ['{"type":7}', 'spec.config.type'],
    ['{"type":"macvlan","cniVersion":1}', 'spec.config.cniVersion'],
  ])('%j is invalid at %s', (config, path) => {
    const r = parseChain(config);
    expect(r.kind).toBe('invalid');
    if (r.kind === 'invalid') expect(r.issues.map((i) => i.path)).toContain(path);
  });
  it('configRunsWeir', () => {
    expect(configRunsWeir('{"plugins":[{"type":"macvlan"},{"type":"weir"}]}')).toBe(true);
    expect(configRunsWeir('{"type":"macvlan"}')).toBe(false);
    expect(configRunsWeir('nope')).toBe(false);
  });
});

describe('near misses', () => {
  it('edit distance counts a transposition as one edit', () => {
    expect(editDistance('coordinattor', 'coordinator')).toBe(1);
    expect(editDistance('mcavlan', 'macvlan')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
  it.each([
    ['coordinattor', 'coordinator'],
    ['Macvlan', 'macvlan'],
    ['ipvlna', 'ipvlan'],
    ['cilium_cni', 'cilium-cni'],
    ['wier', 'weir'],
    ['bandwith', 'bandwidth'],
    ['my-custom-plugin', undefined],
    ['abc', undefined],
    ['macvlan', undefined],
  ])('%s → %s', (value, want) => {
    expect(nearMiss(value, knownPluginTypes())).toBe(want);
  });
});

describe('the cniVersions the weir plugin accepts', () => {
  it('WEIR_PLUGIN_CNI_VERSIONS is the supported_versions array of native/cni/main.c', () => {
    const source = readFileSync(fileURLToPath(new URL('../../native/cni/main.c', import.meta.url)), 'utf8');
    const m = /supported_versions\[\]\s*=\s*\{([^}]*)\}/.exec(source);
    expect(m, 'supported_versions not found in native/cni/main.c').not.toBeNull();
    const inC = [...(m?.[1] ?? '').matchAll(/"([0-9.]+)"/g)].map((x) => x[1]);
    expect(inC).toEqual([...WEIR_PLUGIN_CNI_VERSIONS]);
    // Every version the plugin accepts is one libcni accepts.
    for (const v of WEIR_PLUGIN_CNI_VERSIONS) expect(SUPPORTED_CNI_VERSIONS).toContain(v);
  });
});
