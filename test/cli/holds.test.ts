// elect holds: a job's check, before a step it cannot undo, that the leadership it runs under (its
// fencing token, ELECT_REV) is still current.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, expect, it} from 'vitest'
import {cleanup, elect, etcdctl, startElect, tempDir, uniqueName, waitFor} from '../harness/cli.js'
import {electProcess} from '../harness/processes.js'

afterEach(cleanup)

/** A job that records its token, then asks `elect holds` and records the answer, and runs until told to end. */
function tokenJob(dir: string): string[] {
  const [file, args] = electProcess('holds')
  const holds = [file, ...args].map((word) => `'${word}'`).join(' ')
  return ['sh', '-c', `echo "$ELECT_KEY $ELECT_REV" > ${dir}/token; ${holds}; echo $? > ${dir}/answer; while [ ! -e ${dir}/finish ]; do sleep 0.05; done`]
}

it('holds while the job leads, and says 3 once its key is gone, or made again at another revision', async () => {
  const name = uniqueName('holds')
  const dir = tempDir()
  const job = startElect(['run-if-leader', name, '--', ...tokenJob(dir)])
  expect(await waitFor(() => existsSync(join(dir, 'answer')))).toBe(true)
  // Inside the job, the variables say which leadership: it holds.
  expect(readFileSync(join(dir, 'answer'), 'utf8')).toBe('0\n')
  const [key, rev] = readFileSync(join(dir, 'token'), 'utf8').trim().split(' ')
  const asTheJob = {env: {ELECT_KEY: key, ELECT_REV: rev}}
  expect(await elect(['holds'], asTheJob)).toMatchObject({exitCode: 0, stdout: '', stderr: ''})
  writeFileSync(join(dir, 'finish'), '')
  expect((await job).exitCode).toBe(0)

  // The run released its key: a step the job had left to take must not be taken.
  const released = await elect(['holds'], asTheJob)
  expect([released.exitCode, released.stderr]).toEqual([3, `elect: the leadership at ${key} (token ${rev}) no longer holds: its leader key is gone`])
  // The same key made again is another leadership: only its create revision tells them apart.
  etcdctl(['put', key, 'someone else'])
  const remade = await elect(['holds', '--leader-key', key, '--rev', rev])
  expect(remade.exitCode).toBe(3)
  expect(remade.stderr).toMatch(
    new RegExp(`^elect: the leadership at ${key} \\(token ${rev}\\) no longer holds: its leader key was made again, at revision \\d+$`),
  )
  etcdctl(['del', key])
})

it('outside a job, without --leader-key and --rev, is a usage error in one line', async () => {
  const result = await elect(['holds'], {env: {ELECT_KEY: undefined, ELECT_REV: undefined}})
  expect([result.exitCode, result.stderr.split('\n').length]).toEqual([2, 1])
  expect(result.stderr).toMatch(/^elect: elect holds checks the leadership a job runs under: run it inside run-if-leader/)
})
