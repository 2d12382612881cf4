// The main script of the single executables (npm run dist): runs the bundles that the executable
// carries (src/lean.ts's, src/lean-run.ts's with etcd3's apart, and src/sea.ts's for the rest), with V8's compiled
// code for each where the build could make it (the build's own architecture). Node's own code cache for a single executable holds only the code that runs as the
// script loads, not the functions a command then calls (test/README.md's Performance section has the cost).
// It repeats bin/run.cjs's few lines of loading on purpose: a single executable's main script can
// require only Node's built-in modules, so a loader shared with bin/run.cjs would have to be inlined
// by the build, and neither file would then read as what runs.
const {readFileSync, renameSync, writeFileSync} = require('node:fs')
const Module = require('node:module')
const {dirname, join} = require('node:path')
const sea = require('node:sea')
const vm = require('node:vm')

// The build runs this file with plain Node on the bundles in ELECT_SEA_BUILD_DIR, to write the
// compiled code of one command of each beside them.
const building = !sea.isSea()

/** Runs the bundle `name` (elect.cjs, lean.cjs) that the executable carries, with its compiled code if it has it. */
function load(name) {
  const source = building ? readFileSync(join(process.env.ELECT_SEA_BUILD_DIR, name), 'utf8') : sea.getAsset(name, 'utf8')
  let cachedData
  try {
    // Building, what an earlier command of the build left: each adds the code it ran (lean-run.cjs has two).
    cachedData = building ? readFileSync(join(process.env.ELECT_SEA_BUILD_DIR, `${name}.codecache`)) : Buffer.from(sea.getAsset(`${name}.codecache`))
  } catch {
    // the first command of the build to load it; an executable for another architecture than the build's: compile
  }
  // The bundle makes no import(): a script compiled from cached data would have no loader for it.
  const script = new vm.Script(Module.wrap(source), {filename: name, cachedData})
  const bundle = {exports: {}}
  // The bundle's file is the executable, as oclif's loader is to see it (test/build/bundle.ts).
  script.runInThisContext()(bundle.exports, bundleRequire(), bundle, process.execPath, dirname(process.execPath))
  const loaded = {exports: bundle.exports, script, name}
  loadedBundles.push(loaded)
  return loaded
}

const loadedBundles = []

/** As bin/run.cjs's: Node's require, but etcd3's bundle that lean-run.cjs asks for once a run needs gRPC. */
function bundleRequire() {
  let etcd3
  return (id) => (id === './etcd3.cjs' ? (etcd3 ??= load('etcd3.cjs')).exports : require(id))
}

function keepCode(bundles) {
  if (!building) return
  for (const {script, name} of bundles) {
    const file = join(process.env.ELECT_SEA_BUILD_DIR, `${name}.codecache`)
    writeFileSync(`${file}.tmp`, script.createCachedData())
    renameSync(`${file}.tmp`, file)
  }
}

function runOnOclif() {
  const elect = load('elect.cjs')
  elect.exports.main().then(() => {
    keepCode([elect])
    // As in bin/run.cjs: etcd3 leaves gRPC channels and timers behind even after close().
    process.exit()
  })
}

// As in bin/run.cjs, which names the same commands and bundles.
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
  const lean = load(leanBundle)
  lean.exports.run(process.argv.slice(2)).then((code) => {
    if (code === undefined) return runOnOclif()
    keepCode(loadedBundles)
    process.exit(code)
  })
} else {
  runOnOclif()
}
