// npm run build: bundles src/main.ts and everything it loads into dist/elect.cjs, one file that a
// process reads and compiles at once (instead of some 500 modules), with etcd's gRPC services built
// from a descriptor made here rather than by parsing rpc.proto at every start (src/etcd/services.ts).
import {spawnSync} from 'node:child_process'
import {copyFileSync, mkdirSync, readFileSync, rmSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {build, type Plugin} from 'esbuild'
import protobuf from 'protobufjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const dist = join(root, 'dist')
const require = createRequire(import.meta.url)

// etcd3 loads its services with proto-loader's loadSync at module top (lib/connection-pool.js); the
// bundle calls etcdPackageDefinition with the same .proto, parsed now, instead.
const protoFile = join(dirname(require.resolve('etcd3/package.json')), 'proto/rpc.proto')
const descriptor = new protobuf.Root().loadSync(protoFile, {keepCase: true}).toJSON()
const services = join(root, 'src/etcd/services.ts')
const etcdServices: Plugin = {
  name: 'etcd-services',
  setup(bundle) {
    bundle.onLoad({filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/}, (args) => {
      const source = readFileSync(args.path, 'utf8')
      const loadSync = /\(0, proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`, \{[^}]*\}\)/
      if (!loadSync.test(source)) throw new Error(`${args.path} no longer loads rpc.proto as this build expects: update test/support/build.ts`)
      const protoLoader = 'const proto_loader_1 = require("@grpc/proto-loader");'
      if (!source.includes(protoLoader)) throw new Error(`${args.path} no longer requires proto-loader as this build expects: update test/support/build.ts`)
      const replaced = source
        .replace(protoLoader, '')
        .replace(loadSync, `require(${JSON.stringify(services)}).etcdPackageDefinition(${JSON.stringify(descriptor)})`)
      return {contents: replaced, loader: 'js', resolveDir: dirname(args.path)}
    })
  },
}

rmSync(dist, {recursive: true, force: true})
mkdirSync(dist)
await build({
  entryPoints: [join(root, 'src/main.ts')],
  outfile: join(dist, 'elect.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Whitespace and syntax only: names stay, so that a stack trace (ELECT_DEBUG=1) still reads.
  minifyWhitespace: true,
  minifySyntax: true,
  // Only oclif's development mode (TypeScript sources) would load it.
  external: ['typescript'],
  // A bundled module's import.meta.url is the bundle's: dist/, where guard.sh is copied.
  define: {'import.meta.url': 'bundleUrl'},
  banner: {js: 'const bundleUrl = require("node:url").pathToFileURL(__filename).href;'},
  plugins: [etcdServices],
  logLevel: 'warning',
})
copyFileSync(join(root, 'src/supervise/guard.sh'), join(dist, 'guard.sh'))

// V8's code for what a command runs, for Nodes without a compile cache of their own (bin/run.js): one
// who-leads against a port where nothing listens loads and runs oclif, the command and etcd3.
spawnSync(process.execPath, [join(root, 'bin/run.js'), 'who-leads', 'build', '--endpoints', '127.0.0.1:9', '--dial-timeout', '200ms'], {
  env: {...process.env, ELECT_BUILD_CODE_CACHE: '1'},
  stdio: 'ignore',
})
