// The build's run of etcd3's own bundle (dist/etcd3.cjs), which only a run-if-leader that gets as far
// as a stream loads (src/etcd/gateway-first.ts), so no command line the build can run without etcd
// reaches it: a client makes a call and opens a keepalive stream against a port where nothing
// listens, and V8's code of what ran is written beside the bundle as <bundle>.codecache, for
// bin/run.cjs and the single executable's main script, which load it the same way (Module.wrap).
// Usage: node etcd3-code.cjs <dir of the bundles>
'use strict'
const {readFileSync, renameSync, writeFileSync} = require('node:fs')
const Module = require('node:module')
const {dirname, join} = require('node:path')
const vm = require('node:vm')

const bundle = join(process.argv[2], 'etcd3.cjs')
const script = new vm.Script(Module.wrap(readFileSync(bundle, 'utf8')), {filename: bundle})
const etcd3 = {exports: {}}
script.runInThisContext()(etcd3.exports, require, etcd3, bundle, dirname(bundle))

const client = new etcd3.exports.Etcd3({hosts: '127.0.0.1:9', defaultCallOptions: (context) => (context.isStream ? {} : {deadline: Date.now() + 200})})
const call = client.kv.range({key: Buffer.from('build')}).catch(() => undefined)
const stream = client.leaseClient.leaseKeepAlive().then(
  (keepalive) =>
    new Promise((resolve) => {
      keepalive.on('error', resolve).on('end', resolve)
      keepalive.write({ID: '1'})
      setTimeout(resolve, 500)
    }),
  () => undefined,
)
Promise.all([call, stream]).then(() => {
  client.close()
  const file = `${bundle}.codecache`
  writeFileSync(`${file}.${process.pid}`, script.createCachedData())
  renameSync(`${file}.${process.pid}`, file)
  process.exit()
})
