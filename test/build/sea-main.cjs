// The main script of the single executables (npm run dist): runs the bundle (src/sea.ts) that the
// executable carries, with V8's compiled code for it where the build could make it (the build's own
// architecture). Node's own code cache for a single executable holds only the code that runs as the
// script loads, not the functions a command then calls (test/README.md's Performance section has the cost).
// It repeats bin/run.cjs's few lines of loading on purpose: a single executable's main script can
// require only Node's built-in modules, so a loader shared with bin/run.cjs would have to be inlined
// by the build, and neither file would then read as what runs.
const {readFileSync, renameSync, writeFileSync} = require('node:fs')
const Module = require('node:module')
const {dirname} = require('node:path')
const sea = require('node:sea')
const vm = require('node:vm')

// The build runs this file with plain Node on the bundle (ELECT_SEA_BUNDLE), to write the compiled
// code of one command to ELECT_SEA_CODE_CACHE.
const building = !sea.isSea()
const source = building ? readFileSync(process.env.ELECT_SEA_BUNDLE, 'utf8') : sea.getAsset('elect.cjs', 'utf8')
let cachedData
if (!building) {
  try {
    cachedData = Buffer.from(sea.getAsset('elect.cjs.codecache'))
  } catch {
    // an executable for another architecture than the build's: compile
  }
}
// The bundle makes no import(): a script compiled from cached data would have no loader for it.
const script = new vm.Script(Module.wrap(source), {filename: 'elect.cjs', cachedData})
const bundle = {exports: {}}
// The bundle's file is the executable, as oclif's loader is to see it (test/build/bundle.ts).
script.runInThisContext()(bundle.exports, require, bundle, process.execPath, dirname(process.execPath))
bundle.exports.main().then(() => {
  if (building) {
    writeFileSync(`${process.env.ELECT_SEA_CODE_CACHE}.tmp`, script.createCachedData())
    renameSync(`${process.env.ELECT_SEA_CODE_CACHE}.tmp`, process.env.ELECT_SEA_CODE_CACHE)
  }
  // As in bin/run.cjs: etcd3 leaves gRPC channels and timers behind even after close().
  process.exit()
})
