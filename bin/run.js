#!/usr/bin/env node
import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import Module, {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'
import vm from 'node:vm'

// gRPC sets the TLS server name to the endpoint's IP address, which Node deprecates with a warning
// on every TLS connection; deprecation notices are for elect's developers, not its users.
process.noDeprecation = true

const bundle = fileURLToPath(new URL('../dist/elect.cjs', import.meta.url))
const codeCache = `${bundle}.codecache`

/**
 * Loads the one bundled file (npm run build) with V8's compiled code for it, so that a process does
 * not compile 1.3 MB of JavaScript at every start: Node's own compile cache where Node has one
 * (22.8 and later), else the cache the build made. A cache V8 rejects (another Node) only costs the
 * compile it would have saved.
 */
function loadBundle() {
  if (Module.enableCompileCache) {
    Module.enableCompileCache()
    return {elect: createRequire(import.meta.url)(bundle)}
  }
  let cachedData
  try {
    cachedData = readFileSync(codeCache)
  } catch {
    // no cache: compile
  }
  // The bundle makes no import(): a script compiled from cached data would have no loader for it.
  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'utf8')), {filename: bundle, cachedData})
  const module = new Module(bundle)
  module.filename = bundle
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, fileURLToPath(new URL('.', `file://${bundle}`)))
  module.loaded = true
  return {elect: module.exports, script}
}

// oclif checks the running Node against its own package's engines when it loads: npm already did
// that for elect's at install, and the bundle has no package of oclif's to read.
process.env.OCLIF_DISABLE_ENGINE_WARNING = '1'
const {elect, script} = loadBundle()
// Not for the command's environment.
delete process.env.OCLIF_DISABLE_ENGINE_WARNING
await elect.run(import.meta.url)
// The build runs one command with this set, to leave the code of everything it ran compiled.
if (script && process.env.ELECT_BUILD_CODE_CACHE) {
  writeFileSync(`${codeCache}.tmp`, script.createCachedData())
  renameSync(`${codeCache}.tmp`, codeCache)
}
// etcd3 leaves gRPC channels and timers behind even after close(); every command has released what
// it holds by now, so exit instead of waiting for them to wind down.
process.exit()
