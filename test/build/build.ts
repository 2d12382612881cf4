// npm run build: bundles src/main.ts and everything it loads into dist/elect.cjs, one file that a
// process reads and compiles at once (instead of some 500 modules), with etcd's gRPC services built
// from a descriptor made here rather than by parsing rpc.proto at every start (src/etcd/services.ts).
import {spawnSync} from 'node:child_process'
import {mkdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {bundle, bundleLean} from './bundle.js'
import {projectRoot} from '../harness/processes.js'

const dist = join(projectRoot, 'dist')
rmSync(dist, {recursive: true, force: true})
mkdirSync(dist)
await bundle(join(projectRoot, 'src/main.ts'), join(dist, 'elect.cjs'))
// The one-shot commands without oclif and gRPC (src/lean.ts).
await bundleLean(join(dist, 'lean.cjs'))

// V8's code for what a command runs, for Nodes without a compile cache of their own (bin/run.cjs): a
// who-leads against a port where nothing listens, on each bundle: oclif, the command and etcd3; the
// lean parser, the command and the gateway.
for (const lean of ['0', '1'])
  spawnSync(process.execPath, [join(projectRoot, 'bin/run.cjs'), 'who-leads', 'build', '--endpoints', '127.0.0.1:9', '--dial-timeout', '200ms'], {
    env: {...process.env, ELECT_BUILD_CODE_CACHE: '1', ELECT_LEAN: lean},
    stdio: 'ignore',
  })
