import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {cleanup, elect, etcdctl, groupAlive, readEvents, recorder, startElect, tempDir, trackGroup, uniqueName, useOwnCluster, waitFor} from './support/cli.js'

// An etcd of this file's own: the lease checks below count every lease in etcd.
useOwnCluster()
afterEach(cleanup)

const leases = () => etcdctl(['lease', 'list']).split('\n').slice(1).filter(Boolean)

/** Starts a recorder under run-if-leader and waits until it runs; returns its pid and fencing token. */
async function startHolder(name: string, log: string, extra: string[] = []) {
  const holder = startElect(['run-if-leader', name, ...extra, '--', ...recorder(log)])
  expect(await waitFor(() => readEvents(log).some((event) => event.event === 'start'), 10_000)).toBe(true)
  const [pid, revision] = readEvents(log).find((event) => event.event === 'start')!.extra.split(' ').map(Number)
  trackGroup(pid)
  return {holder, pid, revision}
}

describe('run-if-leader', () => {
  it('runs the command with the ELECT_* variables and passes its exit status through', async () => {
    const name = uniqueName('status')
    const result = await elect(['run-if-leader', name, '--value', 'me', '--', 'sh', '-c', 'echo "$ELECT_NAME $ELECT_KEY $ELECT_REV $ELECT_LEASE $ELECT_VALUE"; exit 7'])
    expect(result.exitCode).toBe(7)
    const [envName, key, revision, lease, value] = result.stdout.split(' ')
    expect(envName).toBe(name)
    expect(key).toBe(`elect/${name}/${lease}`)
    expect(Number(revision)).toBeGreaterThan(0)
    expect(value).toBe('me')
    expect(result.stderr).toBe('')
  })

  it.each([
    ['a command that is not found', ['no-such-command-elect'], 127, /command not found: no-such-command-elect/],
    ['a command that is not executable', ['NOT_EXECUTABLE'], 126, /cannot execute .*not-executable: permission denied/],
    ['a command killed by a signal elect did not send', ['sh', '-c', 'kill -KILL $$'], 137, /^$/],
  ])('exits as a shell does for %s', async (_, command, status, message) => {
    const notExecutable = join(tempDir(), 'not-executable')
    writeFileSync(notExecutable, 'echo hi\n', {mode: 0o644})
    const argv = command.map((word) => (word === 'NOT_EXECUTABLE' ? notExecutable : word))
    const result = await elect(['run-if-leader', uniqueName('shell'), '--', ...argv])
    expect(result.exitCode).toBe(status)
    expect(result.stderr).toMatch(message)
  })

  it('skips without running the command, and without writing, when another leads', async () => {
    const name = uniqueName('skip')
    const dir = tempDir()
    const log = join(dir, 'events')
    await startHolder(name, log)
    const leasesBefore = leases()
    const marker = join(dir, 'skipped-command-ran')
    const skipped = await elect(['run-if-leader', name, '--', 'touch', marker])
    expect(skipped.exitCode).toBe(0)
    expect(skipped.stderr).toBe('') // quiet when stderr is not a terminal
    const custom = await elect(['run-if-leader', name, '--skip-exit-code', '9', '--verbose', '--', 'touch', marker])
    expect(custom.exitCode).toBe(9)
    expect(custom.stderr).toMatch(/^elect: skipped: \S+ leads /)
    expect(() => readFileSync(marker)).toThrow()
    expect(leases()).toEqual(leasesBefore)
  })

  it('leaves no lease behind after success, failure, a bad command and a skip', async () => {
    const name = uniqueName('hygiene')
    const before = leases()
    await elect(['run-if-leader', name, '--', 'true'])
    await elect(['run-if-leader', name, '--', 'false'])
    await elect(['run-if-leader', name, '--', 'no-such-command-elect'])
    expect(leases()).toEqual(before)
    expect(etcdctl(['get', '--prefix', `elect/${name}`, '--keys-only'])).toBe('')
  })

  it('leaves no lease behind after a signal while waiting, a loss, and a forwarded signal', async () => {
    const name = uniqueName('hygiene-faults')
    const dir = tempDir()
    const before = leases()
    const first = await startHolder(name, join(dir, 'first'))
    const heldByFirst = leases()
    expect(heldByFirst).toHaveLength(before.length + 2) // the candidate's lease and the running marker's

    const waiting = startElect(['run-if-leader', name, '--wait', 'forever', '--', 'true'])
    expect(await waitFor(() => leases().length === heldByFirst.length + 1)).toBe(true)
    waiting.kill('SIGINT')
    expect((await waiting).exitCode).toBe(130)
    expect(leases()).toEqual(heldByFirst)

    etcdctl(['del', '--prefix', `elect/${name}/`])
    expect((await first.holder).exitCode).toBe(75)
    expect(leases()).toEqual(before)

    const second = await startHolder(name, join(dir, 'second'))
    second.holder.kill('SIGTERM')
    expect((await second.holder).exitCode).toBe(0)
    expect(leases()).toEqual(before)
    expect(etcdctl(['get', '--prefix', `elect/${name}`, '--keys-only'])).toBe('')
  })

  it('stops the whole group within 2 s and exits 75 when its lease is revoked', async () => {
    const name = uniqueName('revoked')
    const dir = tempDir()
    const pidFile = join(dir, 'pids')
    const holder = startElect(['run-if-leader', name, '--', 'sh', '-c', `sleep 1000 & echo $$ > ${pidFile}; sleep 1000`])
    expect(await waitFor(() => readEvents(pidFile).length > 0, 10_000)).toBe(true)
    const pgid = Number(readFileSync(pidFile, 'utf8'))
    trackGroup(pgid)
    const {leader} = JSON.parse((await elect(['who-leads', name, '--json'])).stdout)
    const revokedAt = Date.now()
    etcdctl(['lease', 'revoke', leader.lease])
    expect(await waitFor(() => !groupAlive(pgid), 2000)).toBe(true)
    const result = await holder
    expect(Date.now() - revokedAt).toBeLessThan(2000)
    expect(result.exitCode).toBe(75)
    expect(result.stderr).toMatch(new RegExp(`^elect: lost leadership of ${name}: .*; the command was stopped$`))
  })

  it('with --wait, a cooperative resign hands over without overlap and with a larger fencing token', async () => {
    const name = uniqueName('handover')
    const dir = tempDir()
    const first = await startHolder(name, join(dir, 'first'), ['--value', 'first'])
    const secondLog = join(dir, 'second')
    const second = startElect(['run-if-leader', name, '--value', 'second', '--wait', 'forever', '--', ...recorder(secondLog, 1)])
    expect(await waitFor(async () => (await elect(['who-leads', name, '--candidates'])).stdout === 'first\nsecond')).toBe(true)

    const resign = await elect(['resign', name, '--value', 'first'])
    expect(resign.exitCode).toBe(0)
    expect((await first.holder).exitCode).toBe(75)
    expect((await second).exitCode).toBe(0)
    const firstEnd = readEvents(join(dir, 'first')).find((event) => event.event === 'end')!
    const secondStart = readEvents(secondLog).find((event) => event.event === 'start')!
    expect(secondStart.at).toBeGreaterThanOrEqual(firstEnd.at)
    expect(Number(secondStart.extra.split(' ')[1])).toBeGreaterThan(first.revision)
  })

  it('--wait that runs out exits 124 and leaves no candidate key or lease', async () => {
    const name = uniqueName('wait')
    await startHolder(name, join(tempDir(), 'events'))
    const before = leases()
    const started = Date.now()
    const result = await elect(['run-if-leader', name, '--wait', '1s', '--', 'true'])
    expect(result.exitCode).toBe(124)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
    expect(result.stderr).toMatch(/not elected leader of .* within --wait 1s/)
    expect(leases()).toEqual(before)
    expect(etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only']).split('\n').filter(Boolean)).toHaveLength(1)
  })

  it('forwards SIGTERM to the command, then releases and exits with its status', async () => {
    const name = uniqueName('signal')
    const log = join(tempDir(), 'events')
    const {holder} = await startHolder(name, log)
    holder.kill('SIGTERM')
    const result = await holder
    expect(result.exitCode).toBe(0) // the recorder traps TERM and exits 0
    expect(readEvents(log).map((event) => event.event)).toEqual(['start', 'end'])
    expect((await elect(['who-leads', name])).exitCode).toBe(3)
  })
})
