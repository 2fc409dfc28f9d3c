#!/usr/bin/env bash
# Builds Weir's images and the real node's helper images OFFLINE with buildah (no registry, no
# Docker engine), as OCI archives in $WEIR_IMAGE_DIR (default ~/.cache/weir/realnode/images):
#
#   weir.local/weir-agent:dev     the agent, its BPF objects, the native addon and the `weir` CNI
#                                 plugin; same layout as images/agent.Dockerfile (/opt/weir/...)
#   weir.local/weir-webhook:dev   the webhook; same layout as images/webhook.Dockerfile, uid 65532
#   registry.k8s.io/pause:3.10.1  Kubernetes' own pause.c (signals, zombie reaping), static
#   registry.k8s.io/e2e-test-images/agnhost:2.56   agnhost built from k8s.io/kubernetes v1.34.4
#   weir.local/iperf3:dev         Debian's iperf3 and its libraries, for bandwidth checks on the node
#
# The Dockerfiles are the registry path (a build host with network); this script is the path for
# machines without one. Both put the same files at the same paths, so the chart runs either.
# Inputs: `make build` (dist/, build/, native addon), `scripts/build-go-tools.sh realnode` (agnhost),
# the npm cache that `npm ci` filled (production node_modules are installed --offline from it).
# Usage: images/build.sh [agent|webhook|pause|agnhost|iperf3 ...]   (default: all five)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache="${WEIR_CACHE:-$HOME/.cache/weir}"
out="${WEIR_IMAGE_DIR:-$cache/realnode/images}"
work="$cache/realnode/image-work"
KUBERNETES_VERSION=v1.34.4
# shellcheck source=images/names.sh
source "$repo/images/names.sh"
PAUSE_TAG=${PAUSE_IMAGE##*:}

log() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] error: %s\n' "$*" >&2; exit 1; }
command -v buildah >/dev/null || die "missing tool: buildah; install it with: apt-get install -y buildah"
[[ $(id -u) == 0 ]] || die "buildah's vfs storage here is root's: run as root"

# buildah's own storage under the cache, vfs (no overlay mounts to leak), so it never touches a
# system-wide container store.
bah() { buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs "$@"; }
mkdir -p "$out" "$work"

# Copies an ELF file and every shared library it loads (as ldd resolves them here) into a rootfs.
copy_with_libs() {
  local root=$1 file=$2 dest=${3:-$2}
  install -D -m 0755 "$file" "$root$dest"
  ldd "$file" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' | sort -u | while read -r lib; do
    install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
}

# commit <container> <image> <archive>: commits, writes an OCI archive, drops buildah's copies.
commit() {
  local ctr=$1 image=$2 archive=$3
  bah commit --quiet --rm "$ctr" "$image" >/dev/null
  rm -f "$archive.tmp"
  bah push --quiet "$image" "oci-archive:$archive.tmp:$image"
  bah rmi --force "$image" >/dev/null
  mv "$archive.tmp" "$archive"
  log "$image -> $archive ($(du -h "$archive" | cut -f1))"
}

# A rootfs with Node.js 22 and Weir's production dependencies at /opt/weir, as the Dockerfiles lay it out.
node_rootfs() {
  local root=$1
  # Node.js 22 LTS from the npm registry's node-linux package (scripts/node22.sh caches it), the
  # same major as the Dockerfiles' node:22 base; the machine's own Node (Debian's 20) stays for tests.
  local node22
  node22=$(bash "$repo/scripts/node22.sh") || die "no Node.js 22 binary (scripts/node22.sh)"
  copy_with_libs "$root" "$node22" /usr/bin/node
  mkdir -p "$root/tmp" "$root/etc" "$root/opt/weir"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/etc/group"
  cp "$repo/package.json" "$root/opt/weir/package.json"
  cp -a "$work/node_modules" "$root/opt/weir/node_modules"
  cp -a "$repo/dist" "$root/opt/weir/dist"
}

prod_node_modules() {
  [[ -d "$repo/dist/agent" ]] || die "no dist/: run make build first"
  local stage="$work/npm"
  rm -rf "$stage" "$work/node_modules"; mkdir -p "$stage"
  cp "$repo/package.json" "$repo/package-lock.json" "$stage/"
  (cd "$stage" && npm ci --omit=dev --ignore-scripts --offline --no-audit --no-fund --loglevel=error >/dev/null) \
    || die "npm ci --offline failed: the npm cache lacks a production dependency; run npm ci once with network"
  mv "$stage/node_modules" "$work/node_modules"
}

