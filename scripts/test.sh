#!/usr/bin/env bash
# Every test: the strict type check, ESLint over the whole repository (eslint.config.js; any finding
# fails), the C format check (scripts/check-c-format.sh), vitest (unit, real control plane, BPF,
# netns, traffic), then the real node (test/realnode: kubelet, containerd, Multus, kube-proxy, Weir
# from its chart and images, Kubernetes' netpol e2e subset; docs/real-node.md).
# Under CI=true the privileged suites must run; outside CI they skip loudly when not root.
# With arguments (vitest file filters), only those vitest files run.
set -euo pipefail
cd "$(dirname "$0")/.."
# The cached Node.js 22 (scripts/node22.sh) runs everything; vitest's `#!/usr/bin/env node` and the
# processes the suites spawn (process.execPath) follow PATH.
node22=$(bash scripts/node22.sh)
export PATH="$(dirname "$node22"):${WEIR_CACHE:-$HOME/.cache/weir}/bin:$PATH"
echo "[test] node $(node --version)"
echo "[test] tsc --noEmit (strict)"
node_modules/.bin/tsc --noEmit -p tsconfig.json
echo "[test] eslint (typescript-eslint strict, type-checked)"
node_modules/.bin/eslint --max-warnings 0 .
echo "[test] clang-format (C and C++ of bpf/ and native/)"
bash scripts/check-c-format.sh
echo "[test] vitest"
node_modules/.bin/vitest run "$@"
(($# == 0)) || exit 0
if [[ $(id -u) != 0 && ${CI:-} != true ]]; then
  echo "[test] SKIPPED: the real node (test/realnode) runs a kubelet, containerd and iptables rules: run as root" >&2
  exit 0
fi
echo "[test] the real node: its tools and images (cached in ~/.cache/weir), then test/realnode"
make --no-print-directory realnode-images
node_modules/.bin/vitest run --config test/realnode/vitest.config.ts
