/**
 * The agent under test with a fake datapath, a scripted cluster and recorded logs, probes and
 * Events (agent.test.ts, agent-attach-check.test.ts): a fresh set per test, stopped afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type Log } from './agent.js';
import type { AddRequest, DelRequest } from './cni/protocol.js';
import type { AgentConfig } from './config.js';
import { FakeDatapath } from './datapath/fake.js';
import type { AttachProbe, AttachState } from './endpoints/probe.js';
import { EndpointRegistry } from './endpoints/registry.js';
import type { PodEventSink } from './events.js';
import { ScriptedSource } from './kube/scripted.js';

export const NODE = 'node-1';

export class Lines implements Log {
  readonly lines: Array<{ level: string; msg: string; obj: object }> = [];
  debug(obj: object, msg: string): void { this.lines.push({ level: 'debug', msg, obj }); }
  info(obj: object, msg: string): void { this.lines.push({ level: 'info', msg, obj }); }
  warn(obj: object, msg: string): void { this.lines.push({ level: 'warn', msg, obj }); }
  error(obj: object, msg: string): void { this.lines.push({ level: 'error', msg, obj }); }
  has(text: string): boolean { return this.lines.some((l) => l.msg.includes(text)); }
  count(text: string): number { return this.lines.filter((l) => l.msg.includes(text)).length; }
}

export class ScriptedProbe implements AttachProbe {
  readonly missing = new Map<string, AttachState>();
  /** Runs during a check, before it answers (what else happens while the agent probes). */
  onCheck: (() => Promise<void>) | undefined;
  expected: Record<'ingress' | 'egress', number> | undefined;
  async check(netnsPath: string, ifname: string, expected?: Record<'ingress' | 'egress', number>): Promise<AttachState> {
    this.expected = expected;
    await this.onCheck?.();
    return this.missing.get(`${netnsPath}#${ifname}`) ?? { kind: 'attached' };
  }
}

export class RecordedEvents implements PodEventSink {
  readonly events: Array<{ pod: string; reason: string; message: string }> = [];
  warning(pod: { namespace: string; name: string }, reason: string, message: string): void {
    this.events.push({ pod: `${pod.namespace}/${pod.name}`, reason, message });
  }
}

export const ns = (name: string, labels: Record<string, string> = {}): unknown => ({ metadata: { name, labels } });

export function pod(name: string, opts: { labels?: Record<string, string>; annotations?: Record<string, string>; node?: string; ip?: string; uid?: string } = {}): unknown {
  return {
    metadata: { namespace: 'ns-a', name, uid: opts.uid ?? `uid-${name}`, labels: opts.labels ?? { app: name }, annotations: opts.annotations ?? {} },
    spec: { nodeName: opts.node ?? NODE, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80 }] }] },
    status: opts.ip ? { phase: 'Running', podIPs: [{ ip: opts.ip }] } : { phase: 'Pending' },
  };
}

export const denyAllIngress = {
  metadata: { namespace: 'ns-a', name: 'deny-all' },
  spec: { podSelector: {}, policyTypes: ['Ingress'] },
};

export function add(name: string, opts: { ifName?: string; containerId?: string; ip?: string; uid?: string } = {}): AddRequest {
  const ifName = opts.ifName ?? 'eth0';
  return {
    command: 'ADD', cniVersion: '1.0.0', networkName: 'underlay', config: {}, args: {}, rawArgs: '', path: [],
    attachment: { containerId: opts.containerId ?? `ctr-${name}`, ifName, netns: `/var/run/netns/pod-${name}` },
    pod: { namespace: 'ns-a', name, uid: opts.uid ?? `uid-${name}` },
    prevResult: { cniVersion: '1.0.0', ips: [{ address: `${opts.ip ?? '10.9.0.5'}/24` }] },
    runtimeConfig: {},
  };
}

export function del(name: string, ifName = 'eth0'): DelRequest {
  return {
    command: 'DEL', cniVersion: '1.0.0', networkName: 'underlay', config: {}, args: {}, rawArgs: '', path: [],
    attachment: { containerId: `ctr-${name}`, ifName, netns: null }, pod: { namespace: 'ns-a', name }, prevResult: null, runtimeConfig: {},
  };
}

export const signal = (): AbortSignal => new AbortController().signal;

export interface AgentFixture {
  fake: FakeDatapath;
  /** Opted in: the webhook wrote the intents here, so the agent trusts them (bandwidth, default interface). */
  source: ScriptedSource;
  probe: ScriptedProbe;
  log: Lines;
  events: RecordedEvents;
  makeAgent: (src?: ScriptedSource, more?: Partial<AgentConfig>) => Agent;
  /** Stops every agent made and removes the state dir. */
  stop(): Promise<void>;
}

export async function newAgentFixture(): Promise<AgentFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-agent-test-'));
  const agents: Agent[] = [];
  const f: AgentFixture = {
    fake: new FakeDatapath(),
    source: new ScriptedSource().seed('namespace', ns('ns-a', { team: 'a', 'weir.dev/inject': 'enabled' })),
    probe: new ScriptedProbe(),
    log: new Lines(),
    events: new RecordedEvents(),
    makeAgent: (src = f.source, more = {}) => {
      const config: AgentConfig = {
        nodeName: NODE, pinRoot: '/nonexistent', cniSocket: '/nonexistent', apiPort: 1, metricsPort: 1, metricsHost: '127.0.0.1',
        bpfObjectDir: '/nonexistent', netnsDir: '/var/run/netns', stateDir: dir, logLevel: 'debug', resyncSeconds: 3600, attachCheckSeconds: 3600,
        ...more,
      };
      const a = new Agent({
        config, datapath: f.fake, probe: f.probe, source: src, registry: new EndpointRegistry(dir), log: f.log, events: f.events, podWaitMs: 100, coalesceMs: 1,
      });
      agents.push(a);
      return a;
    },
    async stop() {
      for (const a of agents) await a.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return f;
}
