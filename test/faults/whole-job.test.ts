// The whole job: every process descended from the command is stopped on a loss, when the command
// ends and when elect is killed, whichever process group or session it moved into. Each shape below
// is a way jobs are written that leaves the command's process group; its escaping process writes its
// pid to a file, which is how the test knows it (not by elect's means of finding it).
import {existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {cleanup, elect, etcdctl, startElect, tempDir, uniqueName, waitFor} from '../harness/cli.js'
import {listProcesses} from '../harness/processes.js'

const escaped: number[] = []
afterEach(async () => {
  // What elect should have ended, ended anyway: by the pids the jobs wrote, pass or fail.
  for (const pid of escaped.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone, as it should be
    }
  }
  await cleanup()
})

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z'
  } catch {
    return false
  }
}

/**
 * The escaping process, as a script for `sh -c` that the shapes put in single quotes, so that only the
 * innermost shell expands its `$$`. Temporary paths have no quotes or spaces.
 */
const sleeper = (pidFile: string) => `echo $$ > ${pidFile}; exec /bin/sleep 300`
const SHAPES: Record<string, (pidFile: string) => string[]> = {
  'timeout(1) inside a shell': (file) => ['sh', '-c', `timeout 300 sh -c '${sleeper(file)}'; echo done`],
  'a session of its own (setsid -w)': (file) => ['setsid', '-w', 'sh', '-c', sleeper(file)],
  // Neither the command's group nor ELECT_RUN_ID: only its descent from the command finds it.
  'a cleared environment two sessions down (setsid -w setsid -w env -i)': (file) => ['setsid', '-w', 'setsid', '-w', 'env', '-i', 'sh', '-c', sleeper(file)],
  'a bash script with set -m': (file) => ['bash', '-c', `set -m; sh -c '${sleeper(file)}' & wait`],
  'a daemon that double-forks': (file) => ['sh', '-c', `(setsid sh -c '${sleeper(file)}' &); sleep 300`],
  'a child that calls setpgrp(), as os.setpgrp() in Python': (file) => [
    'perl',
    '-e',
    `if (fork == 0) { setpgrp(0, 0); open(F, '>', '${file}'); print F "$$\\n"; close F; exec '/bin/sleep', '300' } wait`,
  ],
  // sudo with use_pty (its default since 1.9.14): a session of its own on a pty, the environment reset.
  'a pty session with a cleared environment, as sudo makes': (file) => ['env', '-i', '/usr/bin/script', '-qec', `sh -c '${sleeper(file)}'`, '/dev/null'],
}

/**
 * The job's output goes nowhere, as a daemon's does: against an elect that lets a process escape, a
 * test fails on its assertion instead of waiting for the escaped process to close elect's pipes.
 */
const quietly = (argv: string[]) => ['sh', '-c', 'exec "$@" < /dev/null > /dev/null 2>&1', 'quietly', ...argv]

/** Where the guard may make a cgroup for the job, and where it must find the job in /proc. */
const MODES = {cgroup: {}, '/proc': {ELECT_CGROUP: 'none'}}

/** Starts `command` under run-if-leader and waits for the pid its escaping process writes. */
async function startEscaping(
  name: string,
  command: (pidFile: string) => string[],
  env: Record<string, string>,
  flags = ['--ttl', '10s', '--kill-grace', '1s'],
) {
  const pidFile = join(tempDir(), 'escaped.pid')
  const holder = startElect(['run-if-leader', name, ...flags, '--', ...quietly(command(pidFile))], {env})
  expect(await waitFor(() => existsSync(pidFile) && /^\d+\n/.test(readFileSync(pidFile, 'utf8')), 10_000)).toBe(true)
  const pid = Number(readFileSync(pidFile, 'utf8'))
  escaped.push(pid)
  expect(alive(pid)).toBe(true)
  // The shape does leave it: the command leads its group, under the guard, elect's child.
  const guard = listProcesses().find((row) => row.ppid === holder.pid && row.alive)!
  const leader = listProcesses().find((row) => row.ppid === guard.pid && row.pgrp === row.pid)!
  expect(listProcesses().find((row) => row.pid === pid)!.pgrp).not.toBe(leader.pgrp)
  return {holder, pid}
}

