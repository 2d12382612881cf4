// Preloaded into a long-running elect process (NODE_OPTIONS=--require): appends one line of
// "<epoch ms> <rss bytes> <heap used bytes> <open fds>" to $ELECT_TEST_MEMORY_LOG every
// $ELECT_TEST_MEMORY_EVERY_MS (default 10 s), after a forced GC when --expose-gc is on.
const {appendFileSync, readdirSync} = require('node:fs')
const log = process.env.ELECT_TEST_MEMORY_LOG
const every = Number(process.env.ELECT_TEST_MEMORY_EVERY_MS ?? 10_000)
if (log) {
  const sample = () => {
    globalThis.gc?.()
    const {rss, heapUsed} = process.memoryUsage()
    appendFileSync(log, `${Date.now()} ${rss} ${heapUsed} ${readdirSync('/proc/self/fd').length}\n`)
  }
  sample()
  setInterval(sample, every).unref()
}
