// Preloaded into an elect process under test (NODE_OPTIONS=--require): every watch stream it opens
// hears nothing from etcd, neither events nor errors, as a stream that stalled silently or lost its
// events. Whatever elect must notice then, it can notice only by reading etcd.
const rpc = require('etcd3/lib/rpc')

const openWatch = rpc.WatchClient.prototype.watch
rpc.WatchClient.prototype.watch = async function (...args) {
  const stream = await openWatch.apply(this, args)
  const emit = stream.emit.bind(stream)
  stream.emit = (event, ...rest) => (event === 'data' ? false : emit(event, ...rest))
  return stream
}