/** The cgroup mode is only what it says where the guard could make one: the job's process is in it. */
function inElectCgroup(pid: number): boolean {
  return /^0::.*\/elect-\d+-[0-9a-f]+$/m.test(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))
}

const leaderLease = async (name: string) => JSON.parse((await elect(['who-leads', name, '--json'])).stdout).leader.lease as string

/** Where cgroup2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified in a hybrid layout). */
const cgroup2Mount = () =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((line) => line.includes(' - cgroup2 '))
    ?.split(' ')[4]

/** The directory of a process's cgroup v2. */
function cgroupDirOf(pid: number): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('0::'))!
  return `${cgroup2Mount()}${line.slice(3)}`
}

const asRoot = process.getuid?.() === 0

describe.each(Object.entries(MODES))('the whole job, found by %s', (mode, env) => {
  it.each(Object.keys(SHAPES))('a lost leadership stops %s before elect exits 75', async (shape) => {
    const name = uniqueName('whole-job')
    const {holder, pid} = await startEscaping(name, SHAPES[shape], env)
    expect(inElectCgroup(pid)).toBe(mode === 'cgroup')
    etcdctl(['lease', 'revoke', await leaderLease(name)])
    const result = await holder
    expect(result.exitCode).toBe(75)
    expect(alive(pid)).toBe(false)
  })

  it('a command that ends leaves nothing running: a daemon it started is stopped before elect exits with its status', async () => {
    const name = uniqueName('leftover')
    const pidFile = join(tempDir(), 'escaped.pid')
    const daemonThenExit = ['sh', '-c', `(setsid sh -c '${sleeper(pidFile)}' &); while [ ! -s '${pidFile}' ]; do sleep 0.01; done; exit 3`]
    const result = await elect(['run-if-leader', name, '--kill-grace', '1s', '--', ...quietly(daemonThenExit)], {env})
    const pid = Number(readFileSync(pidFile, 'utf8'))
    escaped.push(pid)
    expect([result.exitCode, result.stderr]).toEqual([3, ''])
    expect(alive(pid)).toBe(false)
    expect((await elect(['who-leads', name])).exitCode).toBe(3)
  })

  it('--max-runtime stops timeout(1) inside a shell as a loss would, once it has run that long: exit 125, the leadership released', async () => {
    const name = uniqueName('max-runtime')
    const spawnedAt = Date.now()
    const {holder, pid} = await startEscaping(name, SHAPES['timeout(1) inside a shell'], env, ['--ttl', '10s', '--kill-grace', '1s', '--max-runtime', '2s'])
    const result = await holder
    expect(Date.now() - spawnedAt).toBeGreaterThanOrEqual(2000)
    expect([result.exitCode, result.stderr]).toEqual([125, 'elect: sh ran for --max-runtime 2s; it was stopped'])
    expect(alive(pid)).toBe(false)
    expect((await elect(['who-leads', name])).exitCode).toBe(3)
  })

  it('elect SIGKILLed: the guard stops a daemon of the job too, long before the lease could expire', async () => {
    const name = uniqueName('elect-killed')
    const {holder, pid} = await startEscaping(name, SHAPES['a daemon that double-forks'], env, ['--ttl', '30s', '--kill-grace', '1s'])
    const killedAt = Date.now()
    holder.kill('SIGKILL')
    await holder
    // The guard hears elect's pipe close: the kill signal, then SIGKILL after the 1 s grace.
    expect(await waitFor(() => !alive(pid), 10_000, 10)).toBe(true)
    expect(Date.now() - killedAt).toBeLessThan(10_000)
  })

  it("elect's whole process group SIGKILLed by timeout(1) around it: the guard stops the job while the lease still stands, and leaves no cgroup", async () => {
    const name = uniqueName('timeout-kill')
    const pidFile = join(tempDir(), 'escaped.pid')
    // As in a crontab: `timeout -s KILL <limit> elect run-if-leader ...`; the limit is the test's to say.
    const wrapped = startElect(['run-if-leader', name, '--ttl', '10s', '--kill-grace', '1s', '--', ...quietly(SHAPES['a daemon that double-forks'](pidFile))], {
      env,
      wrap: ['timeout', '-s', 'KILL', '600'],
    })
    expect(await waitFor(() => existsSync(pidFile) && /^\d+\n/.test(readFileSync(pidFile, 'utf8')), 10_000)).toBe(true)
    const pid = Number(readFileSync(pidFile, 'utf8'))
    escaped.push(pid)
    const jobCgroup = cgroupDirOf(pid)
    expect(inElectCgroup(pid)).toBe(mode === 'cgroup')
    // timeout(1) takes SIGALRM for its limit reached: it SIGKILLs elect, then its own process group.
    process.kill(wrapped.pid!, 'SIGALRM')
    await wrapped
    expect(await waitFor(() => !alive(pid), 8000, 10)).toBe(true)
    // Dead while the leadership still stood in etcd: the 10 s lease, no longer renewed, had not expired.
    expect(etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only'])).toContain(`elect/${name}/`)
    if (mode === 'cgroup') expect(await waitFor(() => !existsSync(jobCgroup), 5000)).toBe(true)
  })

  it.runIf(mode === 'cgroup' && asRoot && cgroup2Mount())(
    'a process of the job that moves itself into another cgroup, as cgexec does, is stopped too',
    async () => {
      const name = uniqueName('cgroup-move')
      const elsewhere = join(cgroup2Mount()!, `elect-test-elsewhere-${process.pid}-${Date.now()}`)
      mkdirSync(elsewhere)
      try {
        // It ignores SIGTERM and leaves the command's session: only a search beyond the job's cgroup finds it.
        const moving = (file: string) => ['sh', '-c', `setsid sh -c 'trap "" TERM; echo $$ > ${elsewhere}/cgroup.procs; ${sleeper(file)}' & sleep 300`]
        const {holder, pid} = await startEscaping(name, moving, env)
        expect(cgroupDirOf(pid)).toBe(elsewhere)
        etcdctl(['lease', 'revoke', await leaderLease(name)])
        expect((await holder).exitCode).toBe(75)
        expect(alive(pid)).toBe(false)
      } finally {
        for (const pid of escaped) {
          try {
            process.kill(pid, 'SIGKILL')
          } catch {
            // stopped by elect, as it should be
          }
        }
        await waitFor(() => readFileSync(join(elsewhere, 'cgroup.procs'), 'utf8') === '', 5000)
        rmdirSync(elsewhere)
      }
    },
  )

  it.runIf(mode === 'cgroup' && asRoot && cgroup2Mount())(
    "a run that waits has its job's cgroup made while it waits, and removed when its turn never comes",
    async () => {
      const name = uniqueName('cgroup-waiting')
      const finish = join(tempDir(), 'finish')
      const holder = startElect(['run-if-leader', name, '--', 'sh', '-c', `while [ ! -e ${finish} ]; do sleep 0.05; done`], {env})
      expect(await waitFor(async () => (await elect(['who-leads', name])).exitCode === 0, 10_000)).toBe(true)
      const waiter = startElect(['run-if-leader', name, '--wait', '5m', '--', 'true'], {env})
      // The guard made it before the turn came, so that none of its making stands between the turn and the command.
      const waitersCgroup = () => {
        const guard = listProcesses().find((row) => row.ppid === waiter.pid && row.alive)
        const named = guard && readdirSync(cgroup2Mount()!).find((entry) => entry.startsWith(`elect-${guard.pid}-`))
        return named && join(cgroup2Mount()!, named)
      }
      expect(await waitFor(() => Boolean(waitersCgroup()), 10_000)).toBe(true)
      const made = waitersCgroup()!
      waiter.kill('SIGTERM')
      expect((await waiter).exitCode).toBe(128 + 15)
      expect(await waitFor(() => !existsSync(made), 5000)).toBe(true)
      writeFileSync(finish, '')
      expect((await holder).exitCode).toBe(0)
    },
  )

  it('the guard SIGKILLed from outside: the job goes at once, its cgroup too, and elect exits 75', async () => {
    const name = uniqueName('guard-killed')
    const {holder, pid} = await startEscaping(name, SHAPES['a daemon that double-forks'], env)
    const cgroupLine = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((line) => line.startsWith('0::'))!
    const guard = listProcesses().find((row) => row.ppid === holder.pid && row.alive)!
    process.kill(guard.pid, 'SIGKILL')
    const result = await holder
    expect([result.exitCode, result.stderr]).toEqual([75, `elect: lost leadership of ${name}: the guard process died; the command was stopped`])
    expect(await waitFor(() => !alive(pid), 5000, 10)).toBe(true)
    if (mode === 'cgroup') {
      const mount = readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .find((line) => line.includes(' - cgroup2 '))!
        .split(' ')[4]
      expect(await waitFor(() => !existsSync(`${mount}${cgroupLine.slice(3)}`), 5000)).toBe(true)
    }
  })

  it('a process of the job that ignores SIGTERM after the command ended gets SIGKILL once the grace is over, not later', async () => {
    const name = uniqueName('leftover-ignores-term')
    const pidFile = join(tempDir(), 'escaped.pid')
    const stubborn = ['sh', '-c', `(setsid sh -c 'trap "" TERM; ${sleeper(pidFile)}' &); while [ ! -s '${pidFile}' ]; do sleep 0.01; done; exit 0`]
    const started = Date.now()
    const result = await elect(['run-if-leader', name, '--kill-grace', '2s', '--', ...quietly(stubborn)], {env})
    escaped.push(Number(readFileSync(pidFile, 'utf8')))
    expect(result.exitCode).toBe(0)
    expect(alive(escaped[0])).toBe(false)
    // It had the whole grace: SIGKILL no sooner than 2 s after the command's end.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000)
  })

  it('a stop keeps its time for SIGKILL when the command ends on the kill signal and a process of its job does not', async () => {
    const name = uniqueName('one-grace')
    const termFile = join(tempDir(), 'term-at')
    // The shell ends on SIGTERM, after 5 s of cleaning up; the daemon it started notes each SIGTERM, and
    // runs on.
    const daemon = (file: string) => `trap "date +%s%3N >> ${termFile}" TERM; echo $$ > ${file}; while :; do sleep 0.05; done`
    const command = (file: string) => ['sh', '-c', `trap "sleep 5; exit 143" TERM; (setsid sh -c '${daemon(file)}' &); sleep 300 & wait`]
    const {holder, pid} = await startEscaping(name, command, env, ['--ttl', '10s', '--kill-grace', '6s'])
    etcdctl(['lease', 'revoke', await leaderLease(name)])
    expect((await holder).exitCode).toBe(75)
    const exitedAt = Date.now()
    expect(alive(pid)).toBe(false)
    // One grace from the stop (SIGKILL 6 s after SIGTERM), not a second one from the shell's end (11 s):
    // the fence has no room for two. Counted from SIGTERM's arrival, so that however long the loss took
    // to hear, the bound leaves 3.5 s for a busy machine to deliver SIGKILL and let elect exit.
    expect(exitedAt - Number(readFileSync(termFile, 'utf8').split('\n')[0])).toBeLessThan(6000 + 3500)
  })
})
