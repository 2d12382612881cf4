// Preloaded into an elect process under test (NODE_OPTIONS=--require): once elect runs, Node emits a
// warning of its own, as it does for a timer it had to adjust or a deprecated API a dependency calls.
setImmediate(() => process.emitWarning('a delay of -1 ms was set to 1 ms', 'TimeoutNegativeWarning'))
