import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { writeFileAtomicSync } from '../../common/src/files.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { findBinaries } from './binaries.js';
import { installCrds } from './crds.js';
import { apiRequest, type ApiConnection } from './http.js';
import { kubeconfigText } from './kubeconfig.js';
import { issueCert, newRsaKeyPair, type CertAndKey } from './pki.js';
import { freeLoopbackPorts } from './ports.js';
import { logTail, signalGroup, startDaemon, startReaper, stopDaemon, type Daemon } from './procs.js';

export { findBinaries, binDir, type Binaries } from './binaries.js';
export { issueCert, loopbackServingPki, type CertAndKey, type CertUsage } from './pki.js';
export { writeUserKubeconfig } from './users.js';

/**
 * A real control plane for tests and the local lab: etcd + kube-apiserver on 127.0.0.1, fresh PKI,
 * RBAC authorisation, the admission-webhook plugins on, and Weir's test CRDs installed and
 * Established. Deliberately free of vitest so the lab can use it too.
 */
export interface ControlPlaneOptions {
  /** Directory for PKI, etcd data, logs and the kubeconfig. Given: created if needed, its PKI and
   * etcd data replaced (every start is a fresh cluster), kept on stop() so logs can be read.
   * Omitted: a fresh temporary directory, removed on stop(). */
  readonly dataDir?: string;
  /** CRD manifests to install; defaults to harness/crds. `null` installs none. */
  readonly crdDir?: string | null;
  /** How long to wait for /readyz; default 90 s (2 shared cores). */
  readonly readyTimeoutMs?: number;
}

export interface ControlPlane {
  /** Admin kubeconfig (user `weir-admin`, group `system:masters`), credentials inline. */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly caCertPem: string;
  readonly adminClientCertPem: string;
  readonly adminClientKeyPem: string;
  readonly etcdUrl: string;
  readonly dataDir: string;
  /** From the call to startControlPlane until /readyz answered and every CRD was Established. */
  readonly startupMs: number;
  readonly pids: { readonly etcd: number; readonly kubeApiserver: number };
  /** Names of the CRDs installed. */
  readonly crds: readonly string[];
  /** Stops both processes (whole process groups) and removes the directory if it was temporary. */
  stop(): Promise<void>;
}

export const SERVICE_CIDR = '10.96.0.0/24';
const SERVICE_IP = '10.96.0.1';

export function defaultCrdDir(): string {
  return fileURLToPath(new URL('../crds/', import.meta.url));
}

interface Pki {
  readonly ca: CertAndKey;
  readonly serving: CertAndKey;
  readonly admin: CertAndKey;
  readonly sa: { readonly privateKeyPem: string; readonly publicKeyPem: string };
}

async function makePki(): Promise<Pki> {
  const ca = await issueCert('weir-test-ca', { kind: 'ca' });
  const [serving, admin, sa] = await Promise.all([
    issueCert(
      'kube-apiserver',
      {
        kind: 'server',
        dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
        ips: ['127.0.0.1', SERVICE_IP],
      },
      ca,
    ),
    issueCert('weir-admin', { kind: 'client', groups: ['system:masters'] }, ca),
    newRsaKeyPair(),
  ]);
  return { ca, serving, admin, sa };
}

function writePki(pkiDir: string, pki: Pki): Record<string, string> {
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  const files: Record<string, string> = {
    'ca.crt': pki.ca.certPem,
    'ca.key': pki.ca.keyPem,
    'apiserver.crt': pki.serving.certPem,
    'apiserver.key': pki.serving.keyPem,
    'sa.key': pki.sa.privateKeyPem,
    'sa.pub': pki.sa.publicKeyPem,
  };
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    const p = join(pkiDir, name);
    writeFileAtomicSync(p, content);
    paths[name] = p;
  }
  return paths;
}

