import { defineConfig } from 'vitest/config';

// One control plane (etcd + kube-apiserver) is started for the whole run by test/global-setup.ts
// and shared by every suite that needs it; suites isolate themselves by namespace.
// Files run one at a time: the traffic and shaping suites measure real throughput on a
// 2-core machine and must not compete with each other.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'build/**'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
