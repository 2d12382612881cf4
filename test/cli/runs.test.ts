// Run records and what reads them: elect runs, --succeeded-within, --metrics-file.
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import type {RunRecord} from '../../src/jobs/records.js'
import {cleanup, elect, etcdctl, raftIndex, startHolder, tempDir, uniqueName, useOwnCluster, waitFor} from '../harness/cli.js'

// An etcd of this file's own: a skip is checked by the raft index not moving.
useOwnCluster()
afterEach(cleanup)

/** As `elect runs --json` prints it. */
type Record = RunRecord & {stale?: boolean}

const runs = async (name: string, flags: string[] = []) => {
  const result = await elect(['runs', name, '--json', ...flags])
  expect([result.exitCode, result.stderr]).toEqual([0, ''])
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record)
}
const leaseOf = async (name: string) => JSON.parse((await elect(['who-leads', name, '--json'])).stdout).leader.lease as string

describe('run records', () => {
  it('record each way a run ends: succeeded, failed with its status, lost, interrupted, timed out', async () => {
    const name = uniqueName('outcomes')
    expect((await elect(['run-if-leader', name, '--value', 'web-1', '--', 'true'])).exitCode).toBe(0)
    expect((await elect(['run-if-leader', name, '--value', 'web-1', '--', 'sh', '-c', 'exit 7'])).exitCode).toBe(7)

    const lostLog = join(tempDir(), 'lost')
    const lost = await startHolder(name, lostLog, ['--value', 'web-2'])
    etcdctl(['lease', 'revoke', await leaseOf(name)])
    expect((await lost.holder).exitCode).toBe(75)

    const interruptedLog = join(tempDir(), 'interrupted')
    const interrupted = await startHolder(name, interruptedLog, ['--value', 'web-3'])
    interrupted.holder.kill('SIGTERM')
    await interrupted.holder

    // A job that ignores SIGTERM: SIGKILL ends it, a --kill-grace after the limit.
    const ignoresTerm = ['sh', '-c', 'trap "" TERM; sleep 300']
    expect((await elect(['run-if-leader', name, '--value', 'web-4', '--max-runtime', '1s', '--kill-grace', '1s', '--', ...ignoresTerm])).exitCode).toBe(125)

    const [timedOut, last, third, second, first] = await runs(name)
    expect([first.outcome, first.status, first.value, first.reason]).toEqual(['succeeded', 0, 'web-1', null])
    expect([second.outcome, second.status]).toEqual(['failed', 7])
    expect([third.outcome, third.status, third.value]).toEqual(['lost', 75, 'web-2'])
    expect(third.reason).toMatch(/revoked|deleted/)
    expect([last.outcome, last.reason, last.value]).toEqual(['interrupted', 'SIGTERM', 'web-3'])
    expect([timedOut.outcome, timedOut.status, timedOut.reason, timedOut.value]).toEqual(['timed-out', 125, 'it ran for its limit of 1s', 'web-4'])
    expect(timedOut.durationMs).toBeGreaterThanOrEqual(2000)
    for (const record of [first, second, third, last, timedOut]) {
      expect(record.job).toBeNull()
      // The duration is the monotonic clock's, the timestamps the wall clock's: without a step between
      // them they agree but for rounding and for the moments between reading one clock and the other,
      // which a busy machine stretches (6 ms once in CI). 100 ms still tells a duration in other units
      // or from another start (test/faults/clocks.test.ts steps the wall clock by an hour).
      expect(Math.abs(Date.parse(record.endedAt!) - Date.parse(record.startedAt) - record.durationMs!)).toBeLessThanOrEqual(100)
    }
    // Each ran under a leadership of its own: the fencing tokens grow.
    expect(first.rev < second.rev && second.rev < third.rev && third.rev < last.rev && last.rev < timedOut.rev).toBe(true)
  })

  it("keep the newest --keep-runs per job, newest first, and leave other jobs' records alone", async () => {
    const name = uniqueName('prune')
    expect((await elect(['run-if-leader', name, '--job', 'other', '--', 'true'])).exitCode).toBe(0)
    for (const server of ['a', 'b', 'c', 'd', 'e']) {
      expect((await elect(['run-if-leader', name, '--value', server, '--keep-runs', '3', '--', 'true'])).exitCode).toBe(0)
    }
    expect((await runs(name, ['--job', 'other'])).map((record) => record.job)).toEqual(['other'])
    const own = (await runs(name)).filter((record) => record.job === null)
    expect(own.map((record) => record.value)).toEqual(['e', 'd', 'c'])
    expect((await runs(name, ['--limit', '2'])).map((record) => record.value)).toEqual(['e', 'd'])
  }, 90_000) // nine elect processes one after another: 27 s on two cores under a load of 13

  it('a skip writes no record and makes no proposal', async () => {
    const name = uniqueName('skip')
    const {holder} = await startHolder(name, join(tempDir(), 'holder'))
    expect(await runs(name)).toMatchObject([{outcome: 'running'}])
    const before = raftIndex()
    expect((await elect(['run-if-leader', name, '--', 'true'])).exitCode).toBe(0)
    expect(raftIndex()).toBe(before)
    holder.kill('SIGTERM')
    await holder
    expect(await runs(name)).toMatchObject([{outcome: 'interrupted'}])
  })

  it('a run whose elect was killed shows as running until its lease is gone, then as stale', async () => {
    const name = uniqueName('stale')
    const log = join(tempDir(), 'events')
    // A short TTL, for the lease to go soon after; a 2.5 s fencing window, which a busy machine's
    // renewals keep (one of 0.5 s was lost before the command started, at a load of 13 on 2 cores).
    const {holder} = await startHolder(name, log, ['--ttl', '4s', '--kill-grace', '0.5s'])
    holder.kill('SIGKILL')
    await holder
    const [record] = await runs(name)
    expect(record.outcome).toBe('running')
    expect(await waitFor(async () => (await runs(name))[0].stale === true, 10_000, 200)).toBe(true)
    expect((await elect(['runs', name])).stdout).toContain('end not recorded')
  })

  it('--succeeded-within: 3 and what it found with no run or only failures, 0 once one succeeded', async () => {
    const name = uniqueName('within')
    const none = await elect(['runs', name, '--succeeded-within', '1h'])
    expect([none.exitCode, none.stdout, none.stderr]).toEqual([3, '', `elect: no run of ${name} succeeded within 1h: no run at all`])

    expect((await elect(['run-if-leader', name, '--value', 'web-3', '--', 'sh', '-c', 'exit 2'])).exitCode).toBe(2)
    const failed = await elect(['runs', name, '--succeeded-within', '1h'])
    expect(failed.exitCode).toBe(3)
    expect(failed.stderr).toMatch(new RegExp(`^elect: no run of ${name} succeeded within 1h: the last run failed with status 2 on web-3 at \\S+$`))

    // A run stopped at its --max-runtime is no success either, for the check and for the metrics.
    const metrics = join(tempDir(), 'elect.prom')
    expect((await elect(['run-if-leader', name, '--value', 'web-4', '--max-runtime', '500ms', '--metrics-file', metrics, '--', 'sleep', '300'])).exitCode).toBe(
      125,
    )
    const timedOut = await elect(['runs', name, '--succeeded-within', '1h'])
    expect(timedOut.exitCode).toBe(3)
    expect(timedOut.stderr).toMatch(
      new RegExp(`^elect: no run of ${name} succeeded within 1h: the last run was stopped on web-4 at \\S+: it ran for its limit of 500ms$`),
    )
    const samples = parsePrometheus(readFileSync(metrics, 'utf8'))
    expect([samples.get(`elect_last_run_success{name="${name}",job=""}`), samples.get(`elect_last_run_exit_status{name="${name}",job=""}`)]).toEqual([0, 125])

    expect((await elect(['run-if-leader', name, '--', 'true'])).exitCode).toBe(0)
    const succeeded = await elect(['runs', name, '--succeeded-within', '1h'])
    expect([succeeded.exitCode, succeeded.stdout, succeeded.stderr]).toEqual([0, '', ''])
    const job = await elect(['runs', name, '--job', 'other', '--succeeded-within', '1h'])
    expect([job.exitCode, job.stderr]).toEqual([3, `elect: no run of job other of ${name} succeeded within 1h: no run at all`])
  })

  it('--metrics-file: the last run and skip in the Prometheus text format, replaced whole', async () => {
    const name = uniqueName('metrics')
    const dir = tempDir()
    const file = join(dir, 'elect.prom')
    expect((await elect(['run-if-leader', name, '--job', 'report', '--metrics-file', file, '--', 'sh', '-c', 'exit 5'])).exitCode).toBe(5)
    const afterRun = readFileSync(file, 'utf8')
    const samples = parsePrometheus(afterRun)
    const labels = `{name="${name}",job="report"}`
    expect(samples.get(`elect_last_run_exit_status${labels}`)).toBe(5)
    expect(samples.get(`elect_last_run_success${labels}`)).toBe(0)
    // Timestamps by the wall clock, the duration by the monotonic one: a few ms apart at most without a step.
    expect(samples.get(`elect_last_run_end_timestamp_seconds${labels}`)! - samples.get(`elect_last_run_start_timestamp_seconds${labels}`)!).toBeCloseTo(
      samples.get(`elect_last_run_duration_seconds${labels}`)!,
      2,
    )
    expect(Math.abs(samples.get(`elect_last_run_end_timestamp_seconds${labels}`)! - Date.now() / 1000)).toBeLessThan(60)
    expect(samples.has(`elect_last_skip_timestamp_seconds${labels}`)).toBe(false)

    // A skip adds its time and keeps the run's values; nothing but the file is left in the directory.
    const {holder} = await startHolder(name, join(tempDir(), 'holder'), ['--job', 'report'])
    expect((await elect(['run-if-leader', name, '--job', 'report', '--metrics-file', file, '--', 'true'])).exitCode).toBe(0)
    const afterSkip = parsePrometheus(readFileSync(file, 'utf8'))
    expect(afterSkip.get(`elect_last_run_exit_status${labels}`)).toBe(5)
    expect(Math.abs(afterSkip.get(`elect_last_skip_timestamp_seconds${labels}`)! - Date.now() / 1000)).toBeLessThan(60)
    expect(readdirSync(dir)).toEqual(['elect.prom'])
    holder.kill('SIGTERM')
    await holder
  })

  it('refuses bad input in one line with exit 2, before anything runs', async () => {
    const name = uniqueName('bad')
    const limit = await elect(['runs', name, '--limit', '0'])
    expect([limit.exitCode, limit.stderr.split('\n').length]).toEqual([2, 2])
    expect(limit.stderr).toMatch(/^elect: .*--limit/)
    const within = await elect(['runs', name, '--succeeded-within', 'banana'])
    expect([within.exitCode, within.stderr.split('\n')[0]]).toEqual([
      2,
      'elect: --succeeded-within: "banana" is not a duration: use a number with ms, s, m, h or d, as in 500ms, 10s, 2m',
    ])
    const log = join(tempDir(), 'never')
    const unwritable = await elect(['run-if-leader', name, '--metrics-file', '/nonexistent-dir/elect.prom', '--', 'sh', '-c', `echo ran > ${log}`])
    expect([unwritable.exitCode, unwritable.stderr]).toEqual([2, 'elect: cannot write --metrics-file /nonexistent-dir/elect.prom: ENOENT on its directory'])
    expect(existsSync(log)).toBe(false)
    expect(await runs(name)).toEqual([])
    const keep = await elect(['run-if-leader', name, '--keep-runs', '0', '--', 'true'])
    expect(keep.exitCode).toBe(2)
  })
})

/** Parses the text format strictly: HELP and TYPE before each metric's one sample; returns `name{labels}` -> value. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  const lines = text.split('\n')
  expect(lines.at(-1)).toBe('') // ends with a newline
  const described = new Set<string>()
  for (const line of lines.slice(0, -1)) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$/.exec(line)
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) gauge$/.exec(line)
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\}) (\S+)$/.exec(line)
    if (help || type) described.add((help ?? type)![1])
    else {
      expect(sample, `not a sample line: ${line}`).not.toBeNull()
      expect(described.has(sample![1])).toBe(true)
      expect(sample![1].startsWith('elect_')).toBe(true)
      samples.set(`${sample![1]}${sample![2]}`, Number(sample![3]))
    }
  }
  return samples
}
