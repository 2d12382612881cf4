// elect under cron: the same line fires on every server each period, with clocks a little apart.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {cleanup, elect, etcdctl, readEvents, recorder, startElect, tempDir, uniqueName, useOwnCluster, waitFor} from './support/cli.js'
import {sleep} from './support/processes.js'

// An etcd of this file's own: these tests compare raft indexes and count what is left in etcd.
useOwnCluster()
afterEach(cleanup)

const raftIndex = () => Number(/"raftIndex":(\d+)/.exec(etcdctl(['endpoint', 'status', '-w', 'json']))![1])
const runs = (log: string) => readEvents(log).filter((event) => event.event === 'ran').length

/** Waits until at least `needMs` remain in the current period, so a test's runs share one slot. */
async function startOfSlot(periodMs: number, needMs: number) {
  const left = periodMs - (Date.now() % periodMs)
  if (left < needMs) await sleep(left + 50)
}

describe('run-if-leader --once-per', () => {
  it('runs once per slot however the servers\' cron fires are staggered, and again in the next slot', async () => {
    const name = uniqueName('slot')
    const log = join(tempDir(), 'runs')
    const fire = () => elect(['run-if-leader', name, '--once-per', '8s', '--', 'sh', '-c', `echo "ran $(date +%s%3N)" >> ${log}`])
    await startOfSlot(8000, 6000)
    const results = await Promise.all([fire(), sleep(1500).then(fire), sleep(3000).then(fire)])
    expect(results.map((result) => result.exitCode)).toEqual([0, 0, 0])
    expect(runs(log)).toBe(1)

    await sleep(8000 - (Date.now() % 8000) + 50)
    expect((await fire()).exitCode).toBe(0)
    expect(runs(log)).toBe(2)
  }, 60_000)

  it('counts a failed run as the slot\'s run', async () => {
    const name = uniqueName('failed')
    const log = join(tempDir(), 'runs')
    await startOfSlot(3_600_000, 60_000)
    const failed = await elect(['run-if-leader', name, '--once-per', '1h', '--', 'sh', '-c', `echo "ran $(date +%s%3N)" >> ${log}; exit 4`])
    expect(failed.exitCode).toBe(4)
    const again = await elect(['run-if-leader', name, '--once-per', '1h', '--verbose', '--', 'sh', '-c', `echo "ran $(date +%s%3N)" >> ${log}`])
    expect(again.exitCode).toBe(0)
    expect(again.stderr).toBe(`elect: skipped: ${name} already ran in this --once-per 1h slot`)
    expect(runs(log)).toBe(1)
  })

  it('--once-per 0 is a usage error', async () => {
    const result = await elect(['run-if-leader', 'x', '--once-per', '0', '--', 'true'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/^elect: --once-per must be longer than 0/)
  })
})

describe('a skip costs no writes', () => {
  it('leaves the raft index unchanged when another leads and when the slot already ran', async () => {
    const name = uniqueName('no-writes')
    const dir = tempDir()
    await startOfSlot(3_600_000, 60_000)
    expect((await elect(['run-if-leader', name, '--once-per', '1h', '--', 'true'])).exitCode).toBe(0)
    const beforeSlotSkip = raftIndex()
    expect((await elect(['run-if-leader', name, '--once-per', '1h', '--', 'true'])).exitCode).toBe(0)
    expect(raftIndex()).toBe(beforeSlotSkip)

    const other = uniqueName('no-writes-leader')
    const holderLog = join(dir, 'holder')
    startElect(['run-if-leader', other, '--', ...recorder(holderLog)])
    expect(await waitFor(() => readEvents(holderLog).length > 0)).toBe(true)
    const beforeLeaderSkip = raftIndex()
    const marker = join(dir, 'ran')
    expect((await elect(['run-if-leader', other, '--', 'touch', marker])).exitCode).toBe(0)
    expect(raftIndex()).toBe(beforeLeaderSkip)
    expect(() => readFileSync(marker)).toThrow()
  })
})

describe('a whole fleet at once', () => {
  it('30 simultaneous fires with --once-per run the command exactly once and leave only the slot marker', async () => {
    const name = uniqueName('fleet')
    const log = join(tempDir(), 'runs')
    await startOfSlot(3_600_000, 60_000)
    const leasesBefore = etcdctl(['lease', 'list']).split('\n').slice(1).filter(Boolean)
    const indexBefore = raftIndex()
    const started = Date.now()
    const fires = Array.from({length: 30}, (_, index) =>
      elect(['run-if-leader', name, '--value', `server-${index}`, '--once-per', '1h', '--', 'sh', '-c', `echo "ran $(date +%s%3N) $ELECT_VALUE" >> ${log}`], {timeoutMs: 60_000}),
    )
    const results = await Promise.all(fires)
    const wallMs = Date.now() - started
    const indexDelta = raftIndex() - indexBefore
    console.log(`fleet of 30: all exited in ${wallMs} ms; raft index +${indexDelta}`)
    expect(results.map((result) => result.exitCode)).toEqual(Array(30).fill(0))
    expect(runs(log)).toBe(1)
    expect(wallMs).toBeLessThan(45_000)
    const keys = etcdctl(['get', '--prefix', `elect/${name}`, '--keys-only']).split('\n').filter(Boolean)
    expect(keys).toEqual([expect.stringMatching(new RegExp(`^elect/${name}:once/3600000/\\d+$`))])
    const leasesAfter = etcdctl(['lease', 'list']).split('\n').slice(1).filter(Boolean)
    expect(leasesAfter.filter((lease) => !leasesBefore.includes(lease))).toHaveLength(1) // the marker's
  }, 90_000)
})
