import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {
  cleanup,
  elect,
  etcdctl,
  groupAlive,
  readEvents,
  recorder,
  startElect,
  startHolder,
  tempDir,
  trackGroup,
  uniqueName,
  useOwnCluster,
  waitFor,
} from '../harness/cli.js'
import {byGroup, Observer, underElect} from '../harness/observer.js'
import {listProcesses, sleep, witnessOf} from '../harness/processes.js'
import {TcpProxy} from '../harness/proxy.js'

// An etcd of this file's own: the lease checks below count every lease in etcd.
const cluster = useOwnCluster()
afterEach(cleanup)

const leases = () => etcdctl(['lease', 'list']).split('\n').slice(1).filter(Boolean)
/** The election's keys but the run records, which are meant to stay (see runs.test.ts). */
const keysBesideRecords = (name: string) =>
  etcdctl(['get', '--prefix', `elect/${name}`, '--keys-only'])
    .split('\n')
    .filter((key) => key && !key.startsWith(`elect/${name}:runs/`))
/** Leases that exist now and did not in `before`: what a run left behind (others may expire meanwhile). */
const leasesAddedSince = (before: string[]) => leases().filter((lease) => !before.includes(lease))

/** A command that records "start <ms> <pid>", then each signal in `traps` as "<signal> <ms>", and otherwise runs until killed. */
function trapping(log: string, traps: Record<string, string>): string[] {
  const setTraps = Object.entries(traps).map(([signal, then]) => `trap 'echo "${signal} $(date +%s%3N)" >> "$0"; ${then}' ${signal}`)
  return ['sh', '-c', [...setTraps, 'echo "start $(date +%s%3N) $$" >> "$0"', 'while :; do sleep 0.05; done'].join('\n'), log]
}

const leaderLease = async (name: string) => JSON.parse((await elect(['who-leads', name, '--json'])).stdout).leader.lease as string

/** The candidate keys of an election, as etcdctl lists them. */
const candidateKeys = (name: string) =>
  etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only'])
    .split('\n')
    .filter(Boolean)

