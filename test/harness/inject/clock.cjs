// Preloaded into an elect process under test (NODE_OPTIONS=--require): its wall clock runs
// ELECT_TEST_CLOCK_OFFSET_MS ahead (or behind, if negative), as a server's clock that is off.
const offset = Number(process.env.ELECT_TEST_CLOCK_OFFSET_MS ?? 0)
const realNow = Date.now
Date.now = () => realNow() + offset
