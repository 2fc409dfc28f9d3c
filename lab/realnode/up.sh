#!/usr/bin/env bash
# `make realnode-up`: a whole real Kubernetes node on this machine, with Weir installed the way a
# user installs it. etcd + kube-apiserver, containerd + runc (own config, root, state and socket),
# kubelet, kube-controller-manager, kube-scheduler, kube-proxy (iptables), Multus (thin plugin) as
# the node's CNI with a clusterNetwork of bridge (WEIR_REALNODE_NETWORK=macvlan: macvlan) +
# host-local + weir, and `helm install` of
# charts/weir from locally built images. Everything it creates is listed in docs/real-node.md and
# removed by lab/realnode/down.sh (`make realnode-down`), which checks that nothing is left.
set -euo pipefail
# shellcheck source=lab/realnode/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=lab/realnode/pki.sh
source "$(dirname "$0")/pki.sh"
# shellcheck source=lab/realnode/config.sh
source "$(dirname "$0")/config.sh"

started=$SECONDS
step() { rn_log "[$((SECONDS - started))s] $*"; }

[[ $(id -u) == 0 ]] || rn_die "a node runs containers, mounts and iptables rules: run as root"
if daemon_alive kubelet; then
  rn_log "the real node is already up: KUBECONFIG=$KUBECONFIG_ADMIN (tear down with: make realnode-down)"
  exit 0
fi
[[ ! -e $RN_DIR ]] || rn_die "$RN_DIR exists from an earlier node: run make realnode-down first"

for b in etcd kube-apiserver kubectl helm kubelet kube-controller-manager kube-scheduler kube-proxy multus; do
  [[ -x $RN_BIN/$b ]] || rn_die "missing $RN_BIN/$b: run make realnode-tools"
done
for t in containerd runc ctr buildah iptables; do
  command -v "$t" >/dev/null || rn_die "missing tool: $t; install with: apt-get install -y containerd runc buildah iptables"
done
[[ -x /usr/lib/cni/bridge ]] || rn_die "missing /usr/lib/cni/bridge: apt-get install -y containernetworking-plugins"
for link in "$BRIDGE" "$UNDERLAY"; do
  ip link show "$link" >/dev/null 2>&1 && rn_die "interface $link exists: another real node is running or leaked; run make realnode-down"
done
for img in pause agnhost iperf3 weir-agent weir-webhook; do
  [[ -f $RN_IMAGES/$img.tar ]] || rn_die "missing image archive $RN_IMAGES/$img.tar: run make realnode-images"
done

IP=$(node_ip)
mkdir -p "$RN_DIR"/{logs,pids,etcd,kubelet,pod-logs,cni/bin,cni/net.d,cni/multus.d,cni/ipam,cni/multus,certs}
chmod 0700 "$RN_DIR"
echo "$IP" > "$RN_DIR/node-ip"
echo "$RN_NETWORK" > "$RN_DIR/network"
# Host settings the node changes, recorded so down.sh puts them back.
cat /proc/sys/net/ipv4/ip_forward > "$RN_DIR/ip_forward.orig"
findmnt -no PROPAGATION /sys/fs/bpf > "$RN_DIR/bpffs-propagation.orig"
[[ -d /var/log/containers ]] && touch "$RN_DIR/var-log-containers.existed"
ls /run/netns 2>/dev/null | sort > "$RN_DIR/netns.before"

step "PKI and kubeconfigs (node $NODE_NAME at $IP)"
make_pki "$IP"

step "etcd and kube-apiserver"
start_daemon etcd "$RN_BIN/etcd" --name=wrn --data-dir="$RN_DIR/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="wrn=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync=true --log-level=warn
p="$RN_DIR/pki"
start_daemon kube-apiserver "$RN_BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" --bind-address="$IP" --advertise-address="$IP" \
  --secure-port="$API_PORT" --cert-dir="$RN_DIR/certs" \
  --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" --client-ca-file="$p/ca.crt" \
  --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range="$SERVICE_CIDR" --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction --allow-privileged=true \
  --kubelet-client-certificate="$p/apiserver-kubelet-client.crt" --kubelet-client-key="$p/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$p/ca.crt" --kubelet-preferred-address-types=InternalIP \
  --profiling=false
wait_for 120 "kube-apiserver /readyz" kubectl_rn get --raw /readyz

step "CRDs (Multus, MultiNetworkPolicy, AdminNetworkPolicy, SpiderCoordinator) and Multus RBAC"
kubectl_rn apply -f "$RN_REPO/harness/crds/" >/dev/null
kubectl_rn apply -f "$RN_REPO/lab/realnode/multus-rbac.yaml" >/dev/null

