/** The parts of a v1 Pod the decisions read, parsed from `unknown` with field paths. */
import { refusal } from './findings.js';
import { stringMap } from './nad.js';
import type { Refusal } from './types.js';
import { isRecord } from '../../../common/src/records.js';

export const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;
export type ContainerList = (typeof CONTAINER_LISTS)[number];

export interface ContainerSecurity {
  /** e.g. `spec.containers[0]` */
  path: string;
  list: ContainerList;
  index: number;
  name: string;
  privileged: boolean;
  /** securityContext.capabilities.add, the string entries as written. */
  add: string[];
  /** securityContext.capabilities.drop as written (kept whole: a patch replaces the array). */
  drop: unknown[] | undefined;
  hasSecurityContext: boolean;
  hasCapabilities: boolean;
}

export interface PodObject {
  /** undefined when the pod has no annotations map (the patch must then create it). */
  annotations: Record<string, string> | undefined;
  hostNetwork: boolean;
  containers: ContainerSecurity[];
  /** spec.securityContext exists (decides where a sysctl patch starts). */
  hasPodSecurityContext: boolean;
  /** spec.securityContext.sysctls as written, undefined when absent. */
  sysctls: unknown[] | undefined;
}

function containerSecurity(c: Record<string, unknown>, list: ContainerList, index: number): ContainerSecurity {
  const sc = c['securityContext'];
  const caps = isRecord(sc) ? sc['capabilities'] : undefined;
  const add = isRecord(caps) ? caps['add'] : undefined;
  const drop = isRecord(caps) ? caps['drop'] : undefined;
  return {
    path: `spec.${list}[${index}]`,
    list,
    index,
    name: typeof c['name'] === 'string' ? c['name'] : `#${index}`,
    privileged: isRecord(sc) && sc['privileged'] === true,
    add: Array.isArray(add) ? add.filter((a: unknown): a is string => typeof a === 'string') : [],
    drop: Array.isArray(drop) ? [...(drop as unknown[])] : undefined,
    hasSecurityContext: isRecord(sc),
    hasCapabilities: isRecord(caps),
  };
}

/** Parses leniently enough to never throw; every malformed field becomes a POD_MALFORMED refusal. */
export function parsePodObject(pod: unknown): { pod: PodObject; problems: Refusal[] } {
  const problems: Refusal[] = [];
  const empty: PodObject = { annotations: undefined, hostNetwork: false, containers: [], hasPodSecurityContext: false, sysctls: undefined };
  if (!isRecord(pod)) return { pod: empty, problems: [refusal('POD_MALFORMED', '(object)', { detail: 'must be a JSON object' })] };
  const meta = pod['metadata'];
  let annotations: Record<string, string> | undefined;
  if (meta !== undefined && !isRecord(meta)) problems.push(refusal('POD_MALFORMED', 'metadata', { detail: 'must be an object' }));
  if (isRecord(meta) && meta['annotations'] !== undefined && meta['annotations'] !== null) {
    annotations = stringMap(meta['annotations'], 'metadata.annotations', problems, 'POD_MALFORMED');
  }
  const spec = pod['spec'];
  const out: PodObject = { ...empty, annotations };
  if (spec !== undefined && !isRecord(spec)) problems.push(refusal('POD_MALFORMED', 'spec', { detail: 'must be an object' }));
  if (isRecord(spec)) {
    out.hostNetwork = spec['hostNetwork'] === true;
    const psc = spec['securityContext'];
    out.hasPodSecurityContext = isRecord(psc);
    const sysctls = isRecord(psc) ? psc['sysctls'] : undefined;
    out.sysctls = Array.isArray(sysctls) ? [...(sysctls as unknown[])] : undefined;
    for (const listKey of CONTAINER_LISTS) {
      const list = spec[listKey];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) {
        problems.push(refusal('POD_MALFORMED', `spec.${listKey}`, { detail: 'must be an array' }));
        continue;
      }
      list.forEach((c: unknown, i) => {
        if (!isRecord(c)) {
          problems.push(refusal('POD_MALFORMED', `spec.${listKey}[${i}]`, { detail: 'must be an object' }));
          return;
        }
        out.containers.push(containerSecurity(c, listKey, i));
      });
    }
  }
  return { pod: out, problems };
}
