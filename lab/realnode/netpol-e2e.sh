#!/usr/bin/env bash
# `make realnode-netpol`: Kubernetes' own NetworkPolicy e2e suite (k8s.io/kubernetes v1.34.4,
# test/e2e/network/netpol, built by scripts/build-go-tools.sh realnode) against the running real
# node, with Weir enforcing. Writes the Ginkgo JSON report and log to $WEIR_NETPOL_OUT (default
# $RN_DIR/netpol-e2e) and the per-test table into docs/conformance.md (WEIR_NETPOL_DOC names
# another file; WEIR_NETPOL_DOC=none writes none, as the focused `make realnode-netpol-focused` does).
#   lab/realnode/netpol-e2e.sh                 every spec except [Feature:SCTPConnectivity]
#   lab/realnode/netpol-e2e.sh '<focus regex>' only the specs whose full name matches
#   lab/realnode/netpol-e2e.sh --focused       one spec per area (lab/realnode/netpol-focused.txt)
set -euo pipefail
# shellcheck source=lab/realnode/lib.sh
source "$(dirname "$0")/lib.sh"

daemon_alive kubelet || rn_die "the real node is not up: make realnode-up"
suite="$RN_BIN/netpol-e2e.test"
[[ -x $suite ]] || rn_die "missing $suite: run make realnode-tools"
out="${WEIR_NETPOL_OUT:-$RN_DIR/netpol-e2e}"
mkdir -p "$out"
focus=${1:-}
if [[ $focus == --focused ]]; then
  focus=$(grep -v '^#' "$RN_REPO/lab/realnode/netpol-focused.txt" | paste -sd '|')
fi
# SCTP connectivity needs the kernel's SCTP module, which this machine kind lacks (socket(...,
# IPPROTO_SCTP) fails with EPROTONOSUPPORT); upstream marks those specs opt-in for that reason.
# Naming any skip also lifts the framework's default skip of [Feature:...] specs.
args=(--kubeconfig "$KUBECONFIG_ADMIN" --ginkgo.no-color --ginkgo.v --ginkgo.timeout=4h
  --ginkgo.skip='\[Feature:SCTPConnectivity\]' --ginkgo.json-report="$out/report.json")
[[ -z $focus ]] || args+=(--ginkgo.focus="$focus")
rn_log "running the netpol suite; log: $out/suite.log"
started=$SECONDS
set +e
(cd "$out" && "$suite" "${args[@]}" > "$out/suite.log" 2>&1)
rc=$?
set -e
rn_log "suite finished in $((SECONDS - started)) s (exit $rc)"
command=(make realnode-netpol)
[[ -z $focus ]] || command=(lab/realnode/netpol-e2e.sh "'$focus'")
[[ ${1:-} != --focused ]] || command=(make realnode-netpol-focused)
# Each cluster network has its own results page: docs/conformance.md (bridge), docs/conformance-macvlan.md.
default_doc=$RN_REPO/docs/conformance.md
[[ $RN_NETWORK == bridge ]] || default_doc=$RN_REPO/docs/conformance-$RN_NETWORK.md
doc=${WEIR_NETPOL_DOC:-$default_doc}
if [[ $doc != none ]]; then
  WEIR_IMAGES_SOURCE=$(cat "$RN_IMAGES/source-version" 2>/dev/null || echo unknown) WEIR_CLUSTER_NETWORK=$RN_NETWORK \
    node --import tsx "$RN_REPO/lab/realnode/conformance-report.ts" "$out/report.json" "$doc" "${command[*]}"
fi
grep -E '^(Ran|SUCCESS|FAIL)' "$out/suite.log" >&2 || true
exit $rc