build_agent() {
  for f in build/bpf/weir.bpf.o build/bin/weir native/build/Release/weir_native.node; do
    [[ -f "$repo/$f" ]] || die "missing $f: run make build first"
  done
  local ctr root
  ctr=$(bah from --quiet scratch); root=$(bah mount "$ctr")
  node_rootfs "$root"
  mkdir -p "$root/opt/weir/build" "$root/opt/weir/native/build/Release"
  cp -a "$repo/build/bpf" "$root/opt/weir/build/bpf"
  install -D -m 0755 "$repo/build/bin/weir" "$root/opt/weir/build/bin/weir"
  copy_with_libs "$root" "$repo/native/build/Release/weir_native.node" /opt/weir/native/build/Release/weir_native.node
  # The chart's install-cni init container runs `/bin/sh -ec 'cp ... && chmod ... && mv ...'`.
  install -D -m 0755 /bin/busybox "$root/bin/busybox"
  for applet in sh cp chmod mv; do ln -s busybox "$root/bin/$applet"; done
  bah umount "$ctr" >/dev/null
  bah config --workingdir /opt/weir --env NODE_ENV=production --port 9962 \
    --entrypoint '["/usr/bin/node", "dist/agent/src/main.js"]' "$ctr"
  commit "$ctr" "$AGENT_IMAGE" "$out/weir-agent.tar"
}

build_webhook() {
  local ctr root
  ctr=$(bah from --quiet scratch); root=$(bah mount "$ctr")
  node_rootfs "$root"
  bah umount "$ctr" >/dev/null
  bah config --workingdir /opt/weir --env NODE_ENV=production --user 65532:65532 --port 9443 --port 8080 \
    --entrypoint '["/usr/bin/node", "dist/webhook/src/main.js"]' "$ctr"
  commit "$ctr" "$WEBHOOK_IMAGE" "$out/weir-webhook.tar"
}

build_pause() {
  local src
  src="$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBERNETES_VERSION/build/pause/linux/pause.c"
  [[ -f $src ]] || die "missing $src: run scripts/build-go-tools.sh realnode first (it downloads k8s.io/kubernetes)"
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_TAG-weir" -o "$work/pause" "$src"
  local ctr root
  ctr=$(bah from --quiet scratch); root=$(bah mount "$ctr")
  install -D -m 0755 "$work/pause" "$root/pause"
  bah umount "$ctr" >/dev/null
  bah config --user 65535:65535 --entrypoint '["/pause"]' "$ctr"
  commit "$ctr" "$PAUSE_IMAGE" "$out/pause.tar"
}

build_agnhost() {
  local bin="$cache/bin/agnhost-$KUBERNETES_VERSION"
  [[ -x $bin ]] || die "missing $bin: run scripts/build-go-tools.sh realnode first"
  local ctr root
  ctr=$(bah from --quiet scratch); root=$(bah mount "$ctr")
  # Static (CGO_ENABLED=0); the e2e suites call it as /agnhost.
  install -D -m 0755 "$bin" "$root/agnhost"
  # The network-policy-api conformance suite starts its servers as `/bin/bash -c "/agnhost ..."`,
  # as upstream's agnhost image (Debian-based) allows; Debian's bash and its libraries.
  copy_with_libs "$root" /bin/bash /bin/bash
  mkdir -p "$root/tmp"; chmod 1777 "$root/tmp"
  bah umount "$ctr" >/dev/null
  bah config --entrypoint '["/agnhost"]' --cmd '["pause"]' "$ctr"
  commit "$ctr" "$AGNHOST_IMAGE" "$out/agnhost.tar"
}

build_iperf3() {
  command -v iperf3 >/dev/null || die "missing tool: iperf3; install it with: apt-get install -y iperf3"
  local ctr root
  ctr=$(bah from --quiet scratch); root=$(bah mount "$ctr")
  copy_with_libs "$root" "$(command -v iperf3)" /usr/bin/iperf3
  mkdir -p "$root/tmp"; chmod 1777 "$root/tmp"
  bah umount "$ctr" >/dev/null
  bah config --entrypoint '["/usr/bin/iperf3"]' --cmd '["--server"]' "$ctr"
  commit "$ctr" "$IPERF3_IMAGE" "$out/iperf3.tar"
}

# Which source the Weir images hold, for reports of what ran (lab/realnode/conformance-report.ts).
record_source() {
  git -C "$repo" describe --always --dirty > "$out/source-version.tmp" && mv "$out/source-version.tmp" "$out/source-version"
}

targets=("$@")
((${#targets[@]})) || targets=(pause agnhost iperf3 agent webhook)
for t in "${targets[@]}"; do
  case $t in
    agent | webhook) [[ -d "$work/node_modules" && ${_npm_done:-} == 1 ]] || { prod_node_modules; _npm_done=1; }; "build_$t"; record_source ;;
    pause | agnhost | iperf3) "build_$t" ;;
    *) die "unknown image \"$t\"; choose from: agent webhook pause agnhost iperf3" ;;
  esac
done