describe('run-if-leader', () => {
  it('runs the command with the ELECT_* variables and passes its exit status through', async () => {
    const name = uniqueName('status')
    const result = await elect([
      'run-if-leader',
      name,
      '--value',
      'me',
      '--',
      'sh',
      '-c',
      'echo "$ELECT_NAME $ELECT_KEY $ELECT_REV $ELECT_LEASE $ELECT_VALUE"; exit 7',
    ])
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
    await startHolder(name, join(dir, 'events'))
    const leasesBefore = leases()
    const marker = join(dir, 'skipped-command-ran')
    const skipped = await elect(['run-if-leader', name, '--', 'touch', marker])
    expect(skipped.exitCode).toBe(0)
    expect(skipped.stderr).toBe('') // quiet when stderr is not a terminal
    const custom = await elect(['run-if-leader', name, '--skip-exit-code', '9', '--verbose', '--', 'touch', marker])
    expect(custom.exitCode).toBe(9)
    expect(custom.stderr).toMatch(/^elect: skipped: \S+ leads /)
    expect(() => readFileSync(marker)).toThrow()
    expect(leasesAddedSince(leasesBefore)).toEqual([])
  })

  it('leaves no lease or key behind after success, failure, a bad command and a skip, only their records', async () => {
    const name = uniqueName('hygiene')
    const before = leases()
    expect((await elect(['run-if-leader', name, '--', 'true'])).exitCode).toBe(0)
    expect((await elect(['run-if-leader', name, '--', 'false'])).exitCode).toBe(1)
    expect((await elect(['run-if-leader', name, '--', 'no-such-command-elect'])).exitCode).toBe(127)
    expect(leasesAddedSince(before)).toEqual([])

    const log = join(tempDir(), 'holder')
    const {holder} = await startHolder(name, log)
    const whileHeld = leases()
    const skip = await elect(['run-if-leader', name, '--verbose', '--', 'true'])
    expect([skip.exitCode, skip.stderr]).toEqual([0, `elect: skipped: ${(await elect(['who-leads', name])).stdout} leads ${name}`])
    expect(leasesAddedSince(whileHeld)).toEqual([])
    holder.kill('SIGTERM')
    expect((await holder).exitCode).toBe(0)
    expect(leasesAddedSince(before)).toEqual([])
    expect(keysBesideRecords(name)).toEqual([])
    const records = (await elect(['runs', name, '--json'])).stdout.split('\n').map((line) => JSON.parse(line))
    expect(records.map((record) => [record.outcome, record.status])).toEqual([
      ['interrupted', 0],
      ['failed', 127],
      ['failed', 1],
      ['succeeded', 0],
    ])
  })

  it('leaves no lease behind after a signal while waiting, a loss, and a forwarded signal', async () => {
    const name = uniqueName('hygiene-faults')
    const dir = tempDir()
    const before = leases()
    const first = await startHolder(name, join(dir, 'first'))
    expect(leasesAddedSince(before)).toHaveLength(2) // the candidate's lease and the running marker's
    const heldByFirst = leases()

    const waiting = startElect(['run-if-leader', name, '--wait', 'forever', '--', 'true'])
    // A waiter holds its candidate's lease and, granted ahead of its turn, the one its running marker will use.
    expect(await waitFor(() => leasesAddedSince(heldByFirst).length === 2)).toBe(true)
    waiting.kill('SIGINT')
    expect((await waiting).exitCode).toBe(130)
    expect(leasesAddedSince(heldByFirst)).toEqual([])

    etcdctl(['del', '--prefix', `elect/${name}/`])
    expect((await first.holder).exitCode).toBe(75)
    expect(leasesAddedSince(before)).toEqual([])

    const second = await startHolder(name, join(dir, 'second'))
    second.holder.kill('SIGTERM')
    expect((await second.holder).exitCode).toBe(0)
    expect(leasesAddedSince(before)).toEqual([])
    expect(keysBesideRecords(name)).toEqual([])
  })

  it('a waiter killed before its turn leaves no guard behind, and its command never runs', async () => {
    const name = uniqueName('prepared-guard')
    const dir = tempDir()
    const first = await startHolder(name, join(dir, 'first'))
    const waiting = startElect(['run-if-leader', name, '--wait', 'forever', '--', ...recorder(join(dir, 'second'))])
    // The waiter starts its guard while it waits: bash, a child of elect, running guard.sh.
    const guardOf = (elect: number) => listProcesses().find((row) => row.ppid === elect && row.alive)?.pid
    expect(await waitFor(() => guardOf(waiting.pid!) !== undefined)).toBe(true)
    const guard = guardOf(waiting.pid!)!
    waiting.kill('SIGKILL')
    await waiting
    expect(await waitFor(() => !listProcesses().some((row) => row.pid === guard && row.alive), 5000)).toBe(true)
    first.holder.kill('SIGTERM')
    expect((await first.holder).exitCode).toBe(0)
    await sleep(500)
    expect(readEvents(join(dir, 'second'))).toEqual([])
  })

  it("stops the group and exits 75 when the guard's watcher is killed from outside", async () => {
    const name = uniqueName('watcher-killed')
    const {holder, pid} = await startHolder(name, join(tempDir(), 'events'))
    // The guard is elect's child; its watcher is the guard's child outside the command's group.
    const guard = listProcesses().find((row) => row.ppid === holder.pid && row.alive)!.pid
    const watcher = listProcesses().find((row) => row.ppid === guard && row.pgrp !== pid && row.alive)!.pid
    process.kill(watcher, 'SIGKILL')
    expect(await waitFor(() => !groupAlive(pid), 5000)).toBe(true)
    const result = await holder
    expect(result.exitCode).toBe(75)
    expect(result.stderr).toContain('the guard lost its watcher')
  })

  it('the guard and its watcher show ps a short line naming the election; pgrep -f finds elect and the command alone', async () => {
    const name = uniqueName('ps-line')
    const dir = tempDir()
    // A word only the command's line carries; the command runs until the test says so.
    const marker = `job-marker-${process.pid}-${Date.now()}`
    const holder = startElect(['run-if-leader', name, '--', 'sh', '-c', `touch ${dir}/started; while [ ! -e ${dir}/finish ]; do sleep 0.05; done`, marker])
    try {
      expect(await waitFor(() => existsSync(join(dir, 'started')))).toBe(true)
      const guard = listProcesses().find((row) => row.ppid === holder.pid && row.alive)!.pid
      const command = listProcesses().find((row) => row.ppid === guard && row.pgrp === row.pid && row.alive)!.pid
      const watcher = listProcesses().find((row) => row.ppid === guard && row.pid !== command && row.alive)!.pid
      const psLine = (pid: number) => execFileSync('ps', ['-o', 'args=', '-p', String(pid)], {encoding: 'utf8'}).trim()
      for (const pid of [guard, watcher]) expect(psLine(pid)).toBe(`elect-guard -c eval "$ELECT_GUARD" ${name}`)
      // elect's own line carries the command too; the guard's and the watcher's do not.
      const found = execFileSync('pgrep', ['-f', marker], {encoding: 'utf8'}).trim().split('\n').map(Number)
      expect(found.sort()).toEqual([holder.pid!, command].sort())
      // The script rides in the guard's environment, not into the command's.
      expect(readFileSync(`/proc/${command}/environ`, 'utf8')).not.toContain('ELECT_GUARD')
    } finally {
      writeFileSync(join(dir, 'finish'), '')
    }
    expect((await holder).exitCode).toBe(0)
  })

  it('stops the whole group and exits 75 when its lease is revoked, long before its fence would', async () => {
    const name = uniqueName('revoked')
    const dir = tempDir()
    const pidFile = join(dir, 'pids')
    // With --ttl 30s the fence is 26 s away: only the revoke can explain a stop within 15 s.
    const holder = startElect(['run-if-leader', name, '--ttl', '30s', '--', 'sh', '-c', `sleep 1000 & echo $$ > ${pidFile}; sleep 1000`])
    expect(await waitFor(() => readEvents(pidFile).length > 0, 10_000)).toBe(true)
    const pgid = Number(readFileSync(pidFile, 'utf8'))
    trackGroup(pgid)
    etcdctl(['lease', 'revoke', await leaderLease(name)])
    expect(await waitFor(() => !groupAlive(pgid), 15_000)).toBe(true)
    const result = await holder
    expect(result.exitCode).toBe(75)
    expect(result.stderr).toMatch(
      new RegExp(`^elect: lost leadership of ${name}: (the lease was revoked or expired in etcd|the leader key was deleted); the command was stopped$`),
    )
  })

  it('on a loss, sends --kill-signal, and SIGKILL only after --kill-grace to a command that ignores it', async () => {
    const name = uniqueName('grace')
    const log = join(tempDir(), 'events')
    const {holder, pid} = await startHolder(name, log, ['--ttl', '30s', '--kill-grace', '2s'], trapping(log, {TERM: ':'}))
    etcdctl(['del', '--prefix', `elect/${name}/`])
    expect(await waitFor(() => readEvents(log).some((event) => event.event === 'TERM'), 10_000)).toBe(true)
    const termAt = readEvents(log).find((event) => event.event === 'TERM')!.at
    expect(await waitFor(() => !groupAlive(pid), 15_000, 10)).toBe(true)
    // The kill came no sooner than the grace (less what recording TERM may have taken).
    expect(Date.now() - termAt).toBeGreaterThanOrEqual(2000 - 200)
    expect((await holder).exitCode).toBe(75)

    const usr1Log = join(tempDir(), 'events')
    const second = await startHolder(name, usr1Log, ['--ttl', '30s', '--kill-signal', 'USR1'], trapping(usr1Log, {USR1: 'exit 0', TERM: ':'}))
    etcdctl(['del', '--prefix', `elect/${name}/`])
    expect((await second.holder).exitCode).toBe(75)
    expect(readEvents(usr1Log).map((event) => event.event)).toEqual(['start', 'USR1'])
  })

  it('a second signal kills the group at once; SIGHUP is passed on like SIGTERM', async () => {
    const name = uniqueName('signals')
    const log = join(tempDir(), 'events')
    const {holder, pid} = await startHolder(name, log, ['--kill-grace', '5s'], trapping(log, {TERM: ':'}))
    holder.kill('SIGTERM')
    expect(await waitFor(() => readEvents(log).some((event) => event.event === 'TERM'))).toBe(true)
    await sleep(300)
    expect(groupAlive(pid)).toBe(true) // the first was passed on, and ignored
    holder.kill('SIGTERM')
    expect(await waitFor(() => !groupAlive(pid), 3000, 10)).toBe(true) // well within the 5 s grace
    expect((await holder).exitCode).toBe(137)
    expect((await elect(['who-leads', name])).exitCode).toBe(3)

    const hupLog = join(tempDir(), 'events')
    const hup = await startHolder(name, hupLog, [], trapping(hupLog, {HUP: 'exit 3'}))
    hup.holder.kill('SIGHUP')
    expect((await hup.holder).exitCode).toBe(3)
    expect(readEvents(hupLog).map((event) => event.event)).toEqual(['start', 'HUP'])
    expect((await elect(['who-leads', name])).exitCode).toBe(3)
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
    const firstStopped = readEvents(join(dir, 'first')).find((event) => event.event === 'stopped')!
    const secondStart = readEvents(secondLog).find((event) => event.event === 'start')!
    expect(secondStart.at).toBeGreaterThanOrEqual(firstStopped.at)
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
    expect(leasesAddedSince(before)).toEqual([])
    expect(
      etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only'])
        .split('\n')
        .filter(Boolean),
    ).toHaveLength(1)
  })

  it.each([
    ['run-if-leader --wait 30d', (name: string) => ['run-if-leader', name, '--wait', '30d', '--', 'true'], 'SIGTERM while waiting to lead %s; withdrew', 143],
    ['campaign --timeout 30d', (name: string) => ['campaign', name, '--timeout', '30d'], '', 0],
  ])('%s waits: a duration beyond what one Node timer holds does not run out at once', async (_, argv, said, exit) => {
    const name = uniqueName('long-wait')
    await startHolder(name, join(tempDir(), 'events'))
    const waiter = startElect(argv(name))
    expect(await waitFor(() => candidateKeys(name).length === 2)).toBe(true)
    // A timer past 2^31-1 ms fires after 1 ms: such a wait would have ended long before this.
    await sleep(1500)
    expect(waiter.exitCode).toBe(null)
    waiter.kill('SIGTERM')
    const result = await waiter
    expect([result.exitCode, result.stderr]).toEqual([exit, said ? `elect: ${said.replace('%s', name)}` : ''])
  })

  it('a waiter whose lease ends exits 75 and says that its command never started', async () => {
    const name = uniqueName('waiter-lost')
    await startHolder(name, join(tempDir(), 'holder'))
    const waiter = startElect(['run-if-leader', name, '--wait', 'forever', '--', 'true'])
    expect(await waitFor(() => candidateKeys(name).length === 2)).toBe(true)
    const waiterKey = etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only', '--sort-by=CREATE'])
      .split('\n')
      .filter(Boolean)[1]
    etcdctl(['lease', 'revoke', waiterKey.split('/').at(-1)!])
    const result = await waiter
    expect(result.exitCode).toBe(75)
    expect(result.stderr).toBe(`elect: lost the lease while waiting to lead ${name}: the lease was revoked or expired in etcd; the command never started`)
  })

  it('a waiter whose turn seems to come while an older candidate still leads keeps waiting', async () => {
    const name = uniqueName('older-leads')
    // A leader that is not elect (say, Go's concurrency.Election): a candidate key, and no running marker.
    const lease = /lease ([0-9a-f]+) granted/.exec(etcdctl(['lease', 'grant', '60']))![1]
    etcdctl(['put', `elect/${name}/${lease}`, 'go-service', `--lease=${lease}`])
    const [firstLog, secondLog] = [join(tempDir(), 'first'), join(tempDir(), 'second')]
    const queued = () =>
      etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only'])
        .split('\n')
        .filter(Boolean).length
    const first = startElect(['run-if-leader', name, '--wait', 'forever', '--', ...recorder(firstLog, 0.2)])
    expect(await waitFor(() => queued() === 2)).toBe(true)
    const second = startElect(['run-if-leader', name, '--wait', 'forever', '--', ...recorder(secondLog, 0.2)])
    expect(await waitFor(() => queued() === 3)).toBe(true)
    // The one just ahead of the second withdraws: the second hears of it, and must find the older one.
    first.kill('SIGTERM')
    expect((await first).exitCode).toBe(143)
    await sleep(1500)
    expect(readEvents(secondLog)).toEqual([])
    expect(queued()).toBe(2)
    etcdctl(['lease', 'revoke', lease])
    const result = await second
    expect([result.exitCode, result.stderr]).toEqual([0, ''])
    expect(readEvents(secondLog).map((event) => event.event)).toEqual(['start', 'end'])
    expect(readEvents(firstLog)).toEqual([])
  })

  it('forwards SIGTERM to the command, then releases and exits with its status', async () => {
    const name = uniqueName('signal')
    const log = join(tempDir(), 'events')
    const {holder} = await startHolder(name, log)
    holder.kill('SIGTERM')
    const result = await holder
    expect(result.exitCode).toBe(0) // the recorder traps TERM and exits 0
    expect(readEvents(log).map((event) => event.event)).toEqual(['start', 'stopped'])
    expect((await elect(['who-leads', name])).exitCode).toBe(3)
  })
})

