// How elect is bundled, for npm's dist/elect.cjs (build.ts) and for the single executables (dist.ts):
// one CommonJS file that needs only Node's built-in modules and reads no other file.
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {basename, dirname, join} from 'node:path'
import {build, type Plugin} from 'esbuild'
import protobuf from 'protobufjs'
import {GRPC_BUNDLE} from '../../src/etcd/gateway-first.js'
import {rootOf} from '../../src/etcd/services.js'
import {projectRoot} from '../harness/processes.js'

const require = createRequire(import.meta.url)

/** A file of a dependency that this build rewrites: fails loudly once the text it expects has moved. */
function rewrite(name: string, file: RegExp, replace: (source: string, path: string) => string): Plugin {
  return {
    name,
    setup(bundle) {
      bundle.onLoad({filter: file}, (args) => {
        const contents = replace(readFileSync(args.path, 'utf8'), args.path)
        return {contents, loader: 'js', resolveDir: dirname(args.path)}
      })
    },
  }
}

function expectIn(source: string, path: string, text: string | RegExp): void {
  const found = typeof text === 'string' ? source.includes(text) : text.test(source)
  if (!found) throw new Error(`${path} no longer holds ${text} as this build expects: update test/build/bundle.ts`)
}

/** etcd3's own rpc.proto, as proto-loader reads it (field names as written). */
export function etcdDescriptor(): protobuf.INamespace {
  const protoFile = join(dirname(require.resolve('etcd3/package.json')), 'proto/rpc.proto')
  return new protobuf.Root().loadSync(protoFile, {keepCase: true}).toJSON()
}

// etcd3 loads its services with proto-loader's loadSync at module top (lib/connection-pool.js); the
// bundle calls etcdPackageDefinition with the same .proto, parsed now, and its types' code, generated now.
function etcdServices(): Plugin {
  const descriptor = etcdDescriptor()
  const services = join(projectRoot, 'src/etcd/services.ts')
  return rewrite('etcd-services', /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/, (source, path) => {
    const loadSync = /\(0, proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`, \{[^}]*\}\)/
    const protoLoader = 'const proto_loader_1 = require("@grpc/proto-loader");'
    expectIn(source, path, loadSync)
    expectIn(source, path, protoLoader)
    return source
      .replace(protoLoader, '')
      .replace(loadSync, `require(${JSON.stringify(services)}).etcdPackageDefinition(${JSON.stringify(descriptor)}, ${prebuiltTypesSource(descriptor)})`)
  })
}

/** The source of etcdPackageDefinition's `prebuilt` for the types of `descriptor`: what protobufjs would generate for each at run time. */
export function prebuiltTypesSource(descriptor: protobuf.INamespace): string {
  const root = rootOf(descriptor).resolveAll()
  const {Type} = protobuf
  const generated = (generator: {toString(): string}) => generator.toString()
  const entries: string[] = []
  const visit = (namespace: protobuf.NamespaceBase): void => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type) {
        entries.push(
          `${JSON.stringify(nested.fullName)}:{ctor:function(){return ${generated(Type.generateConstructor(nested))}},` +
            `codec:function(Writer,Reader,types,util){return{encode:${generated(protobuf.encoder(nested))},decode:${generated(protobuf.decoder(nested))},` +
            `fromObject:${generated(protobuf.converter.fromObject(nested))},toObject:${generated(protobuf.converter.toObject(nested))}}}}`,
        )
      }
      if (nested instanceof protobuf.Namespace) visit(nested)
    }
  }
  visit(root)
  return `{${entries.join(',\n')}}`
}

// oclif loads the commands and hooks that package.json names with require(path). The bundle is that
// path, and has them already: a single executable has no file to require at all.
function oclifLoadsTheBundle(): Plugin {
  return rewrite('oclif-module-loader', /[\\/]@oclif[\\/]core[\\/]lib[\\/]module-loader\.js$/, (source, path) => {
    const requireTarget = ': require(filePath)'
    const found = source.split(requireTarget).length - 1
    if (found !== 3) throw new Error(`${path} requires a module ${found} times, not 3 as this build expects: update test/build/bundle.ts`)
    return source.replaceAll(requireTarget, ': (filePath === __filename ? electBundle.exports : require(filePath))')
  })
}

// String.prototype.localeCompare sets up ICU's collator at its first call, 6-7 ms of every start:
// oclif calls it once, to sort the command ids it read from the manifest (ASCII: code points will do).
function plainCommandSort(): Plugin {
  return rewrite('oclif-command-sort', /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/, (source, path) => {
    const sort = '.sort((a, b) => a.id.localeCompare(b.id))'
    expectIn(source, path, sort)
    return source.replace(sort, '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))')
  })
}

// Node's isIPv6 compiles a large regular expression at its first call, ~5 ms of every process: gRPC
// asks it of every address it connects to. An IPv6 address has a colon; only such a string needs it.
function quickIPv6Check(): Plugin {
  return rewrite('grpc-ipv6-check', /[\\/]@grpc[\\/]grpc-js[\\/]build[\\/]src[\\/][^\\/]+\.js$/, (source, path) => {
    const isIPv6 = '(0, net_1.isIPv6)('
    if (path.endsWith('subchannel-address.js')) expectIn(source, path, isIPv6)
    return source.replaceAll(isIPv6, '((address) => String(address).includes(":") && (0, net_1.isIPv6)(address))(')
  })
}

/** The guard's script, inlined (src/supervise/guard-script.ts reads it from a file). */
function guardScriptInline(): Plugin {
  return {
    name: 'guard-script',
    setup(bundle) {
      bundle.onLoad({filter: /[\\/]src[\\/]supervise[\\/]guard-script\.ts$/}, (args) => {
        const text = readFileSync(join(dirname(args.path), 'guard.sh'), 'utf8')
        return {contents: `export const guardScript = ${JSON.stringify(text)}`, loader: 'ts'}
      })
    },
  }
}

/**
 * Modules by name in place of the packages of the same name: `{'etcd3': '/abs/path/gateway.ts'}` (the
 * names alone, not their files); a name given null is left to the loader to serve (see bin/run.cjs).
 */
function substitutes(modules: Record<string, string | null>): Plugin {
  return {
    name: 'substitutes',
    setup(bundle) {
      for (const [name, path] of Object.entries(modules))
        bundle.onResolve({filter: new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`)}, () => (path === null ? {path: name, external: true} : {path}))
    },
  }
}

