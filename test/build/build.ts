// npm run build: bundles src/main.ts and everything it loads into dist/elect.cjs, one file that a
// process reads and compiles at once (instead of some 500 modules), with etcd's gRPC services built
// from a descriptor made here rather than by parsing rpc.proto at every start (src/etcd/services.ts).
import {spawnSync} from 'node:child_process'
import {mkdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {bundle, bundleLeanStartUps, BUNDLES, CODE_CACHE_RUNS} from './bundle.js'
import {projectRoot} from '../harness/processes.js'

const dist = join(projectRoot, 'dist')
rmSync(dist, {recursive: true, force: true})
mkdirSync(dist)
await bundle(join(projectRoot, 'src/main.ts'), join(dist, BUNDLES.elect))
// The commands of cron lines and scripts without oclif (src/lean.ts, src/lean-run.ts).
await bundleLeanStartUps(dist)

// V8's code for what a command runs, for Nodes without a compile cache of their own (bin/run.cjs).
for (const {argv, env} of CODE_CACHE_RUNS)
  spawnSync(process.execPath, [join(projectRoot, 'bin/run.cjs'), ...argv], {env: {...process.env, ELECT_BUILD_CODE_CACHE: '1', ...env}, stdio: 'ignore'})
spawnSync(process.execPath, [join(projectRoot, 'test/build/etcd3-code.cjs'), dist], {stdio: 'ignore'})