function etcdArgs(dir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    '--name=weir',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=weir=${peer}`,
    // Test data is disposable: skipping fsync makes etcd (and so every API write) much faster.
    '--unsafe-no-fsync=true',
    '--quota-backend-bytes=268435456',
    '--log-level=warn',
  ];
}

function apiserverArgs(pkiDir: string, etcdUrl: string, port: number): string[] {
  const p = (name: string): string => join(pkiDir, name);
  return [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${pkiDir}`,
    `--tls-cert-file=${p('apiserver.crt')}`,
    `--tls-private-key-file=${p('apiserver.key')}`,
    `--client-ca-file=${p('ca.crt')}`,
    `--service-account-key-file=${p('sa.pub')}`,
    `--service-account-signing-key-file=${p('sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    // RBAC so that RBAC tests are real; the admin client is in system:masters.
    '--authorization-mode=RBAC',
    '--enable-admission-plugins=NamespaceLifecycle,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy',
    // No controller-manager creates `default` service accounts here; without this, every pod
    // create would fail with "serviceaccount default not found".
    '--disable-admission-plugins=ServiceAccount',
    '--allow-privileged=true',
    // Work a single-user test server does not need.
    '--enable-priority-and-fairness=false',
    '--endpoint-reconciler-type=none',
    '--profiling=false',
  ];
}

async function waitReady(conn: ApiConnection, daemons: readonly Daemon[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const dead = daemons.find((d) => d.hasExited());
    if (dead !== undefined) {
      throw new Error(`${await dead.exited} before the API server was ready; log tail:\n${logTail(dead)}`);
    }
    try {
      const res = await apiRequest(conn, 'GET', '/readyz', undefined, 2_000);
      if (res.status === 200) return;
      last = `HTTP ${res.status}: ${res.text.slice(0, 500)}`;
    } catch (err: unknown) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`kube-apiserver not ready within ${timeoutMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function isPortRace(daemons: readonly Daemon[]): boolean {
  return daemons.some((d) => d.hasExited() && /address already in use/i.test(logTail(d, 200)));
}

/** Three free loopback ports: etcd's client and peer ports and the API server's, with their URLs. */
async function pickPorts(): Promise<{ etcdClient: number; etcdPeer: number; apiPort: number; etcdUrl: string; server: string }> {
  const [etcdClient, etcdPeer, apiPort] = await freeLoopbackPorts(3);
  if (etcdClient === undefined || etcdPeer === undefined || apiPort === undefined) throw new Error('no free ports');
  return { etcdClient, etcdPeer, apiPort, etcdUrl: `http://127.0.0.1:${etcdClient}`, server: `https://127.0.0.1:${apiPort}` };
}

/** The admin kubeconfig in the data dir; returns its path. */
function writeAdminKubeconfig(dir: string, server: string, pki: Pki): string {
  const path = join(dir, 'admin.kubeconfig');
  writeFileAtomicSync(path, kubeconfigText(server, pki.ca.certPem, 'weir-admin', pki.admin));
  return path;
}

/**
 * Synchronous last resort for exit, crash and signals (an async stop() cannot run there): runs
 * `killNow` then. Returns the function that removes the handlers once stopped.
 */
function killOnExit(killNow: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    killNow();
    detach();
    // When nobody else handles the signal, keep its default meaning: terminate.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const onExit = (): void => killNow();
  function detach(): void {
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  return detach;
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = performance.now();
  const bins = findBinaries();
  if (bins.kind === 'missing') {
    throw new Error(`control-plane binaries missing (${bins.missing.join(', ')}); run \`make bootstrap\``);
  }
  const ownsDir = opts.dataDir === undefined;
  const dir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'weir-cp-')));
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o700);
  const pkiDir = join(dir, 'pki');

  let daemons: Daemon[] = [];
  let reaper: ChildProcess | undefined;
  let stopped = false;

  const detach = killOnExit(() => {
    for (const d of daemons) signalGroup(d.pid, 'SIGKILL');
    if (reaper?.pid !== undefined) signalGroup(reaper.pid, 'SIGKILL');
    if (ownsDir) rmSync(dir, { recursive: true, force: true });
  });

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // API server first, so it does not spend its shutdown retrying a vanished etcd.
    for (const d of [...daemons].reverse()) await stopDaemon(d);
    if (reaper?.pid !== undefined) signalGroup(reaper.pid, 'SIGKILL');
    if (ownsDir) rmSync(dir, { recursive: true, force: true });
    detach();
  };

  try {
    const pki = await makePki();
    writePki(pkiDir, pki);
    const conn = (server: string): ApiConnection => ({ server, caCertPem: pki.ca.certPem, clientCertPem: pki.admin.certPem, clientKeyPem: pki.admin.keyPem });

    // A freshly freed port can be taken by someone else before our child binds it: retry then.
    for (let attempt = 1; ; attempt++) {
      const { etcdClient, etcdPeer, apiPort, etcdUrl, server } = await pickPorts();
      rmSync(join(dir, 'etcd'), { recursive: true, force: true });
      const etcd = startDaemon('etcd', bins.etcd, etcdArgs(dir, etcdClient, etcdPeer), join(dir, 'etcd.log'));
      daemons = [etcd];
      // Started without waiting for etcd: the API server retries its etcd connection itself.
      const apiserver = startDaemon('kube-apiserver', bins.kubeApiserver, apiserverArgs(pkiDir, etcdUrl, apiPort), join(dir, 'kube-apiserver.log'));
      daemons = [etcd, apiserver];
      if (reaper?.pid !== undefined) signalGroup(reaper.pid, 'SIGKILL');
      reaper = startReaper([etcd.pid, apiserver.pid], ownsDir ? dir : undefined);
      try {
        await waitReady(conn(server), daemons, opts.readyTimeoutMs ?? 90_000);
      } catch (err: unknown) {
        if (attempt < 3 && isPortRace(daemons)) {
          for (const d of daemons) await stopDaemon(d);
          continue;
        }
        throw err;
      }
      const crdDir = opts.crdDir === undefined ? defaultCrdDir() : opts.crdDir;
      const crds = crdDir === null ? [] : await installCrds(conn(server), crdDir);
      const kubeconfigPath = writeAdminKubeconfig(dir, server, pki);
      return {
        kubeconfigPath,
        server,
        caCertPem: pki.ca.certPem,
        adminClientCertPem: pki.admin.certPem,
        adminClientKeyPem: pki.admin.keyPem,
        etcdUrl,
        dataDir: dir,
        startupMs: Math.round(performance.now() - started),
        pids: { etcd: etcd.pid, kubeApiserver: apiserver.pid },
        crds,
        stop,
      };
    }
  } catch (err: unknown) {
    await stop();
    throw err;
  }
}