describe('run-if-leader and its connection to etcd', () => {
  it('keeps one connection for a whole run: ending a wait or a keepalive round is not a failure of etcd', async () => {
    const name = uniqueName('one-connection')
    const holderLog = join(tempDir(), 'holder')
    const waiterLog = join(tempDir(), 'waiter')
    const proxy = await TcpProxy.start(cluster().endpoints[0])
    try {
      const {holder} = await startHolder(name, holderLog, [], recorder(holderLog, 3))
      // --ttl 4s, --kill-grace 0.5s: a keepalive round every 0.83 s (a 2.5 s window, which a busy
      // machine keeps), about seven in all, waiting and running.
      const waiter = startElect(['run-if-leader', name, '--ttl', '4s', '--kill-grace', '0.5s', '--wait', 'forever', '--', ...recorder(waiterLog, 3)], {
        endpoints: [proxy.endpoint],
      })
      expect((await holder).exitCode).toBe(0)
      const result = await waiter
      expect([result.exitCode, result.stderr]).toEqual([0, ''])
      expect(readEvents(waiterLog).map((event) => event.event)).toEqual(['start', 'end'])
      // One for etcd's gateway, which serves the calls before the first stream, and one for gRPC's
      // (etcd/gateway-first.ts); a run on oclif's start-up (ELECT_LEAN=0) has gRPC's alone.
      expect(proxy.accepted).toBe(process.env.ELECT_LEAN === '0' ? 1 : 2)
    } finally {
      await proxy.close()
    }
  })
})

