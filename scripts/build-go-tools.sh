#!/usr/bin/env bash
# Builds kube-apiserver, kubectl, etcd and helm from their Go modules at pinned versions into
# $WEIR_CACHE/bin (default $HOME/.cache/weir/bin). A binary that already exists for its
# version is reused, so a second run takes seconds. Used by scripts/bootstrap.sh.
# With the argument `realnode` it also builds what the real-node lab (lab/realnode/) runs:
# kubelet, kube-controller-manager, kube-scheduler, kube-proxy, agnhost, the upstream
# NetworkPolicy e2e suite and the network-policy-api conformance suite as test binaries, and the
# Multus thin plugin from the vendored source.
set -euo pipefail

KUBERNETES_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
HELM_VERSION=v3.19.5
MULTUS_VERSION=v4.2.3
NETWORK_POLICY_API_VERSION=v0.3.0

cache="${WEIR_CACHE:-$HOME/.cache/weir}"
bin="$cache/bin"
work="$cache/go-work"
mkdir -p "$bin" "$work"
export GOFLAGS="-trimpath -mod=mod"
export GOTOOLCHAIN=local

command -v go >/dev/null || { echo "missing tool: go (install Go >= 1.24 from https://go.dev/dl or: apt-get install golang)" >&2; exit 1; }

log() { printf '[go-tools] %s\n' "$*" >&2; }

# build <name> <version> <module-dir-setup-fn> <package> [go subcommand, default "build"]
# GO_LDFLAGS adds linker flags (version stamps).
build() {
  local name=$1 version=$2 setup=$3 pkg=$4 gocmd=${5:-build}
  local out="$bin/$name-$version"
  if [[ -x "$out" ]]; then
    log "$name $version: cached ($out)"
  else
    log "$name $version: building (first time only; a few minutes on 2 cores)"
    local dir="$work/$name-$version"
    rm -rf "$dir"; mkdir -p "$dir"
    # shellcheck disable=SC2086 # gocmd is "build" or "test -c"
    (cd "$dir" && "$setup" "$version" && nice -n 19 go $gocmd -ldflags="-s -w ${GO_LDFLAGS:-}" -o "$out.tmp" "$pkg")
    mv "$out.tmp" "$out"
  fi
  ln -sf "$out" "$bin/$name"
}

# k8s.io/kubernetes replaces every staging module with ./staging/src/...; the wrapper module
# carries those replaces itself, pointing at the published k8s.io/<name> v0.Y.Z modules.
setup_kubernetes() {
  local version=$1 staging="v0.${1#v1.}"
  go mod init weir.local/kube-apiserver >/dev/null 2>&1
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
  {
    echo "require k8s.io/kubernetes $version"
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/.*#replace \1 => \1 '"$staging"'#p' "$gomod"
  } >> go.mod
  printf 'package main\nimport (\n_ "k8s.io/kubernetes/cmd/kube-apiserver"\n_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' > tools.go
  go mod tidy >/dev/null 2>&1 || go mod tidy
}

# The real-node components: the same wrapper module, with their packages in tools.go.
setup_kubernetes_node() {
  setup_kubernetes "$1"
  {
    printf 'package main\nimport (\n'
    for p in cmd/kubelet cmd/kube-controller-manager cmd/kube-scheduler cmd/kube-proxy test/images/agnhost; do
      printf '_ "k8s.io/kubernetes/%s"\n' "$p"
    done
    printf ')\n'
  } > tools.go
  go mod tidy >/dev/null 2>&1 || go mod tidy
}

# Upstream test/e2e/network/netpol as a test binary: the wrapper registers the e2e framework's
# flags and runs the Ginkgo specs that the netpol package declares (lab/realnode/netpol-e2e_test.go).
setup_netpol_e2e() {
  setup_kubernetes "$1"
  rm -f tools.go
  cp "$repo/lab/realnode/netpol-e2e_test.go" ./netpol_e2e_test.go
  go mod tidy >/dev/null 2>&1 || go mod tidy
}

