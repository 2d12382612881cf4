#!/usr/bin/env node
// CommonJS, not a module: Node sets up its ES module loader for an entry point that is one, at
// every start (test/README.md's "Where the time goes" has what each of these choices saves).
'use strict'
const {mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} = require('node:fs')
const Module = require('node:module')
const {homedir} = require('node:os')
const {basename, dirname, join} = require('node:path')
const {pathToFileURL} = require('node:url')
const vm = require('node:vm')

// gRPC sets the TLS server name to the endpoint's IP address, which Node deprecates with a warning
// on every TLS connection; deprecation notices are for elect's developers, not its users.
process.noDeprecation = true

const dist = join(__dirname, '../dist')

/**
 * Where this user keeps V8's code for a bundle on a Node other than the build's (whose code V8
 * rejects): one file per bundle, Node and V8 options, the last one written.
 */
function userCache(bundle) {
  const {size, mtimeMs} = statSync(bundle)
  const options = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`
  let hash = 0
  for (let index = 0; index < options.length; index++) hash = (hash * 31 + options.charCodeAt(index)) >>> 0
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'elect')
  const prefix = `${basename(bundle, '.cjs')}-${process.version}-${process.arch}-`
  return {dir, prefix, file: join(dir, `${prefix}${size}-${Math.trunc(mtimeMs)}-${hash.toString(36)}`)}
}

function readOrNothing(file) {
  try {
    return readFileSync(file)
  } catch {
    return undefined
  }
}

/**
 * Loads the one bundled file (npm run build) with V8's compiled code of a whole command, so that a
 * process neither compiles 1.4 MB of JavaScript nor the functions a command calls at every start:
 * the code the build made, or, on another Node, what this user's last run left (written after a run
 * whose code V8 rejected). Node's own compile cache (22.8+) would hold only the code that runs while
 * the bundle loads, not the functions a command then calls. A rejected cache only costs the
 * compile it would have saved.
 */
function loadBundle(name) {
  const bundle = join(dist, name)
  const cache = userCache(bundle)
  const cachedData = readOrNothing(cache.file) ?? readOrNothing(`${bundle}.codecache`)
  // The bundle makes no import(): a script compiled from cached data would have no loader for it.
  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'utf8')), {filename: bundle, cachedData})
  const module = new Module(bundle)
  module.filename = bundle
  script.runInThisContext()(module.exports, bundleRequire(bundle), module, bundle, dirname(bundle))
  module.loaded = true
  const loaded = {exports: module.exports, script, cache, buildCache: `${bundle}.codecache`}
  loadedBundles.push(loaded)
  return loaded
}

const loadedBundles = []

/**
 * A bundle's require: Node's, but etcd3's own bundle, which lean-run.cjs requires only once a run
 * needs gRPC (src/etcd/gateway-first.ts), loaded as the others, with its code.
 */
function bundleRequire(bundle) {
  const nodeRequire = Module.createRequire(bundle)
  let etcd3
  return (id) => (id === './etcd3.cjs' ? (etcd3 ??= loadBundle('etcd3.cjs')).exports : nodeRequire(id))
}

/** Writes the code of everything the command ran; a cache that cannot be written is only slower. */
function saveCode(script, file) {
  try {
    writeFileSync(`${file}.${process.pid}`, script.createCachedData())
    renameSync(`${file}.${process.pid}`, file)
  } catch {
    // read-only or missing home, full disk: the next run compiles again
  }
}

/** The user's cache of a bundle for this Node, in place of the one for an older bundle. */
function saveUserCode(script, {dir, prefix, file}) {
  try {
    mkdirSync(dir, {recursive: true, mode: 0o700})
    // code-*: one bundle's caches, as they were named before there were two.
    for (const name of readdirSync(dir))
      if ((name.startsWith(prefix) || name.startsWith('code-')) && join(dir, name) !== file) rmSync(join(dir, name), {force: true})
  } catch {
    return
  }
  saveCode(script, file)
}

/** Keeps the code that these bundles ran, for the next start (see loadBundle). */
function keepCode(bundles) {
  for (const {script, cache, buildCache} of bundles) {
    if (process.env.ELECT_BUILD_CODE_CACHE) {
      // The build runs a command of each bundle with this set, to leave the code of everything it ran compiled.
      saveCode(script, buildCache)
    } else if (script.cachedDataRejected !== false) {
      saveUserCode(script, cache)
    }
  }
}

/** The whole command line on oclif: help, completion, usage errors and the commands that stand. */
function runOnOclif() {
  // oclif checks the running Node against its own package's engines when it loads: npm already did
  // that for elect's at install, and the bundle has no package of oclif's to read.
  process.env.OCLIF_DISABLE_ENGINE_WARNING = '1'
  const loaded = loadBundle('elect.cjs')
  // Not for the command's environment.
  delete process.env.OCLIF_DISABLE_ENGINE_WARNING
  loaded.exports.run(pathToFileURL(__filename).href).then(() => {
    // Only oclif's: a lean bundle that handed the line back ran too little of itself to keep.
    keepCode([loaded])
    // etcd3 leaves gRPC channels and timers behind even after close(); every command has released what
    // it holds by now, so exit instead of waiting for them to wind down.
    process.exit()
  })
}

// The commands of cron lines and scripts' loops start without oclif: the one-shot ones on a bundle
// without gRPC either (src/lean.ts), run-if-leader on one that loads etcd3's bundle only once a run
// needs its streams (src/lean-run.ts). Each names the same commands; each hands back to oclif what it does not take.
// ELECT_LEAN=0 runs everything on oclif, to tell them apart.
const LEAN_BUNDLES = {
  '--version': 'lean.cjs',
  pause: 'lean.cjs',
  resume: 'lean.cjs',
  runs: 'lean.cjs',
  'who-leads': 'lean.cjs',
  'run-if-leader': 'lean-run.cjs',
}
const leanBundle = Object.hasOwn(LEAN_BUNDLES, process.argv[2]) && process.env.ELECT_LEAN !== '0' ? LEAN_BUNDLES[process.argv[2]] : undefined
if (leanBundle) {
  const lean = loadBundle(leanBundle)
  lean.exports.run(process.argv.slice(2)).then((code) => {
    if (code === undefined) return runOnOclif()
    keepCode(loadedBundles)
    process.exit(code)
  })
} else {
  runOnOclif()
}
