// Ends every run with a plain "tests: N passed, N failed, N skipped" line that any CI can read.
import type {Reporter, TestModule} from 'vitest/node'

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = {passed: 0, failed: 0, skipped: 0, pending: 0}
    for (const module of testModules) {
      for (const test of module.children.allTests()) counts[test.result().state]++
    }
    process.stdout.write(`tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`)
  }
}
