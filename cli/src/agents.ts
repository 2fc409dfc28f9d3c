/**
 * Finding the agents and reaching their loopback API the kubectl way: the agent pods are listed
 * through the API server (by label), and each one's API port is reached through pods/portforward
 * with the user's own kubeconfig and RBAC (what `kubectl port-forward` does). No agent port is open
 * on the network for this, and nobody without `create pods/portforward` in Weir's namespace gets in.
 */
import { CoreV1Api, PortForward, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { DEFAULT_API_PORT } from '../../agent/src/api.js';
import { apiMessage, apiStatus } from '../../common/src/kube/api-errors.js';
import type { Cluster } from './kube.js';
import { CommandError } from './errors.js';

/** The chart's agent pods (charts/weir/templates/_helpers.tpl, weir.agent.selectorLabels). */
export const DEFAULT_AGENT_SELECTOR = 'app.kubernetes.io/name=weir,app.kubernetes.io/component=agent';

export interface AgentTarget {
  /** The node the agent runs on. */
  node: string;
  /** "ns/pod", or the URL of a lab agent. */
  source: string;
  /** Why it cannot be reached, known before trying (pod not running). */
  problem?: string;
  /** A base URL for the agent's API, valid until close(). */
  open(): Promise<AgentConnection>;
}

export interface AgentConnection {
  baseUrl: string;
  /** The reason the last forwarded connection failed, if one did (RBAC, agent not listening). */
  lastError(): string | undefined;
  close(): Promise<void>;
}

/** Errors, and the WebSocket ErrorEvent client-node rejects with (its message is the HTTP answer). */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && 'message' in e && typeof e.message === 'string') return e.message;
  return String(e);
}

function apiPortOf(pod: V1Pod): number {
  for (const c of pod.spec?.containers ?? []) {
    const port = c.ports?.find((p) => p.name === 'api')?.containerPort;
    if (port !== undefined) return port;
  }
  return DEFAULT_API_PORT;
}

/**
 * The part of client-node's port-forward WebSocket used here, written out because its declared type
 * (isomorphic-ws) does not resolve without @types/ws, which is not a dependency.
 */
interface ForwardSocket {
  on(event: 'close', listener: () => void): unknown;
  close(): void;
}

/** A local listener on 127.0.0.1 whose every connection is one port-forward stream to the pod. */
export async function portForward(kc: KubeConfig, namespace: string, pod: string, port: number): Promise<AgentConnection> {
  const forwarder = new PortForward(kc, true);
  let lastError: string | undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const errors = new PassThrough();
    errors.on('data', (chunk: Buffer) => { lastError = chunk.toString('utf8').trim() || lastError; });
    forwarder.portForward(namespace, pod, [port], socket, errors, socket).then(
      (ws: ForwardSocket | (() => unknown)) => {
        if (typeof ws === 'function') return; // the retrying variant; not used (retryCount 0)
        ws.on('close', () => socket.end());
        socket.once('close', () => ws.close());
      },
      (error: unknown) => {
        const message = errorText(error);
        lastError = /\b403\b/.test(message)
          ? `pods/portforward on ${namespace}/${pod} is forbidden for you (HTTP 403): your RBAC needs "get" and "create" on pods/portforward in ${namespace} (as for kubectl port-forward)`
          : `pods/portforward on ${namespace}/${pod} failed: ${message}`;
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new CommandError('could not open a local port for the port-forward');
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    lastError: () => lastError,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Every agent: the lab's processes, or the agent pods the API server lists (in `namespace` only, if given). */
export async function findAgents(cluster: Cluster, selector: string, namespace?: string): Promise<AgentTarget[]> {
  if (cluster.labAgentUrls !== undefined) {
    return cluster.labAgentUrls.map((url, i) => ({
      node: `lab agent ${i + 1}`,
      source: url,
      open: () => Promise.resolve({ baseUrl: url, lastError: () => undefined, close: () => Promise.resolve() }),
    }));
  }
  let pods: V1Pod[];
  try {
    const core = cluster.kc.makeApiClient(CoreV1Api);
    pods = (namespace === undefined
      ? await core.listPodForAllNamespaces({ labelSelector: selector })
      : await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
  } catch (error) {
    const status = apiStatus(error);
    const hint = status === 403 ? ` (finding the agents needs "list pods" ${namespace === undefined ? 'cluster-wide' : `in ${namespace}`})` : '';
    throw new CommandError(`cannot list the agent pods (${selector}): ${apiMessage(error) ?? errorText(error)}${hint}`);
  }
  if (pods.length === 0) throw new CommandError(`no agent pods match ${selector}: is Weir installed (helm install weir charts/weir)? Another release name: pass --selector`);
  return pods
    .map((pod): AgentTarget => {
      const namespace = pod.metadata?.namespace ?? '';
      const name = pod.metadata?.name ?? '';
      const phase = pod.status?.phase ?? 'Unknown';
      return {
        node: pod.spec?.nodeName ?? '(unscheduled)',
        source: `${namespace}/${name}`,
        ...(phase === 'Running' ? {} : { problem: `agent pod ${namespace}/${name} is ${phase}` }),
        open: () => portForward(cluster.kc, namespace, name, apiPortOf(pod)),
      };
    })
    .sort((a, b) => a.node.localeCompare(b.node));
}

/** GET a JSON document from an agent's API, with a timeout; failures name the agent and the cause. */
export async function getAgentJson(target: AgentTarget, conn: AgentConnection, path: string, timeoutMs = 10_000): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${conn.baseUrl}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new CommandError(`agent on ${target.node} (${target.source}) not reachable: ${conn.lastError() ?? errorText(error)}`);
  }
  if (!response.ok) throw new CommandError(`agent on ${target.node} (${target.source}) answered HTTP ${response.status}: ${(await response.text()).trim()}`);
  return response.json();
}