# The network-policy-api conformance suite (sigs.k8s.io/network-policy-api/conformance) as a test
# binary: the wrapper (lab/realnode/cnp-conformance_test.go) runs the suite's tests and writes its
# ConformanceReport.
# Its cache name carries the wrapper's hash, so an edited wrapper is rebuilt.
setup_cnp_conformance() {
  go mod init weir.local/cnp-conformance >/dev/null 2>&1
  echo "require sigs.k8s.io/network-policy-api $NETWORK_POLICY_API_VERSION" >> go.mod
  cp "$repo/lab/realnode/cnp-conformance_test.go" ./cnp_conformance_test.go
  go mod tidy >/dev/null 2>&1 || go mod tidy
}

# Multus is not served by the module proxy here: its source with vendor/ is a checked-in archive.
build_multus() {
  local version=$1 archive=$2 out="$bin/multus-$1"
  if [[ -x "$out" ]]; then
    log "multus $version: cached ($out)"
  elif [[ ! -f "$archive" ]]; then
    log "multus $version: source archive $archive missing; set MULTUS_ARCHIVE to the multus-cni $version tarball with vendor/"
    return 1
  else
    log "multus $version: building from $archive (first time only; a few minutes on 2 cores)"
    local dir="$work/multus-$version"
    rm -rf "$dir"; mkdir -p "$dir"
    tar -xzf "$archive" -C "$dir"
    (cd "$dir/multus-cni-${version#v}" && GOFLAGS=-trimpath CGO_ENABLED=0 nice -n 19 go build -mod=vendor \
      -ldflags="-s -w -X gopkg.in/k8snetworkplumbingwg/multus-cni.v4/pkg/multus.version=$version" -o "$out.tmp" ./cmd/multus)
    mv "$out.tmp" "$out"
  fi
  ln -sf "$out" "$bin/multus"
}

setup_etcd() {
  local version=$1
  go mod init weir.local/etcd >/dev/null 2>&1
  cat >> go.mod <<MOD
require go.etcd.io/etcd/server/v3 $version
replace (
  go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 $version
  go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 $version
  go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 $version
  go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 $version
)
MOD
  printf 'package main\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go mod tidy >/dev/null 2>&1 || go mod tidy
}

setup_helm() {
  local version=$1
  go mod init weir.local/helm >/dev/null 2>&1
  echo "require helm.sh/helm/v3 $version" >> go.mod
  printf 'package main\nimport _ "helm.sh/helm/v3/cmd/helm"\n' > tools.go
  go mod tidy >/dev/null 2>&1 || go mod tidy
}

build etcd "$ETCD_VERSION" setup_etcd go.etcd.io/etcd/server/v3
build kube-apiserver "$KUBERNETES_VERSION" setup_kubernetes k8s.io/kubernetes/cmd/kube-apiserver
build kubectl "$KUBERNETES_VERSION" setup_kubernetes k8s.io/kubernetes/cmd/kubectl
build helm "$HELM_VERSION" setup_helm helm.sh/helm/v3/cmd/helm

if [[ ${1:-} == realnode ]]; then
  repo=$(cd "$(dirname "$0")/.." && pwd)
  stamp="-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitTreeState=clean"
  stamp+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION")"
  for c in kubelet kube-controller-manager kube-scheduler kube-proxy; do
    GO_LDFLAGS=$stamp build "$c" "$KUBERNETES_VERSION" setup_kubernetes_node "k8s.io/kubernetes/cmd/$c"
  done
  # Static: it runs alone in a FROM-scratch image (lab/realnode/images.sh).
  CGO_ENABLED=0 build agnhost "$KUBERNETES_VERSION" setup_kubernetes_node k8s.io/kubernetes/test/images/agnhost
  GO_LDFLAGS=$stamp build netpol-e2e.test "$KUBERNETES_VERSION" setup_netpol_e2e . "test -c"
  wrapper_hash=$(sha256sum "$repo/lab/realnode/cnp-conformance_test.go" | cut -c1-8)
  build cnp-conformance.test "$NETWORK_POLICY_API_VERSION-$wrapper_hash" setup_cnp_conformance . "test -c"
  # ../shared beside the main checkout (a worktree's own parent may not have it).
  main_checkout=$(cd "$(git -C "$repo" rev-parse --git-common-dir)/.." && pwd)
  build_multus "$MULTUS_VERSION" "${MULTUS_ARCHIVE:-$main_checkout/../shared/third_party/multus-cni-${MULTUS_VERSION#v}.tar.gz}"
fi
log "binaries in $bin"
