# Configuration files of the real node's daemons. Every path points under $RN_DIR, so the node
# never writes to the machine's /etc/cni, /var/lib/kubelet, /var/lib/containerd or /run/containerd
# state directories (the exceptions, which containerd and kubelet hard-code, are removed by down.sh).
# Sourced by lab/realnode/up.sh after lib.sh.
# shellcheck shell=bash

# Multus as the node's only CNI config; its clusterNetwork is bridge (or macvlan, RN_NETWORK) +
# host-local + weir, so every pod (in any namespace, without annotations) is attached and enforced
# by Weir. The clusterNetwork
# is the directory holding the conflist, not the file: Multus 4.2.3 re-serialises a conflist given as
# a file path through libcni's generic NetConf, which drops every plugin-specific key (bridge's
# "bridge", host-local's "ranges"), so its DEL then fails with "no IP ranges specified". A bare name
# works too, but Multus first looks for a NAD of that name and records a NoNetworkFound Warning
# Event on every pod.
write_cni_config() {
  local ip=$1 plugin
  for plugin in bridge host-local loopback macvlan portmap; do
    cp "/usr/lib/cni/$plugin" "$CNI_BIN/$plugin"
  done
  cp "$RN_BIN/multus" "$CNI_BIN/multus"
  local main='"type": "bridge", "bridge": "'$BRIDGE'", "isGateway": true, "ipMasq": false, "hairpinMode": true,'
  [[ $RN_NETWORK == bridge ]] || main='"type": "macvlan", "master": "'$UNDERLAY'", "mode": "bridge",'
  cat > "$RN_DIR/cni/multus.d/$CLUSTER_NETWORK.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CLUSTER_NETWORK",
  "plugins": [
    {
      $main
      "ipam": {
        "type": "host-local", "dataDir": "$RN_DIR/cni/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR", "rangeStart": "$POD_RANGE_START", "rangeEnd": "$POD_RANGE_END", "gateway": "$POD_GATEWAY" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "weir" }
  ]
}
EOF
  cat > "$CNI_CONF/00-multus.conf" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "multus-cni-network",
  "type": "multus",
  "kubeconfig": "$RN_DIR/kubeconfigs/multus.kubeconfig",
  "confDir": "$RN_DIR/cni/multus.d",
  "cniDir": "$RN_DIR/cni/multus",
  "binDir": "$CNI_BIN",
  "logFile": "$RN_DIR/logs/multus.log",
  "logLevel": "verbose",
  "multusNamespace": "kube-system",
  "systemNamespaces": ["kube-system"],
  "clusterNetwork": "$RN_DIR/cni/multus.d"
}
EOF
}

write_containerd_config() {
  mkdir -p "$RN_DIR/containerd"
  cat > "$RN_DIR/containerd/config.toml" <<EOF
version = 2
root = "$RN_DIR/containerd/root"
state = "$RN_DIR/containerd/state"
# /opt/containerd is the opt plugin's default; nothing here needs it.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Required on this machine kind: root may not lower oom_score_adj below 0, and the CRI asks
  # for -998 for sandboxes (runc then fails with "can't get final child's PID from pipe").
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$CNI_CONF"
    max_conf_num = 1
EOF
}

write_kubelet_config() {
  local ip=$1
  cat > "$RN_DIR/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
# cgroup v1 (hybrid) without systemd managing it.
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
localStorageCapacityIsolation: false
# The images cannot be pulled again: never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {}
address: $ip
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $RN_DIR/pki/kubelet-serving.crt
tlsPrivateKeyFile: $RN_DIR/pki/kubelet-serving.key
# As on a production node: the API server is authenticated by its client certificate and
# authorised by a SubjectAccessReview; anonymous requests are refused.
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $RN_DIR/pki/ca.crt}
authorization:
  mode: Webhook
clusterDomain: cluster.local
podLogsDir: $RN_DIR/pod-logs
volumePluginDir: $RN_DIR/kubelet/volume-plugins
serializeImagePulls: false
maxPods: 110
EOF
}

# On macvlan, pod -> ClusterIP traffic reaches kube-proxy's rules through the node's shim (the pods'
# gateway), but the backend's reply would go straight back to the client over the underlay, past the
# host's un-translation: only a masqueraded request (source: the shim address) comes back through
# the node. This is the best case for Services on macvlan without a coordinator; the backend then
# sees the node, not the client (docs/conformance.md says what that means for policy).
kube_proxy_masquerade_all() {
  if [[ $RN_NETWORK == macvlan ]]; then echo true; else echo false; fi
}

write_kube_proxy_config() {
  cat > "$RN_DIR/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $RN_DIR/kubeconfigs/kube-proxy.kubeconfig
mode: iptables
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
healthzBindAddress: 127.0.0.1:$PROXY_HEALTHZ_PORT
# Leave the machine's sysctls alone: no route_localnet for localhost NodePorts, no conntrack
# table resizing or timeout changes.
iptables:
  localhostNodePorts: false
  masqueradeAll: $(kube_proxy_masquerade_all)
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
}
