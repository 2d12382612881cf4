// Preloaded into an elect process under test (NODE_OPTIONS=--require): every watch stream it opens
// hears nothing from etcd, neither events nor errors, as a stream that stalled silently or lost its
// events. Whatever elect must notice then, it can notice only by reading etcd.
//
// elect carries etcd3 and gRPC in its bundle (or its single executable), out of a preload's reach;
// what they share with it is Node's http2, on which each gRPC call is a stream named by its method.
const http2 = require('node:http2')

const WATCH = '/etcdserverpb.Watch/Watch'
const connect = http2.connect
http2.connect = function (...args) {
  const session = connect.apply(this, args)
  const request = session.request
  session.request = function (headers, ...rest) {
    const stream = request.call(this, headers, ...rest)
    if (headers?.[':path'] === WATCH) {
      const emit = stream.emit.bind(stream)
      stream.emit = (event, ...values) => (event === 'data' ? false : emit(event, ...values))
    }
    return stream
  }
  return session
}
