// etcd as operators keep it: a database that fills up (the NOSPACE alarm), and credentials that stop
// working while a job runs (a role revoked in an access rotation, a password changed). Each has an
// etcd of its own, since a full etcd or auth turned on would fail every other test's writes.
import {execFileSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {cleanup, elect, readEvents, recorder, startElect, tempDir, uniqueName, waitFor} from '../harness/cli.js'
import {type Cluster, startCluster} from '../harness/etcd.js'

afterEach(cleanup)

describe('a full etcd (the NOSPACE alarm)', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster(1, {extraArgs: ['--quota-backend-bytes', String(4 * 1024 * 1024)]})
  })
  afterAll(() => cluster?.stop())

  /** Puts half-megabyte values until etcd raises its alarm (a 4 MB quota takes a few). */
  function fill(): void {
    const value = 'x'.repeat(512 * 1024)
    for (let index = 0; index < 64; index++) {
      try {
        execFileSync(cluster.binaries.etcdctl, [`--endpoints=${cluster.endpoints.join(',')}`, 'put', `filler/${index}`], {
          input: value,
          stdio: ['pipe', 'ignore', 'pipe'],
        })
      } catch {
        break
      }
    }
    expect(cluster.etcdctl(['alarm', 'list'])).toContain('NOSPACE')
  }

  /** What an operator does about it: compact, defragment, disarm. */
  function free(): void {
    cluster.etcdctl(['del', '--prefix', 'filler/'])
    const revision = /"revision":(\d+)/.exec(cluster.etcdctl(['endpoint', 'status', '-w', 'json']))![1]
    cluster.etcdctl(['compact', revision])
    cluster.etcdctl(['defrag'])
    cluster.etcdctl(['alarm', 'disarm'])
  }

  const outOfSpace =
    /^elect: etcd at \S+ refuses writes: etcd's database is full \(alarm NOSPACE\): compact and defragment etcd, then disarm the alarm \(etcdctl alarm disarm\)$/

  it("a run that ends while etcd is full exits with its command's status, says in one line that its end was not recorded, and frees the leadership", async () => {
    const name = uniqueName('nospace-run')
    const dir = tempDir()
    const [log, finish] = [join(dir, 'log'), join(dir, 'finish')]
    const endpoints = cluster.endpoints
    const holder = startElect(['run-if-leader', name, '--value', 'web-1', '--', ...recorder(log, 300, false, finish)], {endpoints})
    expect(await waitFor(() => readEvents(log).some((event) => event.event === 'start'))).toBe(true)
    try {
      fill()
      writeFileSync(finish, '')
      const result = await holder
      expect([result.exitCode, result.stderr]).toEqual([
        0,
        "elect: the end of this run was not recorded in etcd: etcd's database is full (alarm NOSPACE): compact and defragment etcd, then disarm the alarm (etcdctl alarm disarm)",
      ])
      // A full etcd takes deletes: the leadership and the job's marker went, only the record is missing.
      expect(cluster.etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only'])).toBe('')
      expect(cluster.etcdctl(['get', `elect/${name}:running`, '--keys-only'])).toBe('')
      // runs and the dead man's switch say the end was not recorded, not that the job failed.
      const [record] = (await elect(['runs', name, '--json'], {endpoints})).stdout.split('\n').map((line) => JSON.parse(line))
      expect([record.outcome, record.stale]).toEqual(['running', true])
      expect((await elect(['runs', name], {endpoints})).stdout).toContain('end not recorded')
      const check = await elect(['runs', name, '--succeeded-within', '1h'], {endpoints})
      expect(check.exitCode).toBe(3)
      expect(check.stderr).toMatch(/its end was not recorded \(elect killed, or etcd refused the write\)$/)

      // Every command that must write says so in one line, exit 69.
      for (const args of [
        ['run-if-leader', uniqueName('nospace-fire'), '--', 'true'],
        ['campaign', uniqueName('nospace-campaign'), '--timeout', '5s'],
        ['pause', name],
      ]) {
        const refused = await elect(args, {endpoints})
        expect([refused.exitCode, refused.stderr]).toEqual([69, expect.stringMatching(outOfSpace)])
      }
    } finally {
      free()
    }
    // Disarmed, everything works again: nothing was restarted.
    const after = await elect(['run-if-leader', name, '--', 'true'], {endpoints})
    expect([after.exitCode, after.stderr]).toEqual([0, ''])
    expect((await elect(['runs', name, '--succeeded-within', '1h'], {endpoints})).exitCode).toBe(0)
  })

  it("a standing campaign rides the alarm out: its machine's fires exit 69 while etcd is full, and run once it is disarmed", async () => {
    const name = uniqueName('nospace-campaign')
    const endpoints = cluster.endpoints
    const runtimeDir = join(tempDir(), 'runtime')
    const env = {ELECT_RUNTIME_DIR: runtimeDir}
    const campaign = startElect(['campaign', name, '--value', 'web-1'], {endpoints, env})
    expect(await waitFor(async () => (await elect(['who-leads', name], {endpoints})).stdout === 'web-1')).toBe(true)
    try {
      fill()
      const refused = await elect(['run-if-leader', name, '--job', 'report', '--', 'true'], {endpoints, env})
      expect([refused.exitCode, refused.stderr]).toEqual([69, expect.stringMatching(outOfSpace)])
    } finally {
      free()
    }
    const ran = await elect(['run-if-leader', name, '--job', 'report', '--', 'true'], {endpoints, env})
    expect([ran.exitCode, ran.stderr]).toEqual([0, ''])
    expect(campaign.exitCode).toBeNull()
    campaign.kill('SIGTERM')
    expect((await campaign).exitCode).toBe(0)
  })
})

