import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    reporters: ['default', './test/harness/summary-reporter.ts'],
    // Generous, as the waits inside tests are: a passing test returns as soon as it can, and a busy CI
    // machine (two chaos runners beside the suite took some tests past 30 s) must not fail one.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Fault tests time real processes against real etcd: two cores do not take much parallelism.
    maxWorkers: 2,
    fileParallelism: true,
  },
})
