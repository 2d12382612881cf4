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
    // Most of a test's time is waiting on real processes (a lease's TTL, a fence, a cron minute), not
    // computing: three files at a time keep two cores busy without starving the timings (the fault
    // trials' windows are 6 s or more where a holder must keep leading).
    maxWorkers: 3,
    fileParallelism: true,
  },
})
