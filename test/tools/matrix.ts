// npm run test:matrix (CI runs it after npm test): the integration and fault tests again on the
// etcd versions operators run and on Node 24, and as the single executable (npm run dist first).
// A leg of its own: `npm run test:matrix -- node=22.23.3,etcd=3.5` (node: a version of npm's
// node-linux-* packages, or "system"; etcd: 3.4, 3.5.16 or 3.5; sea: the single executable instead of Node).
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {arch} from 'node:os'
import {delimiter, dirname, join} from 'node:path'
import {projectRoot} from '../harness/processes.js'
import {findEtcdBinaries, versionOf} from '../harness/etcd.js'
import {nodeRuntime, RELEASE_NODE} from '../build/node-runtime.js'

interface Leg {
  node: string
  etcd: string
  sea?: boolean
}

// npm test runs the whole suite on the machine's Node (20 on Debian 12) and the newest etcd Debian has
// (sid's 3.5.30). The legs: Debian 12's etcd 3.4.23, Debian 13's 3.5.16 (the versions operators run,
// with known lease bugs), and the single executable (Node 24) on 3.5.30. CI keeps to three legs.
const LEGS: Leg[] = [
  {node: 'system', etcd: '3.4'},
  {node: RELEASE_NODE, etcd: '3.5.16'},
  {node: 'system', etcd: '3.5', sea: true},
]
// Not what the versions change: pure functions (test/unit), the packaging (test/release), help texts
// and the README.
const SKIPPED = ['test/unit/**', 'test/release/**', 'test/cli/help.test.ts', 'test/cli/readme.test.ts']

function parseLeg(text: string): Leg {
  const fields = Object.fromEntries(text.split(',').map((pair) => pair.split('=')))
  return {node: fields.node ?? 'system', etcd: fields.etcd ?? '3.5', sea: 'sea' in fields}
}

const legs = process.argv.length > 2 ? process.argv.slice(2).map(parseLeg) : LEGS
const summary: string[] = []
let failed = false
for (const leg of legs) {
  const env: NodeJS.ProcessEnv = {...process.env, ELECT_TEST_ETCD: leg.etcd}
  if (leg.node !== 'system') env.PATH = `${dirname(nodeRuntime(leg.node, arch()))}${delimiter}${process.env.PATH}`
  if (leg.sea) {
    env.ELECT_BIN = join(projectRoot, 'release', `elect-linux-${arch()}`)
    if (!existsSync(env.ELECT_BIN)) throw new Error(`${env.ELECT_BIN} is missing: npm run dist first`)
  }
  const nodeVersion = execFileSync('node', ['--version'], {env, encoding: 'utf8'}).trim()
  const etcdVersion = versionOf(findEtcdBinaries(leg.etcd))
  const label = `${leg.sea ? 'single executable (Node 24)' : `Node ${nodeVersion}`}, etcd ${etcdVersion}`
  console.log(`\n== ${label}`)
  const started = Date.now()
  const run = spawnSync('npx', ['vitest', 'run', '--config', 'test/vitest.config.ts', ...SKIPPED.flatMap((file) => ['--exclude', file])], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  })
  process.stdout.write(run.stdout)
  const counts = /^tests: .*$/m.exec(run.stdout)?.[0] ?? 'no test ran'
  summary.push(`${label}: ${counts} in ${Math.round((Date.now() - started) / 1000)} s`)
  failed ||= run.status !== 0
}
console.log(`\n${summary.join('\n')}`)
process.exit(failed ? 1 : 0)
