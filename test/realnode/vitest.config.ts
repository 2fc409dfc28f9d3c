import { defineConfig } from 'vitest/config';

// The real-node suite (`make realnode-test`): it brings up a whole node (kubelet, containerd,
// Multus, kube-proxy, Weir from its chart) and tears it down, so it runs on its own, not in
// `make test` (whose files match *.test.ts; these match *.realnode.ts).
export default defineConfig({
  test: {
    include: ['test/realnode/**/*.realnode.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 900_000,
    reporters: ['default'],
  },
});
