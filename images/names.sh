# Names of the images images/build.sh builds; also read by the real-node lab (lab/realnode/lib.sh)
# for containerd's sandbox_image and the chart's image values. Sourced, not run.
# shellcheck shell=bash
AGENT_IMAGE=weir.local/weir-agent:dev
WEBHOOK_IMAGE=weir.local/weir-webhook:dev
PAUSE_IMAGE=registry.k8s.io/pause:3.10.1
# What k8s.io/kubernetes v1.34.4's e2e suites ask for (test/utils/image/manifest.go).
AGNHOST_IMAGE=registry.k8s.io/e2e-test-images/agnhost:2.56
# Debian's iperf3 (bandwidth checks on the real node, test/realnode).
IPERF3_IMAGE=weir.local/iperf3:dev
