// npm run soak [-- minutes]: a campaign at --ttl 2s lives for a while (30 minutes by default) with a
// job attached now and then; its RSS, heap (after GC) and open file descriptors are sampled every
// 10 s from inside it. Prints the curve, one row a minute, and the growth after warm-up.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {execa} from 'execa'
import {startCluster} from '../harness/etcd.js'
import {electBin, sleep} from '../harness/processes.js'

const minutes = Number(process.argv[2] ?? 30)
const cluster = await startCluster(1)
const dir = mkdtempSync(join(tmpdir(), 'elect-soak-'))
const memoryLog = join(dir, 'memory')
const env = {ELECT_ENDPOINTS: cluster.endpoints.join(','), ELECT_RUNTIME_DIR: join(dir, 'run'), NO_COLOR: '1'}
const preload = fileURLToPath(new URL('../harness/inject/memory.cjs', import.meta.url))
const campaign = execa('node', ['--expose-gc', electBin, 'campaign', 'soak', '--ttl', '2s'], {
  env: {...env, NODE_OPTIONS: `--require ${preload}`, ELECT_TEST_MEMORY_LOG: memoryLog},
  reject: false,
})
let jobs = 0
const failedJobs: string[] = []
try {
  const until = Date.now() + minutes * 60_000
  await sleep(2000)
  while (Date.now() < until) {
    // A job of a few seconds every half minute: attach, run under the leadership, release. Its
    // fencing window is 2 - 0.2 - 1 = 0.8 s, so the campaign renews every 0.27 s while it runs.
    const job = await execa('node', [electBin, 'run-if-leader', 'soak', '--job', 'tick', '--kill-grace', '0.2s', '--', 'sleep', '3'], {env, reject: false})
    if (job.exitCode !== 0) failedJobs.push(`job ${jobs} at ${new Date().toISOString()} exited ${job.exitCode}: ${job.stderr}`)
    jobs++
    await sleep(Math.min(27_000, until - Date.now()))
  }
} finally {
  campaign.kill('SIGTERM')
  await campaign
  await cluster.stop()
}
const samples = readFileSync(memoryLog, 'utf8')
  .trim()
  .split('\n')
  .map((line) => line.split(' ').map(Number))
const start = samples[0][0]
const mb = (bytes: number) => (bytes / 1048576).toFixed(1)
console.log(`campaign --ttl 2s for ${minutes} min, ${jobs} jobs attached (${failedJobs.length} failed); campaign exit ${campaign.exitCode}`)
for (const failure of failedJobs) console.log(failure)
console.log('| minute | RSS MB | heap used MB (after GC) | open fds |\n| --- | --- | --- | --- |')
for (const [at, rss, heap, fds] of samples.filter((_, index) => index % 6 === 0 || index === samples.length - 1))
  console.log(`| ${((at - start) / 60_000).toFixed(1)} | ${mb(rss)} | ${mb(heap)} | ${fds} |`)
const warm = samples.find(([at]) => at - start >= 120_000) ?? samples[0]
const last = samples.at(-1)!
console.log(`after warm-up (2 min) to the end: RSS ${mb(last[1] - warm[1])} MB, heap ${mb(last[2] - warm[2])} MB, fds ${last[3] - warm[3]}`)
rmSync(dir, {recursive: true, force: true})
