// elect under cron: the same line fires on every server each period, with clocks a little apart.
// Each elect process gets a clock of its own (test/harness/inject/clock.cjs), so the tests choose
// where in a slot each "server" fires instead of waiting for the real clock to get there.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {
  cleanup,
  elect,
  type ElectOptions,
  etcdctl,
  readEvents,
  recorder,
  startElect,
  tempDir,
  uniqueName,
  raftIndex,
  useOwnCluster,
  waitFor,
} from '../harness/cli.js'
import {sleep} from '../harness/processes.js'
import {TcpProxy} from '../harness/proxy.js'

// An etcd of this file's own: these tests compare raft indexes and count what is left in etcd.
const etcd = useOwnCluster()
afterEach(cleanup)

const HOUR = 3_600_000
const runs = (log: string) => readEvents(log).filter((event) => event.event === 'ran').length

/**
 * Servers for one test: `at(ms)` is a server whose clock, as its elect starts, reads `ms` past the
 * start of one slot of `periodMs`, the same slot for the whole test, wherever the real clock is.
 */
function slotClock(periodMs: number) {
  const slotStart = Math.ceil(Date.now() / periodMs + 1) * periodMs
  return {at: (intoSlotMs: number): ElectOptions => ({inject: {clockOffsetMs: slotStart + intoSlotMs - Date.now()}})}
}

const fire = (name: string, log: string, server: ElectOptions, period = '1h', extra: string[] = []) =>
  elect(['run-if-leader', name, '--once-per', period, ...extra, '--', 'sh', '-c', `echo "ran $(date +%s%3N) $ELECT_VALUE" >> ${log}`], server)

