// npm run dist: release/elect-linux-x64 and release/elect-linux-arm64, each one file that carries its
// own Node (a single executable application: Node's binary with the bundle injected), a .deb of
// each, and release/SHA256SUMS. The bundle is the npm package's (bundle.ts), entered by src/sea.ts.
import {execFileSync, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {arch} from 'node:os'
import {basename, join} from 'node:path'
import {bundle, bundleLeanStartUps, BUNDLES, CODE_CACHE_RUNS} from './bundle.js'
import {debianPackage, manPage} from './deb.js'
import {nodeRuntime, RELEASE_NODE} from './node-runtime.js'
import {projectRoot} from '../harness/processes.js'

// The tests build one executable for this machine into a directory of their own.
const release = process.env.ELECT_DIST_OUT ?? join(projectRoot, 'release')
const work = join(release, '.build')
const ARCHES = (process.env.ELECT_DIST_ARCHES ?? 'x64,arm64').split(',')

rmSync(release, {recursive: true, force: true})
mkdirSync(work, {recursive: true})

const {name, version, description, oclif, bin} = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8'))
await bundle(join(projectRoot, 'src/sea.ts'), join(work, BUNDLES.elect), {ELECT_PACKAGE_JSON: JSON.stringify({name, version, description, oclif, bin})})
await bundleLeanStartUps(work)

// The blob is made by a Node of the release's version on this machine, which also runs one command
// to leave V8's compiled code of it (test/build/sea-main.cjs). That code only fits this machine's architecture:
// an executable for another one goes without.
const builder = nodeRuntime(RELEASE_NODE, arch())
const loader = join(projectRoot, 'test/build/sea-main.cjs')
for (const {argv, env} of CODE_CACHE_RUNS) spawnSync(builder, [loader, ...argv], {env: {...process.env, ELECT_SEA_BUILD_DIR: work, ...env}, stdio: 'ignore'})
spawnSync(builder, [join(projectRoot, 'test/build/etcd3-code.cjs'), work], {stdio: 'ignore'})
for (const bundled of Object.values(BUNDLES))
  if (!existsSync(join(work, `${bundled}.codecache`))) throw new Error(`${loader} left no compiled code of ${bundled} in ${work}`)
for (const target of ARCHES) {
  const blob = join(work, `${target}.blob`)
  const config = join(work, `${target}.json`)
  const useCodeCache = target === arch()
  const assets = Object.fromEntries(
    Object.values(BUNDLES).flatMap((bundled) => [
      [bundled, join(work, bundled)],
      ...(useCodeCache ? [[`${bundled}.codecache`, join(work, `${bundled}.codecache`)]] : []),
    ]),
  )
  writeFileSync(config, JSON.stringify({main: loader, output: blob, disableExperimentalSEAWarning: true, assets}))
  execFileSync(builder, ['--experimental-sea-config', config], {stdio: 'pipe'})

  const file = join(release, `elect-linux-${target}`)
  copyFileSync(nodeRuntime(RELEASE_NODE, target), file)
  execFileSync(
    join(projectRoot, 'node_modules', '.bin', 'postject'),
    [file, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'],
    // postject warns of ELF notes it cannot name, on every Node binary: noise.
    {stdio: 'pipe'},
  )
  console.log(`${file} (Node ${RELEASE_NODE}${useCodeCache ? ', with compiled code' : ''})`)
}

// Debian packages of them, with elect(1) from the help of this machine's executable.
const debs: string[] = []
if (spawnSync('dpkg-deb', ['--version'], {stdio: 'ignore'}).status === 0 && ARCHES.includes(arch())) {
  const [epoch, date] = execFileSync('git', ['log', '-1', '--format=%ct %cs'], {cwd: projectRoot, encoding: 'utf8'}).trim().split(' ')
  const page = manPage(join(release, `elect-linux-${arch()}`), version, date)
  for (const target of ARCHES) debs.push(debianPackage(join(release, `elect-linux-${target}`), target, version, page, release, epoch))
  console.log(debs.join('\n'))
} else {
  console.log('no dpkg-deb here, or no executable for this machine: no .deb packages')
}

const sums = [...ARCHES.map((target) => join(release, `elect-linux-${target}`)), ...debs].map(
  (file) => `${createHash('sha256').update(readFileSync(file)).digest('hex')}  ${basename(file)}\n`,
)
writeFileSync(join(release, 'SHA256SUMS'), sums.join(''))
rmSync(work, {recursive: true, force: true})
