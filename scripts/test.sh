#!/usr/bin/env bash
# Every test: the strict type check, ESLint over the whole repository (eslint.config.js; any finding
# fails), the C format check (scripts/check-c-format.sh), then vitest (unit, real control plane, BPF,
# netns, traffic).
# Under CI=true the privileged suites must run; outside CI they skip loudly when not root.
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