describe('run-if-leader --once-per', () => {
  it("runs once per slot however the servers' cron fires are staggered, and again in the next slot", async () => {
    const name = uniqueName('slot')
    const log = join(tempDir(), 'runs')
    const clock = slotClock(HOUR)
    const results = await Promise.all([
      fire(name, log, clock.at(0)),
      sleep(1500).then(() => fire(name, log, clock.at(1500))),
      sleep(3000).then(() => fire(name, log, clock.at(3000))),
    ])
    expect(results.map((result) => result.exitCode)).toEqual([0, 0, 0])
    expect(runs(log)).toBe(1)
    expect((await fire(name, log, clock.at(HOUR + 100))).exitCode).toBe(0)
    expect(runs(log)).toBe(2)
  })

  it('agrees on the slot across servers whose clocks differ, as long as each fires at its own minute', async () => {
    const name = uniqueName('clocks')
    const log = join(tempDir(), 'runs')
    // Three servers' crons fire at the start of their own minute: their clocks agree on the minute
    // label, while in real time the fires are seconds apart.
    const clock = slotClock(60_000)
    const [first, second, third] = await Promise.all([
      fire(name, log, clock.at(50), '1m', ['--value', 'fast']),
      sleep(2000).then(() => fire(name, log, clock.at(300), '1m', ['--value', 'slow'])),
      sleep(4000).then(() => fire(name, log, clock.at(10), '1m', ['--value', 'slower'])),
    ])
    expect([first.exitCode, second.exitCode, third.exitCode]).toEqual([0, 0, 0])
    expect(readEvents(log).map((event) => event.extra)).toEqual(['fast'])
    // A server whose clock is already in the next minute belongs to the next slot.
    expect((await fire(name, log, clock.at(60_000 + 20), '1m', ['--value', 'next'])).exitCode).toBe(0)
    expect(readEvents(log).map((event) => event.extra)).toEqual(['fast', 'next'])
  })

  it("counts a failed run as the slot's run", async () => {
    const name = uniqueName('failed')
    const log = join(tempDir(), 'runs')
    const server = slotClock(HOUR).at(1000)
    const failed = await elect(['run-if-leader', name, '--once-per', '1h', '--', 'sh', '-c', `echo "ran $(date +%s%3N)" >> ${log}; exit 4`], server)
    expect(failed.exitCode).toBe(4)
    const again = await fire(name, log, server, '1h', ['--verbose'])
    expect([again.exitCode, again.stderr]).toEqual([0, `elect: skipped: ${name} already ran in this --once-per 1h slot`])
    expect(runs(log)).toBe(1)
  })

  it("counts a run that was stopped as the slot's run", async () => {
    const name = uniqueName('stopped')
    const dir = tempDir()
    const server = slotClock(HOUR).at(1000)
    const stoppedLog = join(dir, 'stopped')
    const stopped = startElect(['run-if-leader', name, '--once-per', '1h', '--', ...recorder(stoppedLog)], server)
    expect(await waitFor(() => readEvents(stoppedLog).length > 0)).toBe(true)
    stopped.kill('SIGTERM')
    expect((await stopped).exitCode).toBe(0)
    expect(readEvents(stoppedLog).map((event) => event.event)).toEqual(['start', 'stopped'])
    const log = join(dir, 'runs')
    const again = await fire(name, log, server, '1h', ['--verbose'])
    expect([again.exitCode, again.stderr]).toEqual([0, `elect: skipped: ${name} already ran in this --once-per 1h slot`])
    expect(runs(log)).toBe(0)
  })

  it("--jitter waits before etcd, and a fire whose delay ends in the next slot still runs as its own slot's", async () => {
    const name = uniqueName('jitter')
    const log = join(tempDir(), 'runs')
    const clock = slotClock(HOUR)
    // Fired 300 ms before its slot ends: start-up and a delay of up to 2 s end, as a rule, in the next.
    const firedAt = Date.now()
    const late = await fire(name, log, clock.at(HOUR - 300), '1h', ['--jitter', '2s', '--verbose'])
    expect(late.exitCode).toBe(0)
    const delayMs = Number(/^elect: waiting (\d+)ms \(--jitter\) before the first etcd request$/m.exec(late.stderr)?.[1])
    expect(delayMs).toBeLessThan(2000)
    // --jitter spreads the fleet already: no wait for a place in the spread on top of it.
    expect(late.stderr).not.toMatch(/spread/)
    expect(readEvents(log)[0].at - firedAt).toBeGreaterThanOrEqual(delayMs)
    // Had the late fire taken the next slot, this one would skip.
    expect((await fire(name, log, clock.at(HOUR + 5000), '1h')).exitCode).toBe(0)
    expect(runs(log)).toBe(2)
  })

  it('--jitter waits before its first etcd request: nothing of the fire is in etcd during the delay', async () => {
    const name = uniqueName('jitter-first')
    const log = join(tempDir(), 'runs')
    const before = raftIndex()
    // The delay drawn is 0.99 of --jitter, 3.96 s, in which the test looks at etcd.
    const fired = startElect(
      ['run-if-leader', name, '--once-per', '1h', '--jitter', '4s', '--verbose', '--', 'sh', '-c', `echo "ran $(date +%s%3N) $ELECT_VALUE" >> ${log}`],
      {inject: {random: 0.99}},
    )
    let said = ''
    fired.stderr.on('data', (chunk: Buffer) => (said += chunk.toString()))
    expect(await waitFor(() => /^elect: waiting 39\d\dms \(--jitter\)/m.test(said), 10_000)).toBe(true)
    expect(etcdctl(['get', '--prefix', `elect/${name}`, '--keys-only'])).toBe('')
    expect(raftIndex()).toBe(before)
    expect((await fired).exitCode).toBe(0)
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
    const server = slotClock(HOUR).at(1000)
    expect((await elect(['run-if-leader', name, '--once-per', '1h', '--', 'true'], server)).exitCode).toBe(0)
    const beforeSlotSkip = raftIndex()
    const slotSkip = await elect(['run-if-leader', name, '--once-per', '1h', '--verbose', '--', 'true'], server)
    expect([slotSkip.exitCode, slotSkip.stderr]).toEqual([0, `elect: skipped: ${name} already ran in this --once-per 1h slot`])
    expect(raftIndex()).toBe(beforeSlotSkip)

    const other = uniqueName('no-writes-leader')
    const holderLog = join(dir, 'holder')
    void startElect(['run-if-leader', other, '--value', 'holder', '--', ...recorder(holderLog)])
    expect(await waitFor(() => readEvents(holderLog).length > 0)).toBe(true)
    const beforeLeaderSkip = raftIndex()
    const marker = join(dir, 'ran')
    const leaderSkip = await elect(['run-if-leader', other, '--verbose', '--', 'touch', marker])
    expect([leaderSkip.exitCode, leaderSkip.stderr]).toEqual([0, `elect: skipped: holder leads ${other}`])
    expect(raftIndex()).toBe(beforeLeaderSkip)
    expect(() => readFileSync(marker)).toThrow()
  })
})