describe('an etcd outage', () => {
  it("ends a run with the one line that says so, within --command-timeout of its job's death, and nothing else", async () => {
    const cluster = await startCluster(1)
    try {
      const log = join(tempDir(), 'log')
      const holder = startElect(
        ['run-if-leader', uniqueName('outage'), '--ttl', '6s', '--kill-grace', '1s', '--command-timeout', '3s', '--', ...recorder(log, 300)],
        {endpoints: cluster.endpoints},
      )
      expect(await waitFor(() => readEvents(log).some((event) => event.event === 'start'))).toBe(true)
      await cluster.members[0].kill()
      const result = await holder
      const exitedAt = Date.now()
      const stopped = readEvents(log).find((event) => event.event === 'stopped')!
      expect(result.exitCode).toBe(75)
      expect(result.stderr.split('\n').filter((line) => line.startsWith('elect:'))).toEqual([
        `elect: lost leadership of ${/run-if-leader (\S+)/.exec(result.command)![1]}: no keepalive acknowledged by etcd within 4s; the command was stopped`,
      ])
      // The release and the revokes share one --command-timeout (3 s here); 2 s for a busy machine.
      expect(exitedAt - stopped.at).toBeLessThan(3000 + 2000)
    } finally {
      await cluster.stop()
    }
  })
})

