/**
 * A pod as a real API server sends it for an ordinary Deployment replica: managedFields from
 * kubelet and the controller, kubectl's last-applied copy, env, volumes, probes and statuses.
 * Shared by slim.test.ts and bench/informer-memory.ts (a fixture: not imported by product code).
 */
export function fatPod(i: number, namespace = 'shop'): Record<string, unknown> {
  const name = `web-${i}`;
  const time = '2026-11-29T08:00:00Z';
  const container = (c: string, port: number): Record<string, unknown> => ({
    name: c,
    image: `registry.example.com/team/${c}:1.2.${i % 10}`,
    imagePullPolicy: 'IfNotPresent',
    command: ['/bin/server'],
    args: ['--port', String(port), '--log-level', 'info', '--config', '/etc/app/config.yaml'],
    ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }, { name: 'metrics', containerPort: 9100, protocol: 'TCP' }],
    env: Array.from({ length: 12 }, (_, k) => ({ name: `APP_SETTING_${k}`, value: `value-${k}-${'x'.repeat(20)}` })),
    envFrom: [{ configMapRef: { name: 'app-config' } }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    volumeMounts: [{ name: 'config', mountPath: '/etc/app' }, { name: 'kube-api-access-abcde', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
    livenessProbe: { httpGet: { path: '/healthz', port }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/readyz', port }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  });
  const managed = (manager: string, op: string, fields: unknown): Record<string, unknown> => ({
    manager, operation: op, apiVersion: 'v1', time, fieldsType: 'FieldsV1', fieldsV1: fields,
  });
  const spec = {
    nodeName: `node-${i % 50}`,
    containers: [container('app', 8080), container('sidecar', 15000)],
    volumes: [
      { name: 'config', configMap: { name: 'app-config', defaultMode: 420 } },
      { name: 'kube-api-access-abcde', projected: { defaultMode: 420, sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }, { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] } },
    ],
    tolerations: [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ],
    affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' } }] } },
    restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', serviceAccountName: 'web', schedulerName: 'default-scheduler', securityContext: {},
  };
  const status = {
    phase: 'Running',
    hostIP: `192.168.0.${i % 50}`,
    podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    podIPs: [{ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }],
    startTime: time,
    qosClass: 'Burstable',
    conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: time })),
    containerStatuses: ['app', 'sidecar'].map((c) => ({
      name: c, ready: true, restartCount: 0, started: true, image: `registry.example.com/team/${c}:1.2.${i % 10}`,
      imageID: `registry.example.com/team/${c}@sha256:${'ab'.repeat(32)}`, containerID: `containerd://${'cd'.repeat(32)}`,
      state: { running: { startedAt: time } }, lastState: {},
    })),
  };
  const metadata = {
    name, namespace, uid: `0b3a${String(i).padStart(8, '0')}-aaaa-bbbb-cccc-dddddddddddd`, resourceVersion: String(1000 + i), creationTimestamp: time,
    generateName: 'web-7d9f8b6c5-',
    labels: { app: 'web', 'pod-template-hash': '7d9f8b6c5', team: 'shop' },
    annotations: {
      'weir.dev/intent': '{"version":1,"enforced":true,"defaultInterface":"eth0","interfaces":["eth0"]}',
      'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { containers: spec.containers } }),
    },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9f8b6c5', uid: 'ffff0000-1111-2222-3333-444444444444', controller: true, blockOwnerDeletion: true }],
    managedFields: [
      managed('kube-controller-manager', 'Update', { 'f:metadata': { 'f:generateName': {}, 'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} }, 'f:ownerReferences': {} }, 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:args': {}, 'f:command': {}, 'f:env': {}, 'f:image': {}, 'f:ports': {}, 'f:resources': {} } }, 'f:volumes': {} } }),
      managed('kubelet', 'Update', { 'f:status': { 'f:conditions': {}, 'f:containerStatuses': {}, 'f:hostIP': {}, 'f:phase': {}, 'f:podIP': {}, 'f:podIPs': {}, 'f:startTime': {} } }),
      managed('multus', 'Update', { 'f:metadata': { 'f:annotations': { 'f:k8s.v1.cni.cncf.io/network-status': {} } } }),
    ],
  };
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec, status };
}