if [[ $RN_NETWORK == macvlan ]]; then
  step "the underlay: $UNDERLAY, the node's macvlan $NODE_SHIM ($POD_GATEWAY, the pods' gateway)"
  # The underlay NIC is one end of a veth pair whose other end (the switch port) stays idle: this
  # kernel has no dummy links. A macvlan's parent cannot reach its children; a sibling macvlan in
  # bridge mode can, so the node talks to its pods (the kubelet's probes, the API server to the
  # webhook) through $NODE_SHIM.
  ip link add "$UNDERLAY" type veth peer name "$UNDERLAY-sw"
  ip link set "$UNDERLAY-sw" up
  ip link set "$UNDERLAY" up
  ip link add "$NODE_SHIM" link "$UNDERLAY" type macvlan mode bridge
  ip addr add "$POD_GATEWAY/${POD_CIDR#*/}" dev "$NODE_SHIM"
  ip link set "$NODE_SHIM" up
fi

step "containerd (own root, state and socket) and the local images"
write_cni_config "$IP"
write_containerd_config
start_daemon containerd containerd --config "$RN_DIR/containerd/config.toml"
wait_for 30 "containerd's socket" ctr_rn version
for img in pause agnhost iperf3 weir-agent weir-webhook; do
  ctr_rn images import "$RN_IMAGES/$img.tar" >/dev/null
done

step "kubelet, kube-controller-manager, kube-scheduler, kube-proxy"
# kubelet and containerd mount into HostToContainer volumes (the agent's /sys/fs/bpf): the host
# mount must propagate, as it does on a systemd host (all mounts shared).
mount --make-shared /sys/fs/bpf
echo 1 > /proc/sys/net/ipv4/ip_forward
write_kubelet_config "$IP"
start_daemon kubelet "$RN_BIN/kubelet" --config="$RN_DIR/kubelet-config.yaml" \
  --kubeconfig="$RN_DIR/kubeconfigs/kubelet.kubeconfig" --hostname-override="$NODE_NAME" --node-ip="$IP" \
  --root-dir="$RN_DIR/kubelet" --cert-dir="$RN_DIR/kubelet/pki" --v=1
k="$RN_DIR/kubeconfigs"
start_daemon kube-controller-manager "$RN_BIN/kube-controller-manager" --kubeconfig="$k/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$k/controller-manager.kubeconfig" --authorization-kubeconfig="$k/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --cert-dir="$RN_DIR/certs" --leader-elect=false \
  --service-account-private-key-file="$p/sa.key" --root-ca-file="$p/ca.crt" --use-service-account-credentials=true \
  --cluster-signing-cert-file="$p/ca.crt" --cluster-signing-key-file="$p/ca.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" --controllers='*,-nodeipam,-cloud-node-lifecycle'
start_daemon kube-scheduler "$RN_BIN/kube-scheduler" --kubeconfig="$k/scheduler.kubeconfig" \
  --authentication-kubeconfig="$k/scheduler.kubeconfig" --authorization-kubeconfig="$k/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" --cert-dir="$RN_DIR/certs" --leader-elect=false
write_kube_proxy_config
start_daemon kube-proxy "$RN_BIN/kube-proxy" --config="$RN_DIR/kube-proxy-config.yaml"
wait_for 180 "node $NODE_NAME Ready" kubectl_rn wait --for=condition=Ready "node/$NODE_NAME" --timeout=5s
# The controller-manager creates each namespace's `default` ServiceAccount; pods need it.
wait_for 60 "the default ServiceAccount" kubectl_rn -n default get serviceaccount default

step "helm install charts/weir (agent DaemonSet, webhook Deployment) from the local images"
"$RN_BIN/helm" --kubeconfig "$KUBECONFIG_ADMIN" install "$RELEASE" "$RN_REPO/charts/weir" \
  --namespace "$RELEASE_NAMESPACE" --create-namespace \
  --set-string agent.image.repository="${AGENT_IMAGE%:*}" \
  --set-string agent.image.tag="${AGENT_IMAGE##*:}" \
  --set-string webhook.image.repository="${WEBHOOK_IMAGE%:*}" \
  --set-string webhook.image.tag="${WEBHOOK_IMAGE##*:}" \
  --set agent.image.pullPolicy=Never --set webhook.image.pullPolicy=Never \
  --set-string agent.cniBinDir="$CNI_BIN" --set agent.apiPort="$AGENT_API_PORT" --set agent.metrics.port="$AGENT_METRICS_PORT" \
  --wait --timeout 5m >/dev/null
step "ready"
cat <<EOF

The real node is up ($((SECONDS - started)) s), cluster network $RN_NETWORK + host-local + weir.
  export KUBECONFIG=$KUBECONFIG_ADMIN
  $RN_BIN/kubectl get nodes,pods -A -o wide
Logs: $RN_DIR/logs   Tear down: make realnode-down
EOF
