#!/usr/bin/env bash
# Builds kube-apiserver, kubectl, etcd and helm from their Go modules at pinned versions into
# $WEIR_CACHE/bin (default $HOME/.cache/weir/bin). A binary that already exists for its
# version is reused, so a second run takes seconds. Used by scripts/bootstrap.sh.
set -euo pipefail

KUBERNETES_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
HELM_VERSION=v3.19.5

cache="${WEIR_CACHE:-$HOME/.cache/weir}"
bin="$cache/bin"
work="$cache/go-work"
mkdir -p "$bin" "$work"
export GOFLAGS="-trimpath -mod=mod"
export GOTOOLCHAIN=local

command -v go >/dev/null || { echo "missing tool: go (install Go >= 1.24 from https://go.dev/dl or: apt-get install golang)" >&2; exit 1; }

log() { printf '[go-tools] %s\n' "$*" >&2; }

# build <name> <version> <module-dir-setup-fn> <package>
build() {
  local name=$1 version=$2 setup=$3 pkg=$4
  local out="$bin/$name-$version"
  if [[ -x "$out" ]]; then
    log "$name $version: cached ($out)"
  else
    log "$name $version: building (first time only; a few minutes on 2 cores)"
    local dir="$work/$name-$version"
    rm -rf "$dir"; mkdir -p "$dir"
    (cd "$dir" && "$setup" "$version" && go build -ldflags='-s -w' -o "$out.tmp" "$pkg")
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
log "binaries in $bin"
