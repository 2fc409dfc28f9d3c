/** The parts of a v1 Pod the decisions read, parsed from `unknown` with field paths. */
import { refusal } from './findings.js';
import { stringMap } from './nad.js';
import type { Refusal } from './types.js';
import { isRecord } from '../../../common/src/records.js';

export interface ContainerSecurity {
  /** e.g. `spec.containers[0]` */
  path: string;
  name: string;
  privileged: boolean;
  /** True when capabilities.add holds NET_ADMIN (any case, with or without CAP_) or ALL. */
  netAdmin: boolean;
}

export interface PodObject {
  /** undefined when the pod has no annotations map (the patch must then create it). */
  annotations: Record<string, string> | undefined;
  hostNetwork: boolean;
  containers: ContainerSecurity[];
}


function grantsNetAdmin(cap: string): boolean {
  const c = cap.toUpperCase();
  return c === 'NET_ADMIN' || c === 'CAP_NET_ADMIN' || c === 'ALL';
}

/** Parses leniently enough to never throw; every malformed field becomes a POD_MALFORMED refusal. */
export function parsePodObject(pod: unknown): { pod: PodObject; problems: Refusal[] } {
  const problems: Refusal[] = [];
  const empty: PodObject = { annotations: undefined, hostNetwork: false, containers: [] };
  if (!isRecord(pod)) return { pod: empty, problems: [refusal('POD_MALFORMED', '(object)', { detail: 'must be a JSON object' })] };
  const meta = pod['metadata'];
  let annotations: Record<string, string> | undefined;
  if (meta !== undefined && !isRecord(meta)) problems.push(refusal('POD_MALFORMED', 'metadata', { detail: 'must be an object' }));
  if (isRecord(meta) && meta['annotations'] !== undefined && meta['annotations'] !== null) {
    annotations = stringMap(meta['annotations'], 'metadata.annotations', problems, 'POD_MALFORMED');
  }
  const spec = pod['spec'];
  let hostNetwork = false;
  const containers: ContainerSecurity[] = [];
  if (spec !== undefined && !isRecord(spec)) problems.push(refusal('POD_MALFORMED', 'spec', { detail: 'must be an object' }));
  if (isRecord(spec)) {
    hostNetwork = spec['hostNetwork'] === true;
    for (const listKey of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
      const list = spec[listKey];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) {
        problems.push(refusal('POD_MALFORMED', `spec.${listKey}`, { detail: 'must be an array' }));
        continue;
      }
      list.forEach((c: unknown, i) => {
        const path = `spec.${listKey}[${i}]`;
        if (!isRecord(c)) {
          problems.push(refusal('POD_MALFORMED', path, { detail: 'must be an object' }));
          return;
        }
        const name = typeof c['name'] === 'string' ? c['name'] : `#${i}`;
        const sc = c['securityContext'];
        let privileged = false;
        let netAdmin = false;
        if (isRecord(sc)) {
          privileged = sc['privileged'] === true;
          const caps = sc['capabilities'];
          const add = isRecord(caps) ? caps['add'] : undefined;
          if (Array.isArray(add)) netAdmin = add.some((a: unknown) => typeof a === 'string' && grantsNetAdmin(a));
        }
        containers.push({ path, name, privileged, netAdmin });
      });
    }
  }
  return { pod: { annotations, hostNetwork, containers }, problems };
}
