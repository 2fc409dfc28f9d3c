# What the real node can leave on the machine, found by what identifies it as the node's (its
# state directory, node name, bridge, network names), never by a process or file name alone that
# another lab could share. Sourced by lab/realnode/down.sh; `leftovers.sh --check` runs the check.
# shellcheck shell=bash

# Processes whose command line names the node's state directory: its daemons (they all take
# --config/--kubeconfig/--data-dir under it) and containerd's shims (-address <our socket>).
rn_pids() {
  local d pid
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    { tr '\0' ' ' < "$d/cmdline"; } 2>/dev/null | grep -qF -- "$RN_DIR/" && echo "$pid"
  done
}

shim_pids() {
  local d
  for d in /proc/[0-9]*; do
    { tr '\0' ' ' < "$d/cmdline"; } 2>/dev/null | grep -q "containerd-shim.*-address $CONTAINERD_SOCK" && echo "${d#/proc/}"
  done
}

netns_names() { ls /run/netns 2>/dev/null | sort; }

# Pod cgroups under containerd's k8s.io parent, in every v1 hierarchy and the unified one.
cgroup_dirs() {
  find /sys/fs/cgroup/*/k8s.io -depth -type d 2>/dev/null
}

# Prints one line per thing left behind; nothing when the machine is clean.
leftovers() {
  local pids
  pids=$(rn_pids | tr '\n' ' ')
  [[ -z $pids ]] || echo "processes: $pids"
  [[ ! -e $RN_DIR ]] || echo "state directory: $RN_DIR"
  findmnt -rn -o TARGET | grep -F "$RN_DIR" | sed 's/^/mount: /'
  ip link show "$BRIDGE" >/dev/null 2>&1 && echo "bridge: $BRIDGE"
  ip -o link show type veth 2>/dev/null | grep -F "master $BRIDGE" | sed 's/^/veth on the bridge: /'
  ip link show "$UNDERLAY" >/dev/null 2>&1 && echo "underlay: $UNDERLAY"
  ip link show "$NODE_SHIM" >/dev/null 2>&1 && echo "node shim: $NODE_SHIM"
  [[ ! -e $PIN_ROOT ]] || echo "pins: $PIN_ROOT"
  [[ ! -e /run/weir/$NODE_NAME ]] || echo "agent state: /run/weir/$NODE_NAME"
  cgroup_dirs | sed 's/^/cgroup: /'
  local t
  for t in filter nat mangle raw; do
    iptables-save -t "$t" 2>/dev/null | grep -E '^:KUBE-' | sed "s/^/iptables $t: /"
    ip6tables-save -t "$t" 2>/dev/null | grep -E '^:KUBE-' | sed "s/^/ip6tables $t: /"
  done
  nft list tables 2>/dev/null | grep -E 'kube-proxy' | sed 's/^/nftables: /'
  ls /var/lib/cni/results/"$CLUSTER_NETWORK"-* /var/lib/cni/results/multus-cni-network-* 2>/dev/null | sed 's/^/cni cache: /'
  # containerd names pod network namespaces cni-<uuid>: any that appeared since up.sh started.
  if [[ -f ${RN_NETNS_BEFORE:-} ]]; then
    comm -13 "$RN_NETNS_BEFORE" <(netns_names) | grep '^cni-' | sed 's/^/netns: /'
  fi
  return 0
}

if [[ ${1:-} == --check ]]; then
  set -euo pipefail
  # shellcheck source=lab/realnode/lib.sh
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  out=$(leftovers)
  [[ -z $out ]] || { echo "$out"; exit 1; }
  echo "clean"
fi
