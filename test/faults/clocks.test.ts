// Wall clocks as servers have them: NTP steps them, and a time zone's daylight-saving night moves the
// local time cron fires by. libfaketime moves elect's wall clock alone (test/harness/faketime.ts);
// leases and deadlines are on the monotonic clock, which it leaves as it is.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, expect, it} from 'vitest'
import type {RunRecord} from '../../src/jobs/records.js'
import {cleanup, elect, readEvents, recorder, startElect, tempDir, uniqueName, waitFor} from '../harness/cli.js'
import {fakeClock} from '../harness/faketime.js'

afterEach(cleanup)

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
  const [record] = (await elect(['runs', name, '--json'])).stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as RunRecord)
  // The step did happen between the two timestamps, which stay the wall clock's.
  expect(Date.parse(record.endedAt!) - Date.parse(record.startedAt)).toBeLessThan(-3_000_000)
  expect(record.durationMs).toBeGreaterThanOrEqual(0)
  expect(record.durationMs).toBeLessThan(60_000)
  const duration = Number(/^elect_last_run_duration_seconds\{[^}]*\} (\S+)$/m.exec(readFileSync(metrics, 'utf8'))![1])
  expect(duration).toBeCloseTo(record.durationMs! / 1000, 3)
})