describe('a whole fleet at once', () => {
  it('30 simultaneous fires with --once-per run the command exactly once and leave only the slot marker and its record', async () => {
    const name = uniqueName('fleet')
    const log = join(tempDir(), 'runs')
    const server = slotClock(HOUR).at(1000)
    const leasesBefore = etcdctl(['lease', 'list']).split('\n').slice(1).filter(Boolean)
    const fires = Array.from({length: 30}, (_, index) =>
      elect(['run-if-leader', name, '--value', `server-${index}`, '--once-per', '1h', '--', 'sh', '-c', `echo "ran $(date +%s%3N) $ELECT_VALUE" >> ${log}`], {
        ...server,
        timeoutMs: 60_000,
      }),
    )
    const results = await Promise.all(fires)
    expect(results.map((result) => result.exitCode)).toEqual(Array(30).fill(0))
    expect(runs(log)).toBe(1)
    const keys = etcdctl(['get', '--prefix', `elect/${name}`, '--keys-only'])
      .split('\n')
      .filter(Boolean)
    expect(keys).toEqual([
      expect.stringMatching(new RegExp(`^elect/${name}:once/3600000/\\d+$`)),
      expect.stringMatching(new RegExp(`^elect/${name}:runs/[0-9a-f]+$`)),
    ])
    const leasesAfter = etcdctl(['lease', 'list']).split('\n').slice(1).filter(Boolean)
    expect(leasesAfter.filter((lease) => !leasesBefore.includes(lease))).toHaveLength(1) // the marker's
  }, 90_000)

  it("costs etcd about one run's proposals when ten servers reach it at the same instant, not one campaign per server", async () => {
    const server = slotClock(HOUR).at(1000)
    const alone = uniqueName('fleet-floor')
    const floorBefore = raftIndex()
    expect((await elect(['run-if-leader', alone, '--once-per', '1h', '--', 'true'], server)).exitCode).toBe(0)
    const floor = raftIndex() - floorBefore
    // Ten elect processes start one by one on two cores: a proxy holds every connection until all ten
    // made theirs, so that their first requests reach etcd together, as ten machines' would.
    const gate = await TcpProxy.start(etcd().endpoints[0])
    try {
      await gate.cut()
      const name = uniqueName('fleet-proposals')
      const log = join(tempDir(), 'runs')
      const before = raftIndex()
      const fires = Array.from({length: 10}, (_, index) =>
        elect(
          [
            'run-if-leader',
            name,
            '--value',
            `web-${index + 1}`,
            '--once-per',
            '1h',
            '--command-timeout',
            '60s',
            '--',
            'sh',
            '-c',
            `echo "ran $(date +%s%3N) $ELECT_VALUE" >> ${log}`,
          ],
          {...server, endpoints: [gate.endpoint], timeoutMs: 90_000},
        ),
      )
      expect(await waitFor(() => gate.accepted >= 10, 60_000)).toBe(true)
      await gate.heal()
      expect((await Promise.all(fires)).map((result) => result.exitCode)).toEqual(Array(10).fill(0))
      expect(runs(log)).toBe(1)
      // Each server that campaigns costs a lease, a key and their removal (3): all ten would make it
      // floor + 27. They campaign in their places in a one-second spread, and the rest read a leader.
      expect(raftIndex() - before).toBeLessThanOrEqual(floor + 12)
    } finally {
      await gate.close()
    }
  }, 120_000)
})
