// The README's quick start: three simulated servers fire the same cron entry at once; exactly one
// runs the job. Uses ELECT_ENDPOINTS (or ETCDCTL_ENDPOINTS) when set, else an etcd started here.
import {execFile} from 'node:child_process'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import {type Cluster, startCluster} from '../harness/etcd.js'

const run = promisify(execFile)
const elect = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'bin', 'run.cjs')

let cluster: Cluster | undefined
const configured = process.env.ELECT_ENDPOINTS ?? process.env.ETCDCTL_ENDPOINTS
if (!configured) {
  process.stdout.write('No ELECT_ENDPOINTS set: starting a throwaway etcd on loopback... ')
  cluster = await startCluster(1)
  console.log(cluster.endpoints.join(','))
}
const env = {...process.env, ELECT_ENDPOINTS: configured ?? cluster!.endpoints.join(',')}

try {
  const job = `nightly-report-${Date.now()}`
  const servers = ['web-1', 'web-2', 'web-3']
  console.log(`\n$ elect run-if-leader ${job} --value <server> -- sh -c 'echo "$ELECT_VALUE runs the report (fencing token $ELECT_REV)"; sleep 1'`)
  console.log('  ...fired on three servers at the same moment:\n')
  const results = await Promise.all(
    servers.map((server) =>
      run(
        'node',
        [
          elect,
          'run-if-leader',
          job,
          '--value',
          server,
          '--verbose',
          '--',
          'sh',
          '-c',
          'echo "  $ELECT_VALUE runs the report (fencing token $ELECT_REV)"; sleep 1',
        ],
        {env},
      )
        .then(({stdout, stderr}) => ({server, code: 0, stdout, stderr}))
        .catch((error) => ({server, code: error.code as number, stdout: error.stdout as string, stderr: error.stderr as string})),
    ),
  )
  for (const result of results) {
    process.stdout.write(result.stdout)
    const skipped = /skipped: .*/.exec(result.stderr)?.[0]
    console.log(`  ${result.server}: exit ${result.code}${skipped ? ` (${skipped})` : ''}`)
  }
  const ran = results.filter((result) => result.stdout.includes('runs the report')).length
  console.log(`\n${ran === 1 ? 'Exactly one' : `${ran}`} of ${servers.length} servers ran the job.`)
  const {stdout: after} = await run('node', [elect, 'who-leads', job], {env}).catch((error) => error)
  console.log(`After the job: elect who-leads ${job} -> ${after.trim() || '(nobody: the leader released at once)'}`)
  const {stdout: record} = await run('node', [elect, 'runs', job], {env})
  console.log(`Where and how it ran: elect runs ${job}\n  ${record.trim().replace(/\t+$/, '').replace(/\t/g, '  ')}`)
  process.exitCode = ran === 1 ? 0 : 1
} finally {
  await cluster?.stop()
}
