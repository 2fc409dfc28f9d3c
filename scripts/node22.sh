#!/usr/bin/env bash
# Node.js 22 LTS for the images (issue 16: Node 20 reached end of life in April 2026). Debian has
# no newer Node than 20 and the machines reach no download site, but the npm registry serves Node
# itself as a package (node-linux-<arch>: the official binary, with its headers). This fetches it
# once with the ordinary npm client into the cache and prints the binary's path:
#   $WEIR_CACHE/node-v<version>/bin/node   (WEIR_CACHE defaults to ~/.cache/weir)
# It runs the tests (scripts/test.sh), the CLI and the lab (bin/weir), and images/build.sh puts it
# into the agent and webhook images; scripts/bootstrap.sh runs this so the cache is filled. The
# machine's own Node (Debian's 20) only runs npm.
set -euo pipefail
NODE22_VERSION=22.23.5
cache="${WEIR_CACHE:-$HOME/.cache/weir}"
dir="$cache/node-v$NODE22_VERSION"

log() { printf '[node22] %s\n' "$*" >&2; }
die() { printf '[node22] error: %s\n' "$*" >&2; exit 1; }

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) die "no node-linux package for $(uname -m)" ;;
esac

if [[ ! -x $dir/bin/node ]]; then
  command -v npm >/dev/null || die "missing tool: npm; install it with: apt-get install -y npm"
  stage=$(mktemp -d "$cache/node22.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  log "fetching node-linux-$arch@$NODE22_VERSION from the npm registry"
  (cd "$stage" && npm pack "node-linux-$arch@$NODE22_VERSION" --silent >/dev/null) \
    || die "npm pack node-linux-$arch@$NODE22_VERSION failed (is the npm registry reachable?)"
  tar -xzf "$stage/node-linux-$arch-$NODE22_VERSION.tgz" -C "$stage"
  got=$("$stage/package/bin/node" --version) || die "the fetched node binary does not run here"
  [[ $got == "v$NODE22_VERSION" ]] || die "the fetched binary says $got, expected v$NODE22_VERSION"
  rm -rf "$dir"
  mv "$stage/package" "$dir"
fi
printf '%s\n' "$dir/bin/node"