describe('credentials that stop working while a job runs', () => {
  const ROOT = ['--user', 'root:root-pw']
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster(1)
    for (const args of [
      ['user', 'add', 'root:root-pw'],
      ['user', 'grant-role', 'root', 'root'],
      ['role', 'add', 'elect-rw'],
      ['role', 'grant-permission', 'elect-rw', '--prefix=true', 'readwrite', 'elect/'],
      ['auth', 'enable'],
    ])
      cluster.etcdctl(args)
  })
  afterAll(() => cluster?.stop())

  /** A user of its own for each test, with the role that grants elect's keys. */
  let users = 0
  function user(): {name: string; password: string} {
    const name = `app-${++users}`
    cluster.etcdctl([...ROOT, 'user', 'add', `${name}:pw-${users}`])
    cluster.etcdctl([...ROOT, 'user', 'grant-role', name, 'elect-rw'])
    return {name, password: `pw-${users}`}
  }

  /** Starts a job as `who`, and waits until it runs. */
  async function holding(name: string, who: {name: string; password: string}) {
    const log = join(tempDir(), 'log')
    const holder = startElect(['run-if-leader', name, '--user', `${who.name}:${who.password}`, '--', ...recorder(log, 300)], {endpoints: cluster.endpoints})
    expect(await waitFor(() => readEvents(log).some((event) => event.event === 'start'))).toBe(true)
    return {holder, log}
  }

  /** elect's own lines (the recorder's shell may say 'Terminated' as it is stopped). */
  const electLines = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('elect:'))
  const keysOf = (name: string) => cluster.etcdctl([...ROOT, 'get', '--prefix', `elect/${name}/`, '--keys-only']).trim()

  it('a role revoked mid-run is a loss: the job is stopped while its key still stands, exit 75 naming the permission, and the unrecorded end is one line', async () => {
    const name = uniqueName('revoked')
    const who = user()
    const {holder, log} = await holding(name, who)
    const key = keysOf(name)
    cluster.etcdctl([...ROOT, 'user', 'revoke-role', who.name, 'elect-rw'])
    const result = await holder
    expect(result.exitCode).toBe(75)
    expect(electLines(result.stderr)).toEqual([
      `elect: lost leadership of ${name}: it can no longer read its leadership: etcd denies this user access: its role no longer grants the election's keys; the command was stopped`,
      "elect: the end of this run was not recorded in etcd: etcd denies this user access: its role no longer grants the election's keys",
    ])
    expect(readEvents(log).map((event) => event.event)).toEqual(['start', 'stopped'])
    // Stopped before anyone else could lead: keepalives need no permission, so its key stands yet.
    expect(keysOf(name)).toBe(key)
  })

  it('a standing campaign whose role is revoked stops its attached job and exits 75 naming the permission', async () => {
    const name = uniqueName('revoked-campaign')
    const who = user()
    const login = ['--user', `${who.name}:${who.password}`]
    const env = {ELECT_RUNTIME_DIR: join(tempDir(), 'runtime')}
    const campaign = startElect(['campaign', name, ...login], {endpoints: cluster.endpoints, env})
    expect(await waitFor(() => keysOf(name) !== '')).toBe(true)
    const log = join(tempDir(), 'log')
    const job = startElect(['run-if-leader', name, '--job', 'report', ...login, '--', ...recorder(log, 300)], {endpoints: cluster.endpoints, env})
    expect(await waitFor(() => readEvents(log).some((event) => event.event === 'start'))).toBe(true)
    cluster.etcdctl([...ROOT, 'user', 'revoke-role', who.name, 'elect-rw'])
    const [campaignResult, jobResult] = await Promise.all([campaign, job])
    expect(campaignResult.exitCode).toBe(75)
    expect(electLines(campaignResult.stderr)[0]).toMatch(/^elect: lost leadership of \S+: .*etcd denies this user access/)
    expect(jobResult.exitCode).toBe(75)
    expect(readEvents(log).map((event) => event.event)).toEqual(['start', 'stopped'])
  })

  it('elect check: a role that may read but not write fails the rights check, exit 69; the password stays hidden', async () => {
    const who = user()
    cluster.etcdctl([...ROOT, 'role', 'add', `${who.name}-ro`])
    cluster.etcdctl([...ROOT, 'role', 'grant-permission', `${who.name}-ro`, '--prefix=true', 'read', 'elect/'])
    cluster.etcdctl([...ROOT, 'user', 'revoke-role', who.name, 'elect-rw'])
    cluster.etcdctl([...ROOT, 'user', 'grant-role', who.name, `${who.name}-ro`])
    const config = join(tempDir(), 'elect.env')
    writeFileSync(config, `ELECT_USER=${who.name}\nELECT_PASSWORD=${who.password}\n`, {mode: 0o600})
    const name = uniqueName('check-rights')
    const result = await elect(['check', name], {endpoints: cluster.endpoints, env: {ELECT_CONFIG: config}})
    expect(result.exitCode, result.stdout).toBe(69)
    expect(result.stdout).not.toContain(who.password)
    expect(result.stdout).toContain(`ELECT_PASSWORD=(hidden) from ${config}`)
    expect(result.stdout.split('\n'), result.stdout).toContain(
      `fail  rights under elect/${name}: read, lease ok; write refused: etcd denies this user access: its role no longer grants the election's keys`,
    )
  })

  it('a user that is not root learns the version it leads on all the same (GET /version), and is told of its lease bugs', async () => {
    const who = user()
    const result = await elect(['run-if-leader', uniqueName('version-as-user'), '--user', `${who.name}:${who.password}`, '--', 'true'], {
      endpoints: cluster.endpoints,
      env: {ELECT_ACCEPT_ETCD_VERSION: ''},
    })
    const version = /etcd Version: (\S+)/.exec(execFileSync(cluster.binaries.etcd, ['--version'], {encoding: 'utf8'}))![1]
    expect(result.exitCode).toBe(0)
    if (version === '3.5.30') expect(result.stderr).toBe('')
    else expect(result.stderr).toMatch(new RegExp(`^elect: etcd ${version.replaceAll('.', '\\.')} has known bugs that can end a lease early`))
  })

  it('a password changed mid-run is a loss that names the password, not the keepalives', async () => {
    const name = uniqueName('password')
    const who = user()
    const {holder, log} = await holding(name, who)
    execFileSync(cluster.binaries.etcdctl, [`--endpoints=${cluster.endpoints.join(',')}`, ...ROOT, 'user', 'passwd', who.name, '--interactive=false'], {
      input: 'another-pw\n',
      stdio: ['pipe', 'ignore', 'pipe'],
    })
    const result = await holder
    expect(result.exitCode).toBe(75)
    expect(electLines(result.stderr)[0]).toBe(
      `elect: lost leadership of ${name}: it can no longer read its leadership: etcd no longer accepts this user's password; the command was stopped`,
    )
    expect(electLines(result.stderr)).toHaveLength(2)
    expect(readEvents(log).map((event) => event.event)).toEqual(['start', 'stopped'])
  })
})
