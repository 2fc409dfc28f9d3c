#!/usr/bin/env bash
# `make realnode-down`: tears the real node down the way a node is drained and decommissioned —
# pods deleted through the API (so the kubelet stops their sandboxes and the CNI chain runs DEL:
# Multus, bridge, host-local, weir), the agent last — then stops every daemon, removes what the
# node put on the machine, and checks that nothing is left (lab/realnode/leftovers.sh).
# Safe to run after a crash or a half-finished up: every step tolerates its object being gone.
set -uo pipefail
# shellcheck source=lab/realnode/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=lab/realnode/leftovers.sh
source "$(dirname "$0")/leftovers.sh"

[[ $(id -u) == 0 ]] || rn_die "run as root"
started=$SECONDS
step() { rn_log "[$((SECONDS - started))s] $*"; }

if [[ -d $RN_DIR ]] && daemon_alive kube-apiserver && daemon_alive kubelet; then
  step "draining: controllers stopped, every pod deleted, the Weir agent last"
  stop_daemon kube-controller-manager
  stop_daemon kube-scheduler
  kubectl_rn delete pods -A -l 'app.kubernetes.io/component!=agent' --wait=true --timeout=120s >/dev/null 2>&1 \
    || rn_log "some pods did not go within 120 s; removing their containers directly"
  kubectl_rn delete pods -A -l 'app.kubernetes.io/component=agent' --wait=true --timeout=60s >/dev/null 2>&1 || true
fi
stop_daemon kube-controller-manager
stop_daemon kube-scheduler
stop_daemon kubelet 30

# Whatever the kubelet did not stop: kill the tasks and remove the containers through containerd
# (their network namespaces, whose CNI DEL never ran, are removed below).
if daemon_alive containerd; then
  step "removing remaining containers through containerd"
  while read -r id; do
    [[ -n $id ]] || continue
    ctr_rn tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    ctr_rn tasks delete -f "$id" >/dev/null 2>&1 || true
    ctr_rn containers delete "$id" >/dev/null 2>&1 || true
  done < <(ctr_rn containers ls -q 2>/dev/null)
fi
stop_daemon containerd 15
# containerd-shim-runc-v2 processes outlive containerd; ours name our socket on their command line.
for pid in $(shim_pids); do kill -KILL "$pid" 2>/dev/null || true; done

step "kube-proxy's iptables rules, the API server, etcd"
stop_daemon kube-proxy
if [[ -x $RN_BIN/kube-proxy ]]; then
  "$RN_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || rn_log "kube-proxy --cleanup reported errors (checked below)"
fi
# Chains --cleanup leaves: the kubelet's canaries and the KUBE-FIREWALL chain (jumped to from
# INPUT and OUTPUT) that guards localhost.
for ipt in iptables ip6tables; do
  for table in mangle nat filter; do
    for chain in KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT KUBE-FIREWALL; do
      for from in INPUT OUTPUT FORWARD PREROUTING POSTROUTING; do
        while "$ipt" -t "$table" -D "$from" -j "$chain" 2>/dev/null; do :; done
      done
      "$ipt" -t "$table" -F "$chain" 2>/dev/null && "$ipt" -t "$table" -X "$chain" 2>/dev/null
    done
  done
done
stop_daemon kube-apiserver
stop_daemon etcd

step "mounts, network namespaces, the bridge, pins, cgroups, host files"
# Deepest first: the kubelet's root dir is a bind mount with the pods' volumes inside it.
findmnt -rn -o TARGET | grep -F "$RN_DIR/" | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
ip link del "$BRIDGE" 2>/dev/null
# The macvlan underlay: deleting the parent deletes its veth peer, the shim and any pod macvlan left on it.
ip link del "$UNDERLAY" 2>/dev/null
rm -rf "$PIN_ROOT" "/run/weir/$NODE_NAME" /run/weir/cni.sock
rmdir /sys/fs/bpf/weir /run/weir 2>/dev/null
[[ $(cat "$RN_DIR/bpffs-propagation.orig" 2>/dev/null) == private ]] && mount --make-private /sys/fs/bpf
# Pod cgroups: containerd puts them under k8s.io/ in every v1 hierarchy (cgroupsPerQOS is off).
for d in $(cgroup_dirs | sort -r); do rmdir "$d" 2>/dev/null; done
# libcni's result cache (containerd uses the default /var/lib/cni) and the kubelet's log links.
rm -f /var/lib/cni/results/"$CLUSTER_NETWORK"-* /var/lib/cni/results/multus-cni-network-*
for f in /var/log/containers/*.log; do
  [[ -L $f && $(readlink "$f") == "$RN_DIR"/* ]] && rm -f "$f"
done
[[ -f $RN_DIR/var-log-containers.existed ]] || rmdir /var/log/containers 2>/dev/null
[[ -f $RN_DIR/ip_forward.orig ]] && cat "$RN_DIR/ip_forward.orig" > /proc/sys/net/ipv4/ip_forward
# Pod network namespaces whose sandbox was never stopped (containerd names them cni-<uuid>): the
# ones that appeared after up.sh listed the machine's namespaces.
RN_NETNS_BEFORE=$(mktemp)
cp "$RN_DIR/netns.before" "$RN_NETNS_BEFORE" 2>/dev/null || netns_names > "$RN_NETNS_BEFORE"
for ns in $(comm -13 "$RN_NETNS_BEFORE" <(netns_names) | grep '^cni-'); do
  umount "/run/netns/$ns" 2>/dev/null; rm -f "/run/netns/$ns"
done
rm -rf "$RN_DIR"

left=$(leftovers)
rm -f "$RN_NETNS_BEFORE"
if [[ -n $left ]]; then
  printf '[realnode] teardown left behind:\n%s\n' "$left" >&2
  exit 1
fi
step "done: no processes, mounts, netns, bridge, pins, cgroups, iptables rules or containerd state left"
