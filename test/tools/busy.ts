// npm run busy [-- minutes] [--load N]: elect at its default flags on a machine whose cores are kept
// busy by other work, with no fault injected, so that every loss it reports is a false kill. A
// standing campaign lends its leadership to a job attached every 10 s, and two servers fire a
// standalone election every 10 s (--once-per 10s: one runs, one skips). Every job takes the witness
// lock of its election (test/harness/processes.ts): a job that finds it held overlapped another.
// N spinning processes (6 by default) keep the load at N or more. Prints one line per minute and a
// verdict; exits 1 on a false kill or an overlap.
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {startCluster} from '../harness/etcd.js'
import {electProcess, readEvents, recorder, sleep, witnessOf} from '../harness/processes.js'

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback)
const minutes = Number(args.find((arg, index) => /^\d+(\.\d+)?$/.test(arg) && args[index - 1] !== '--load') ?? 60)
const spinners = option('--load', 6)

const cluster = await startCluster(1)
const dir = mkdtempSync(join(tmpdir(), 'elect-busy-'))
const baseEnv = {ELECT_ENDPOINTS: cluster.endpoints.join(','), NO_COLOR: '1'}
const machine = (name: string) => ({...baseEnv, ELECT_RUNTIME_DIR: join(dir, name)})
const load: ChildProcess[] = Array.from({length: spinners}, () => spawn('sh', ['-c', 'while :; do :; done'], {stdio: 'ignore'}))
const campaign = execa(...electProcess('campaign', 'busy-standing', '--value', 'leader'), {env: machine('leader'), reject: false})

interface Tally {
  runs: number
  skips: number
  falseKills: string[]
  overlaps: string[]
  otherFailures: string[]
}
const tally: Tally = {runs: 0, skips: 0, falseKills: [], overlaps: [], otherFailures: []}

/** One fire: a job of 3 s that takes the witness lock of `election`; tallies how it ended. */
async function fire(election: string, server: string, extra: string[]): Promise<void> {
  const jobDir = join(dir, election)
  mkdirSync(jobDir, {recursive: true})
  const log = join(jobDir, `log-${server}-${Date.now()}`)
  const result = await execa(...electProcess('run-if-leader', election, '--value', server, ...extra, '--', ...recorder(log, 3)), {
    env: machine(server),
    reject: false,
  })
  const start = readEvents(log).find((event) => event.event === 'start')
  if (start && witnessOf(start) === 'held') tally.overlaps.push(`${election} on ${server} at ${new Date(start.at).toISOString()}`)
  const at = new Date().toISOString()
  if (result.exitCode === 75) tally.falseKills.push(`${election} on ${server} at ${at}: ${result.stderr}`)
  else if (result.exitCode !== 0) tally.otherFailures.push(`${election} on ${server} at ${at}: exit ${result.exitCode} ${result.stderr}`)
  else if (start) tally.runs++
  else tally.skips++
}

const loadAverages: number[] = []
try {
  const started = Date.now()
  const until = started + minutes * 60_000
  let nextMinute = started + 60_000
  await sleep(3000)
  while (Date.now() < until) {
    const tick = Date.now()
    // Not awaited one by one: each tick's three fires overlap as a fleet's would.
    await Promise.all([
      fire('busy-standing', 'leader', ['--job', 'attached']),
      fire('busy-standalone', 'web-1', ['--once-per', '10s']),
      fire('busy-standalone', 'web-2', ['--once-per', '10s']),
    ])
    loadAverages.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]))
    if (Date.now() >= nextMinute) {
      nextMinute += 60_000
      const {runs, skips, falseKills, overlaps, otherFailures} = tally
      console.log(
        `${((Date.now() - started) / 60_000).toFixed(0)} min: load ${loadAverages.at(-1)}, ${runs} runs, ${skips} skips, ${falseKills.length} false kills, ${overlaps.length} overlaps, ${otherFailures.length} other failures`,
      )
    }
    await sleep(Math.max(0, Math.min(10_000 - (Date.now() - tick), until - Date.now())))
  }
} finally {
  for (const spinner of load) spinner.kill('SIGKILL')
  campaign.kill('SIGTERM')
  await campaign
  await cluster.stop()
  rmSync(dir, {recursive: true, force: true})
}
const sorted = [...loadAverages].sort((a, b) => a - b)
console.log(
  `\n${minutes} min at a load of ${sorted[0]}-${sorted.at(-1)} (median ${sorted[Math.floor(sorted.length / 2)]}; ${spinners} spinning processes), default flags:`,
)
console.log(
  `${tally.runs} runs, ${tally.skips} skips, ${tally.falseKills.length} false kills, ${tally.overlaps.length} overlaps, ${tally.otherFailures.length} other failures; campaign exit ${campaign.exitCode}`,
)
for (const line of [...tally.falseKills, ...tally.overlaps, ...tally.otherFailures]) console.log(`  ${line}`)
process.exitCode = tally.falseKills.length + tally.overlaps.length + tally.otherFailures.length === 0 && campaign.exitCode === 0 ? 0 : 1
