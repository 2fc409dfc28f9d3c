# Shared by lab/realnode/up.sh, down.sh and netpol-e2e.sh: where the real node keeps its state,
# its fixed names, addresses and ports, and the process helpers. Sourced, not run.
# shellcheck shell=bash

RN_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RN_DIR="${WEIR_REALNODE_DIR:-$HOME/.weir-realnode}"
RN_CACHE="${WEIR_CACHE:-$HOME/.cache/weir}"
RN_BIN="$RN_CACHE/bin"
RN_IMAGES="${WEIR_IMAGE_DIR:-$RN_CACHE/realnode/images}"
KUBERNETES_VERSION=v1.34.4

# One node. Its name is not the machine's hostname so nothing else on the machine is mistaken
# for it (pins live under /sys/fs/bpf/weir/<node>, the agent's state under /run/weir/<node>).
NODE_NAME=wrn-node
# Ports below the ephemeral range (32768+), so no test's random loopback port can take them.
ETCD_CLIENT_PORT=12379
ETCD_PEER_PORT=12380
API_PORT=16443
KUBELET_PORT=10250
KUBELET_HEALTHZ_PORT=10248
KCM_PORT=10257
SCHEDULER_PORT=10259
PROXY_METRICS_PORT=10249
PROXY_HEALTHZ_PORT=10256
# The agent's ports on the host network (API on loopback, metrics on the node address): not the
# chart defaults 9962 and 9963, which a simulated lab on this machine may hold.
AGENT_API_PORT=19962
AGENT_METRICS_PORT=19963
# Pod network (bridge + host-local) and Service range: chosen not to overlap the simulated lab's
# and the tests' 10.0/10.1/10.2/10.9/10.77/10.78 subnets.
POD_CIDR=10.244.0.0/24
POD_GATEWAY=10.244.0.1
# The cluster network allocates .2-.199; .200-.250 is left for NetworkAttachmentDefinitions on the
# same bridge (their host-local store is separate, so their ranges must not overlap).
POD_RANGE_START=10.244.0.2
POD_RANGE_END=10.244.0.199
SERVICE_CIDR=10.97.0.0/24
SERVICE_IP=10.97.0.1
BRIDGE=wrn0
# The cluster network's main plugin (docs/real-node.md): `bridge` (the default: bridge + host-local
# + weir on $BRIDGE) or `macvlan` (macvlan + host-local + weir on the underlay $UNDERLAY, one end of an idle veth pair; the
# node reaches its pods through its own macvlan $NODE_SHIM, which is also their gateway). up.sh
# records the mode in $RN_DIR/network, and everything after it reads it from there.
RN_NETWORK=${WEIR_REALNODE_NETWORK:-bridge}
[[ -f $RN_DIR/network ]] && RN_NETWORK=$(cat "$RN_DIR/network")
case $RN_NETWORK in
  bridge | macvlan) ;;
  *) printf '[realnode] error: WEIR_REALNODE_NETWORK=%s: expected bridge or macvlan\n' "$RN_NETWORK" >&2; exit 2 ;;
esac
UNDERLAY=wrn-ul0
NODE_SHIM=wrn-shim
CLUSTER_NETWORK=weir-realnode
RELEASE=weir
RELEASE_NAMESPACE=weir-system

PIN_ROOT="/sys/fs/bpf/weir/$NODE_NAME"
CNI_BIN="$RN_DIR/cni/bin"
CNI_CONF="$RN_DIR/cni/net.d"
CONTAINERD_SOCK="$RN_DIR/containerd/containerd.sock"
KUBECONFIG_ADMIN="$RN_DIR/kubeconfigs/admin.kubeconfig"

# The image names images/build.sh gives the images it builds.
# shellcheck source=images/names.sh
source "$RN_REPO/images/names.sh"

rn_log() { printf '[realnode] %s\n' "$*" >&2; }
rn_die() { printf '[realnode] error: %s\n' "$*" >&2; exit 1; }

# The address of the interface holding the default route: the node's InternalIP, where the API
# server, the kubelet and (through kube-proxy) the `kubernetes` Service are reached from pods.
node_ip() {
  local dev
  dev=$(ip -4 route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1); exit}')
  [[ -n $dev ]] || rn_die "no IPv4 default route: the node needs an address pods can reach"
  ip -4 -o addr show dev "$dev" | awk '{split($4, a, "/"); print a[1]; exit}'
}

kubectl_rn() { "$RN_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
ctr_rn() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# start_daemon <name> <binary> <args...>: in its own session (process group), output to a log,
# pid in $RN_DIR/pids/<name>.pid.
start_daemon() {
  local name=$1; shift
  mkdir -p "$RN_DIR/logs" "$RN_DIR/pids"
  setsid "$@" >>"$RN_DIR/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$RN_DIR/pids/$name.pid"
}

daemon_pid() {
  local f="$RN_DIR/pids/$1.pid"
  [[ -f $f ]] && cat "$f"
}

daemon_alive() {
  local pid
  pid=$(daemon_pid "$1") && [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# stop_daemon <name> [grace seconds]: SIGTERM to its process group, SIGKILL after the grace.
stop_daemon() {
  local name=$1 grace=${2:-10} pid
  pid=$(daemon_pid "$name") || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$RN_DIR/pids/$name.pid"
}

# wait_for <seconds> <what> <command...>: polls the command until it succeeds.
wait_for() {
  local timeout=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || rn_die "timed out after ${timeout}s waiting for $what (logs: $RN_DIR/logs)"
    sleep 1
  done
}