/**
 * Bundles `entry` into `outfile`; `constants` are names the code declares and the build defines;
 * `modules` stand in for packages (the lean start-up's, see src/lean.ts).
 */
export async function bundle(
  entry: string,
  outfile: string,
  constants: Record<string, string> = {},
  modules: Record<string, string | null> = {},
): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Whitespace and syntax only: names stay, so that a stack trace (ELECT_DEBUG=1) still reads.
    minifyWhitespace: true,
    minifySyntax: true,
    // Only oclif's development mode (TypeScript sources) would load it.
    external: ['typescript'],
    // A bundled module's import.meta.url is the bundle's.
    define: {'import.meta.url': 'bundleUrl', ...constants},
    // `module` itself is shadowed inside each bundled CommonJS module.
    banner: {js: 'const electBundle = module, bundleUrl = require("node:url").pathToFileURL(__filename).href;'},
    plugins: [substitutes(modules), etcdServices(), oclifLoadsTheBundle(), plainCommandSort(), quickIPv6Check(), guardScriptInline()],
    logLevel: 'warning',
  })
}

/**
 * A lean start-up's bundle: `entry`'s commands on a small parser in place of oclif and etcd's JSON
 * gateway in place of etcd3: for run-if-leader, until a run needs a stream, when it loads etcd3's own
 * bundle (src/README.md, "Two start-ups").
 */
async function bundleLean(entry: 'lean' | 'lean-run', outfile: string): Promise<void> {
  const {version} = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {version: string}
  const modules: Record<string, string | null> = {'@oclif/core': join(projectRoot, 'src/cli/lean-oclif.ts')}
  if (entry === 'lean') modules.etcd3 = join(projectRoot, 'src/etcd/gateway.ts')
  else Object.assign(modules, {etcd3: join(projectRoot, 'src/etcd/gateway-first.ts'), [GRPC_BUNDLE]: null})
  await bundle(join(projectRoot, `src/${entry}.ts`), outfile, {ELECT_VERSION: JSON.stringify(version)}, modules)
}

/** The lean start-ups' bundles in `dir`: lean.cjs, lean-run.cjs, and etcd3 apart, for a run that gets as far as a stream. */
export async function bundleLeanStartUps(dir: string): Promise<void> {
  await bundleLean('lean', join(dir, BUNDLES.lean))
  await bundleLean('lean-run', join(dir, BUNDLES['lean-run']))
  await bundle(require.resolve('etcd3'), join(dir, BUNDLES.etcd3))
}

/** The bundles a start-up chooses from (bin/run.cjs), by the entry each is built from. */
export const BUNDLES = {elect: 'elect.cjs', lean: 'lean.cjs', 'lean-run': 'lean-run.cjs', etcd3: basename(GRPC_BUNDLE)} as const

/** A command line of each bundle for the build to run once against a port where nothing listens, leaving V8's code of what it ran. */
export const CODE_CACHE_RUNS: Array<{argv: string[]; env: Record<string, string>}> = [
  // oclif, the command and etcd3
  {argv: ['who-leads', 'build', '--endpoints', '127.0.0.1:9', '--dial-timeout', '200ms'], env: {ELECT_LEAN: '0'}},
  // the small parser, the command and the gateway
  {argv: ['who-leads', 'build', '--endpoints', '127.0.0.1:9', '--dial-timeout', '200ms'], env: {}},
  // the small parser, run-if-leader and the gateway (etcd3's bundle: test/build/etcd3-code.cjs)
  {argv: ['run-if-leader', 'build', '--endpoints', '127.0.0.1:9', '--dial-timeout', '200ms', '--', 'true'], env: {}},
]
