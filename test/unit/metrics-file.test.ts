// src/report/metrics-file.ts: the node_exporter textfile of a job on a server, where a skip and a run
// each update their own samples and keep the other's.
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {MetricsFile} from '../../src/report/metrics-file.js'
import type {RunRecord} from '../../src/jobs/records.js'

const dir = mkdtempSync(join(tmpdir(), 'elect-metrics-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const run: RunRecord = {
  job: null,
  value: 'web-1',
  rev: 42,
  lease: '694d86dd42307e0b',
  startedAt: '2026-12-07T02:00:00.000Z',
  endedAt: '2026-12-07T02:05:12.500Z',
  durationMs: 312_500,
  outcome: 'succeeded',
  status: 0,
  reason: null,
}
const samples = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('elect_'))

describe('the metrics file', () => {
  it("holds a run's samples, labelled with the election and the job", () => {
    const path = join(dir, 'run.prom')
    new MetricsFile(path, {name: 'nightly-report', job: ''}).ran(run)
    expect(samples(path)).toEqual([
      'elect_last_run_start_timestamp_seconds{name="nightly-report",job=""} 1796608800',
      'elect_last_run_end_timestamp_seconds{name="nightly-report",job=""} 1796609112.5',
      'elect_last_run_duration_seconds{name="nightly-report",job=""} 312.5',
      'elect_last_run_exit_status{name="nightly-report",job=""} 0',
      'elect_last_run_success{name="nightly-report",job=""} 1',
    ])
    expect(readFileSync(path, 'utf8')).toContain('# TYPE elect_last_run_success gauge\n')
  })

  it('keeps the last run when a skip comes, and the last skip when a run comes', () => {
    const path = join(dir, 'merge.prom')
    const file = new MetricsFile(path, {name: 'n', job: 'rotate'})
    file.ran(run)
    file.skipped(new Date('2026-12-07T02:06:00.000Z'))
    expect(samples(path)).toEqual([
      'elect_last_run_start_timestamp_seconds{name="n",job="rotate"} 1796608800',
      'elect_last_run_end_timestamp_seconds{name="n",job="rotate"} 1796609112.5',
      'elect_last_run_duration_seconds{name="n",job="rotate"} 312.5',
      'elect_last_run_exit_status{name="n",job="rotate"} 0',
      'elect_last_run_success{name="n",job="rotate"} 1',
      'elect_last_skip_timestamp_seconds{name="n",job="rotate"} 1796609160',
    ])
    file.ran({...run, outcome: 'lost', status: 75, reason: 'the lease was revoked or expired in etcd'})
    expect(samples(path).filter((line) => /exit_status|success|skip/.test(line))).toEqual([
      'elect_last_run_exit_status{name="n",job="rotate"} 75',
      'elect_last_run_success{name="n",job="rotate"} 0',
      'elect_last_skip_timestamp_seconds{name="n",job="rotate"} 1796609160',
    ])
  })

  it("keeps nothing of another job's labels, and escapes a label's quotes", () => {
    const path = join(dir, 'other.prom')
    writeFileSync(path, 'elect_last_skip_timestamp_seconds{name="n",job="other"} 5\n')
    new MetricsFile(path, {name: 'say "hi"', job: 'rotate'}).skipped(new Date(10_000))
    expect(samples(path)).toEqual(['elect_last_skip_timestamp_seconds{name="say \\"hi\\"",job="rotate"} 10'])
  })

  it('says why it cannot be written before the job runs', () => {
    expect(new MetricsFile(dir, {name: 'n', job: ''}).whyUnwritable()).toBe('it is a directory')
    expect(new MetricsFile(join(dir, 'missing', 'x.prom'), {name: 'n', job: ''}).whyUnwritable()).toBe('ENOENT on its directory')
    expect(new MetricsFile(join(dir, 'ok.prom'), {name: 'n', job: ''}).whyUnwritable()).toBeUndefined()
  })
})
