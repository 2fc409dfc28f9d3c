#!/usr/bin/env bash
# Copies the ClusterNetworkPolicy CRDs of sigs.k8s.io/network-policy-api (both channels, unchanged)
# from the Go module into the chart and harness/crds. Usage: scripts/update-policy-crds.sh [version]
set -euo pipefail
version="${1:-v0.3.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(cd /tmp && go mod download -json "sigs.k8s.io/network-policy-api@${version}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -n "$dir" ] || { echo "go mod download gave no module directory" >&2; exit 1; }
file=policy.networking.k8s.io_clusternetworkpolicies.yaml
install -m 0644 "$dir/config/crd/experimental/$file" "$root/charts/weir/crds/$file"
install -m 0644 "$dir/config/crd/experimental/$file" "$root/harness/crds/$file"
install -D -m 0644 "$dir/config/crd/standard/$file" "$root/charts/weir/policy-crds/standard/$file"
echo "copied network-policy-api ${version} CRDs from $dir"
