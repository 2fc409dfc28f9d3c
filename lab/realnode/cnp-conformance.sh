#!/usr/bin/env bash
# `make realnode-cnp-conformance`: the network-policy-api v0.3.0 conformance suite
# (sigs.k8s.io/network-policy-api/conformance, built by scripts/build-go-tools.sh realnode from
# lab/realnode/cnp-conformance_test.go) against the running real node, with Weir enforcing.
# Writes the suite's ConformanceReport to docs/conformance/v0.3.0/weir-<profile>.yaml
# (WEIR_CNP_REPORT names another file) and its log to $RN_DIR/cnp-conformance/<profile>.log.
#   lab/realnode/cnp-conformance.sh standard       the ClusterNetworkPolicy profile, no experimental feature
#   lab/realnode/cnp-conformance.sh experimental   + ClusterNetworkPolicyNamedPorts, ClusterNetworkPolicyEgressNodePeers
# The node is one machine without SCTP: the binary's --no-sctp and --single-node adapt the suite's
# base manifests to it (what they change: the comment at the top of cnp-conformance_test.go).
set -euo pipefail
# shellcheck source=lab/realnode/lib.sh
source "$(dirname "$0")/lib.sh"

profile=${1:-standard}
case $profile in
  standard) features= ;;
  experimental) features=ClusterNetworkPolicyNamedPorts,ClusterNetworkPolicyEgressNodePeers ;;
  *) rn_die "unknown profile \"$profile\": choose standard or experimental" ;;
esac
daemon_alive kubelet || rn_die "the real node is not up: make realnode-up"
suite="$RN_BIN/cnp-conformance.test"
[[ -x $suite ]] || rn_die "missing $suite: run make realnode-tools"
out="$RN_DIR/cnp-conformance"
report=${WEIR_CNP_REPORT:-$RN_REPO/docs/conformance/v0.3.0/weir-$profile.yaml}
mkdir -p "$out" "$(dirname "$report")"

# The suite's StatefulSets ask for agnhost 2.45; the node has agnhost from k8s.io/kubernetes v1.34.4
# (2.56, images/build.sh), whose `connect`, `serve-hostname`, `netexec` and `porter` the suite uses.
ctr_rn images tag --force "$AGNHOST_IMAGE" registry.k8s.io/e2e-test-images/agnhost:2.45 >/dev/null

# The host-network pods' ports: below the ephemeral range (32768+), so no other test's random port
# on this machine can hold one (the suite's default, 34345, is inside it); 8 ports, and 8 more for
# the second replica that --single-node moves.
CNP_HOST_PORT_START=18345
# What ran: the commit the Weir images were built from (images/build.sh records it).
version=$(cat "$RN_IMAGES/source-version" 2>/dev/null || echo unknown)
args=(-test.v -test.timeout=90m -test.run '^TestConformanceProfiles$'
  --conformance-profiles=ClusterNetworkPolicy
  --organization=weir-dev --project=weir --url=https://github.com/weir-dev/weir --version="$version"
  --contact=https://github.com/weir-dev/weir/issues/new
  --additional-info="make realnode-cnp-conformance PROFILE=$profile (lab/realnode/cnp-conformance.sh; single node, kernel without SCTP: --no-sctp --single-node)"
  --no-sctp --single-node --host-network-port-start="$CNP_HOST_PORT_START" --report-output="$report.tmp")
[[ -z $features ]] || args+=(--supported-features="$features")
rn_log "running the network-policy-api conformance suite ($profile); log: $out/$profile.log"
started=$SECONDS
set +e
(cd "$out" && KUBECONFIG=$KUBECONFIG_ADMIN nice -n 10 "$suite" "${args[@]}" > "$out/$profile.log" 2>&1)
rc=$?
set -e
rn_log "suite finished in $((SECONDS - started)) s (exit $rc)"
if [[ -s $report.tmp ]]; then
  mv "$report.tmp" "$report"
  rn_log "report: $report"
else
  rm -f "$report.tmp"
  rn_log "no report written (the suite stopped before its end): see $out/$profile.log"
fi
grep -E '^(--- |    --- |ok|FAIL|PASS)' "$out/$profile.log" >&2 || true
exit $rc
