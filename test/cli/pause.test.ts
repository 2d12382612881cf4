// elect pause and resume: a fleet-wide stop for an election's runs, or one job's, that never stops a
// run already running and that a forgotten --for ends by itself.
import {existsSync, writeFileSync} from 'node:fs'
import {hostname, userInfo} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {cleanup, elect, etcdctl, raftIndex, readEvents, recorder, startElect, startHolder, tempDir, uniqueName, useOwnCluster, waitFor} from '../harness/cli.js'

// An etcd of this file's own: a paused skip is checked by the raft index not moving.
useOwnCluster()
afterEach(cleanup)

const me = `${userInfo().username}@${hostname()}`
const pauses = async (name: string) => JSON.parse((await elect(['who-leads', name, '--json'])).stdout).pauses
/** Runs `touch <file>` under run-if-leader; returns the result and whether the command ran. */
async function fire(name: string, flags: string[] = [], options = {}) {
  const ran = join(tempDir(), 'ran')
  const result = await elect(['run-if-leader', name, ...flags, '--', 'touch', ran], options)
  return {...result, ran: existsSync(ran)}
}

describe('elect pause', () => {
  it('makes every run of the election skip with one read and no write, and says why; resume lets them run again', async () => {
    const name = uniqueName('pause')
    const paused = await elect(['pause', name, '--reason', 'database migration, INC-1234'])
    expect([paused.exitCode, paused.stderr]).toEqual([0, `elect: paused ${name} until elect resume`])
    const before = raftIndex()
    // Three servers' cron fire at once.
    const servers = ['web-1', 'web-2', 'web-3'].map((value) => ({value, env: {ELECT_RUNTIME_DIR: tempDir()}}))
    const fires = await Promise.all(servers.map(({value, env}) => fire(name, ['--value', value, '--verbose'], {env})))
    for (const skipped of fires) {
      expect([skipped.exitCode, skipped.ran]).toEqual([0, false])
      expect(skipped.stderr).toMatch(new RegExp(`^elect: skipped: paused by ${me} at \\S+Z: database migration, INC-1234$`))
    }
    expect(raftIndex()).toBe(before)
    // Every job of the election, and the code a script asked for.
    expect(await fire(name, ['--job', 'rotate', '--skip-exit-code', '9'])).toMatchObject({exitCode: 9, ran: false, stderr: ''})

    const resumed = await elect(['resume', name])
    expect(resumed.stderr).toMatch(new RegExp(`^elect: resumed ${name} \\(it was paused by ${me} at \\S+: database migration, INC-1234\\)$`))
    expect(await fire(name)).toMatchObject({exitCode: 0, ran: true})
    // A runbook may resume twice.
    expect(await elect(['resume', name])).toMatchObject({exitCode: 0, stderr: `elect: ${name} was not paused`})
  })

  it('of one job skips that job only; the election and other jobs run; the person behind sudo is named', async () => {
    const name = uniqueName('pause-job')
    expect((await elect(['pause', name, '--job', 'rotate'], {env: {SUDO_USER: 'alice'}})).stderr).toBe(`elect: paused job rotate of ${name} until elect resume`)
    const skipped = await fire(name, ['--job', 'rotate', '--verbose'])
    expect([skipped.ran, skipped.stderr]).toEqual([false, expect.stringMatching(new RegExp(`^elect: skipped: paused by alice@${hostname()} at `))])
    expect(await fire(name, ['--job', 'other'])).toMatchObject({exitCode: 0, ran: true})
    expect(await fire(name)).toMatchObject({exitCode: 0, ran: true})
    expect(await pauses(name)).toEqual([{job: 'rotate', by: `alice@${hostname()}`, at: expect.any(String), reason: null, until: null}])
    // The election's own pause is a separate one.
    expect((await elect(['resume', name])).stderr).toBe(`elect: ${name} was not paused`)
    expect((await fire(name, ['--job', 'rotate'])).ran).toBe(false)
    await elect(['resume', name, '--job', 'rotate'])
    expect((await fire(name, ['--job', 'rotate'])).ran).toBe(true)
  })

  // A pause of one job is checked by the claim of that job's waiter as the election's pause is.
  it.each([
    {of: 'the election', job: undefined},
    {of: 'one job', job: 'rotate'},
  ])('of $of does not stop a run already running, and says so; a waiter whose turn comes during the pause skips', async ({job}) => {
    const name = uniqueName('pause-running')
    const jobFlags = job ? ['--job', job] : []
    const log = join(tempDir(), 'holder')
    const finish = join(tempDir(), 'finish')
    const holder = await startHolder(name, log, ['--value', 'web-1', ...jobFlags], recorder(log, 60, false, finish))
    const waiterRan = join(tempDir(), 'waiter-ran')
    const waiter = startElect(['run-if-leader', name, '--value', 'web-2', ...jobFlags, '--wait', 'forever', '--verbose', '--', 'touch', waiterRan])
    expect(await waitFor(async () => (await elect(['who-leads', name, '--candidates'])).stdout.split('\n').length === 2)).toBe(true)

    const paused = await elect(['pause', name, ...jobFlags, '--json'])
    expect(JSON.parse(paused.stdout)).toMatchObject({name, by: me, reason: null, until: null, running: [{job: job ?? null, value: 'web-1'}]})
    const what = job ? `job ${job} of ${name}` : name
    expect((await elect(['pause', name, ...jobFlags])).stderr).toBe(
      `elect: paused ${what} until elect resume; a run already running goes on (elect resign stops it)`,
    )
    expect(readEvents(log).map((event) => event.event)).toEqual(['start'])

    writeFileSync(finish, '')
    expect((await holder.holder).exitCode).toBe(0)
    expect(readEvents(log).map((event) => event.event)).toEqual(['start', 'end'])
    const waited = await waiter
    expect([waited.exitCode, existsSync(waiterRan)]).toEqual([0, false])
    expect(waited.stderr.split('\n').at(-1)).toMatch(new RegExp(`^elect: skipped: paused by ${me} at `))
    // It withdrew: nothing of it is left in the queue.
    expect((await elect(['who-leads', name, '--candidates'])).exitCode).toBe(3)
  })

  it('--for ends by itself, as a lease; a new pause replaces the old and revokes its lease', async () => {
    const name = uniqueName('pause-for')
    const leases = () => etcdctl(['lease', 'list']).split('\n').slice(1).filter(Boolean)
    const before = leases().length
    expect((await elect(['pause', name, '--for', '1h'])).exitCode).toBe(0)
    expect(leases()).toHaveLength(before + 1)
    expect((await fire(name)).ran).toBe(false)
    // What the short pause wrote is what it says, not read back: on a busy machine 2 s may be over
    // before another process could read it. The 1 h pause's lease, revoked, is gone at the end.
    const paused = await elect(['pause', name, '--for', '2s', '--reason', 'short'])
    expect(paused.stderr).toMatch(new RegExp(`^elect: paused ${name} until \\S+Z$`))
    expect(await waitFor(async () => (await pauses(name)).length === 0, 30_000, 200)).toBe(true)
    expect(await fire(name)).toMatchObject({exitCode: 0, ran: true})
    expect(leases()).toHaveLength(before)
  })

  it('shows in who-leads and elect runs, and in what --succeeded-within found', async () => {
    const name = uniqueName('pause-shown')
    expect((await fire(name, ['--value', 'web-1'])).ran).toBe(true)
    await elect(['pause', name, '--reason', 'freeze'])
    const line = new RegExp(`^elect: ${name} is paused by ${me} at \\S+Z: freeze$`)
    expect((await elect(['who-leads', name])).stderr.split('\n')).toEqual(expect.arrayContaining([expect.stringMatching(line)]))
    const runs = await elect(['runs', name])
    expect([runs.exitCode, runs.stdout.split('\n').length, runs.stderr]).toEqual([0, 1, expect.stringMatching(line)])
    const within = await elect(['runs', name, '--succeeded-within', '1ms'])
    expect(within.exitCode).toBe(3)
    expect(within.stderr).toMatch(new RegExp(`; ${name} is paused by ${me} at \\S+Z: freeze$`))
  })

  it('holds for a run under the campaign of its machine too', async () => {
    const name = uniqueName('pause-attached')
    const machine = {env: {ELECT_RUNTIME_DIR: tempDir()}}
    const campaign = startElect(['campaign', name, '--value', 'A'], machine)
    expect(await waitFor(async () => (await elect(['who-leads', name])).stdout === 'A')).toBe(true)
    await elect(['pause', name, '--job', 'j'])
    const skipped = await fire(name, ['--job', 'j', '--verbose'], machine)
    expect([skipped.exitCode, skipped.ran]).toEqual([0, false])
    expect(skipped.stderr.split('\n').at(-1)).toMatch(/^elect: skipped: paused by /)
    await elect(['resume', name, '--job', 'j'])
    expect(await fire(name, ['--job', 'j'], machine)).toMatchObject({exitCode: 0, ran: true})
    campaign.kill('SIGTERM')
    expect((await campaign).exitCode).toBe(0)
  })

  it('refuses bad input in one line with exit 2, before anything is written', async () => {
    const name = uniqueName('pause-bad')
    for (const [argv, message] of [
      [['pause', name, '--reason', 'two\nlines'], /^elect: --reason "two\\nlines" is not a value/],
      [['pause', name, '--for', '0'], /^elect: --for: "0" must be longer than 0$/],
      [['pause', name, '--job', 'a/b'], /^elect: invalid job name "a\/b"/],
      [['resume', name, '--job', ''], /^elect: invalid job name ""/],
    ] as Array<[string[], RegExp]>) {
      const result = await elect(argv)
      expect([result.exitCode, result.stderr.split('\n').length]).toEqual([2, 1])
      expect(result.stderr).toMatch(message)
    }
    expect(await pauses(name)).toEqual([])
  })
})
