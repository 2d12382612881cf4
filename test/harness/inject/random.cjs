// Preloaded into an elect process under test (NODE_OPTIONS=--require): Math.random returns
// ELECT_TEST_RANDOM, so a random delay (--jitter) is one the test chooses.
const value = Number(process.env.ELECT_TEST_RANDOM)
Math.random = () => value
