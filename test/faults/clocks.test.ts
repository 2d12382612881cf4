// Wall clocks as servers have them: NTP steps them, and a time zone's daylight-saving night moves the
// local time cron fires by. libfaketime moves elect's wall clock alone (test/harness/faketime.ts);
// leases and deadlines are on the monotonic clock, which it leaves as it is.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import {ElectionKeys} from '../../src/election/keys.js'
import {onceSlot} from '../../src/jobs/once-per.js'
import type {RunRecord} from '../../src/jobs/records.js'
import {cleanup, elect, etcdctl, readEvents, recorder, startElect, tempDir, uniqueName, waitFor} from '../harness/cli.js'
import {fakeClock} from '../harness/faketime.js'

afterEach(cleanup)
const originalZone = process.env.TZ
afterAll(() => {
  process.env.TZ = originalZone
})

it('a run whose wall clock is stepped back an hour records its true duration, in etcd and in the metrics file', async () => {
  const name = uniqueName('clock-step')
  const dir = tempDir()
  const clock = fakeClock(join(dir, 'offset'))
  const [log, finish, metrics] = [join(dir, 'log'), join(dir, 'finish'), join(dir, 'elect.prom')]
  const holder = startElect(['run-if-leader', name, '--metrics-file', metrics, '--', ...recorder(log, 300, false, finish)], {env: clock.env})
  expect(await waitFor(() => readEvents(log).some((event) => event.event === 'start'))).toBe(true)
  clock.write('-3600')
  writeFileSync(finish, '')
  expect((await holder).exitCode).toBe(0)
  const [record] = (await elect(['runs', name, '--json'])).stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RunRecord)
  // The step did happen between the two timestamps, which stay the wall clock's.
  expect(Date.parse(record.endedAt!) - Date.parse(record.startedAt)).toBeLessThan(-3_000_000)
  expect(record.durationMs).toBeGreaterThanOrEqual(0)
  expect(record.durationMs).toBeLessThan(60_000)
  const duration = Number(/^elect_last_run_duration_seconds\{[^}]*\} (\S+)$/m.exec(readFileSync(metrics, 'utf8'))![1])
  expect(duration).toBeCloseTo(record.durationMs! / 1000, 3)
})

describe('--once-per across a daylight-saving night (Europe/Berlin, libfaketime at the instants cron fires)', () => {
  const DAY = 86_400_000
  /** Two servers fire `name` at the instant `at` (the clock moved there), as cron fires every server. */
  async function fleetFires(name: string, at: number, log: string) {
    const dir = tempDir()
    const clock = fakeClock(join(dir, 'offset'), `+${((at - Date.now()) / 1000).toFixed(3)}`)
    const env = {...clock.env, TZ: 'Europe/Berlin'}
    return Promise.all(
      ['web-1', 'web-2'].map((server) =>
        elect(['run-if-leader', name, '--value', server, '--once-per', '1d', '--', 'sh', '-c', `echo "ran $0" >> ${log}`, server], {env}),
      ),
    )
  }
  const ran = (log: string) => readEvents(log).filter((event) => event.event === 'ran').length

  it('a daily 01:30 job runs on the Sunday of the spring change and on the Monday after, once each', async () => {
    const name = uniqueName('dst-daily')
    const log = join(tempDir(), 'runs')
    // Sunday 01:30 CET, and Monday 01:30 CEST: the same UTC day, which elect 0.1 ran once.
    for (const fire of ['2027-03-28T00:30:00Z', '2027-03-28T23:30:00Z']) {
      const results = await fleetFires(name, Date.parse(fire), log)
      expect(results.map((result) => [result.exitCode, result.stderr])).toEqual([
        [0, ''],
        [0, ''],
      ])
    }
    expect(ran(log)).toBe(2)
  })

  it('a fleet of old and new elect does not run a slot twice: each sees the marker the other wrote', async () => {
    process.env.TZ = 'Europe/Berlin'
    const keys = new ElectionKeys('elect/', uniqueName('dst-upgrade'))
    const log = join(tempDir(), 'runs')
    // elect 0.1 ran Monday's fire: it marked the UTC day, with "<value> <token>".
    const monday = Date.parse('2027-03-29T23:30:00Z')
    etcdctl(['put', keys.onceMarker(`${DAY}/${Math.floor(monday / DAY)}`), 'web-9 123'])
    expect((await fleetFires(keys.name, monday, log)).map((result) => result.exitCode)).toEqual([0, 0])
    expect(ran(log)).toBe(0)
    // This elect runs Tuesday's, and marks the UTC day too, for elect 0.1 to find.
    const tuesday = monday + DAY
    await fleetFires(keys.name, tuesday, log)
    expect(ran(log)).toBe(1)
    const slot = onceSlot(DAY, tuesday)
    expect(slot.legacyLabel).toBe(`${DAY}/${Math.floor(tuesday / DAY)}`)
    expect(etcdctl(['get', keys.onceMarker(slot.legacyLabel!), '--print-value-only'])).toMatch(new RegExp(`^web-\\d \\d+ ${slot.label}$`))
  })
})