describe('run-if-leader when etcd stalls', () => {
  it('a stall shorter than the fencing window does not stop the command', async () => {
    const name = uniqueName('short-stall')
    const log = join(tempDir(), 'events')
    const proxy = await TcpProxy.start(cluster().endpoints[0])
    try {
      // Fencing window: 10 s - 1 s grace - 1 s margin = 8 s; the stall lasts 3 s.
      const {holder} = await startHolder(name, log, ['--ttl', '10s', '--kill-grace', '1s'], recorder(log, 6), {endpoints: [proxy.endpoint]})
      await proxy.cut()
      await sleep(3000)
      await proxy.heal()
      const result = await holder
      expect([result.exitCode, result.stderr]).toEqual([0, ''])
      expect(readEvents(log).map((event) => event.event)).toEqual(['start', 'end'])
    } finally {
      await proxy.close()
    }
  })

  it('a waiter cut off from etcd for longer than its fencing window keeps its place and runs next', async () => {
    const name = uniqueName('waiter-stall')
    const holderLog = join(tempDir(), 'holder')
    const waiterLog = join(tempDir(), 'waiter')
    const proxy = await TcpProxy.start(cluster().endpoints[0])
    try {
      // The holder runs until the test lets it finish: the waiter must be queued behind it first.
      const finish = join(tempDir(), 'finish')
      const {holder} = await startHolder(name, holderLog, [], recorder(holderLog, 120, false, finish))
      // Fencing window: 10 s - 6 s grace - 1 s margin = 3 s; the cut lasts 4.5 s, well inside the TTL.
      const waiter = startElect(['run-if-leader', name, '--ttl', '10s', '--kill-grace', '6s', '--wait', 'forever', '--', ...recorder(waiterLog, 0.2)], {
        endpoints: [proxy.endpoint],
      })
      // Asked asynchronously: when the proxy forwarded in this process, a synchronous etcdctl in a
      // polling loop starved the waiter's connection through it on a busy machine (it never queued in 30 s).
      const queued = async () => (await elect(['who-leads', name, '--candidates'])).stdout.split('\n').filter(Boolean).length === 2
      expect(await waitFor(queued, 30_000)).toBe(true)
      await proxy.cut()
      await sleep(4500)
      await proxy.heal()
      writeFileSync(finish, '')
      expect((await holder).exitCode).toBe(0)
      const result = await waiter
      expect([result.exitCode, result.stderr]).toEqual([0, ''])
      expect(readEvents(waiterLog).map((event) => event.event)).toEqual(['start', 'end'])
    } finally {
      await proxy.close()
    }
  })

  it('an etcd that accepts but never answers costs no more than --command-timeout at release', async () => {
    const name = uniqueName('command-timeout')
    const log = join(tempDir(), 'events')
    const proxy = await TcpProxy.start(cluster().endpoints[0])
    try {
      const {holder} = await startHolder(name, log, ['--ttl', '60s', '--command-timeout', '1s'], recorder(log), {endpoints: [proxy.endpoint]})
      await proxy.cut()
      const signalledAt = Date.now()
      holder.kill('SIGTERM')
      const result = await holder
      // Without a deadline the revoke would wait for etcd for ever; the fence is 56 s away.
      expect(Date.now() - signalledAt).toBeLessThan(10_000)
      expect(result.exitCode).toBe(0)
      expect(readEvents(log).map((event) => event.event)).toEqual(['start', 'stopped'])
    } finally {
      await proxy.close()
    }
  })

  it("resign --force while the holder is frozen: the waiting rival starts only after the holder's group is dead", async () => {
    const name = uniqueName('frozen-force')
    const dir = tempDir()
    const {holder, pid} = await startHolder(
      name,
      join(dir, 'holder'),
      ['--value', 'holder', '--ttl', '10s', '--kill-grace', '1s'],
      recorder(join(dir, 'holder'), 60, true),
    )
    const rivalLog = join(dir, 'rival')
    const rival = startElect([
      'run-if-leader',
      name,
      '--value',
      'rival',
      '--ttl',
      '5s',
      '--kill-grace',
      '1s',
      '--wait',
      'forever',
      '--',
      ...recorder(rivalLog, 0.2),
    ])
    expect(await waitFor(async () => (await elect(['who-leads', name, '--candidates'])).stdout === 'holder\nrival')).toBe(true)
    const observer = new Observer(
      byGroup(pid),
      underElect(() => rival.pid),
    )
    try {
      holder.kill('SIGSTOP')
      const forced = await elect(['resign', name, '--force', '--timeout', '1s', '--json'])
      expect([forced.exitCode, JSON.parse(forced.stdout).forced]).toEqual([0, true])
      expect((await rival).exitCode).toBe(0)
      observer.poll()
      expect(observer.overlapSeen).toBe(false)
      // However close the two came: the rival's command found the lock the holder's tree held free.
      expect(witnessOf(readEvents(rivalLog)[0])).toBe('free')
    } finally {
      observer.stop()
      holder.kill('SIGCONT')
    }
    expect((await holder).exitCode).toBe(75)
  })
})
