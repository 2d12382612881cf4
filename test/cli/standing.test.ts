// Standing leadership: a campaign per machine, run-if-leaders attached to it. Each simulated machine
// is a runtime directory of its own (ELECT_RUNTIME_DIR), all on one real etcd.
import {chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {ResultPromise} from 'execa'
import {afterEach, describe, expect, inject, it} from 'vitest'
import {
  cleanup,
  elect,
  etcdctl,
  groupAlive,
  readEvents,
  recorder,
  jsonLines,
  startElect,
  startHolder,
  tempDir,
  uniqueName,
  raftIndex,
  useOwnCluster,
  waitFor,
} from '../harness/cli.js'
import {byGroup, Observer, underElect} from '../harness/observer.js'
import {sleep, witnessOf} from '../harness/processes.js'

// An etcd of this file's own: the skip test compares raft indexes.
useOwnCluster()
afterEach(cleanup)

interface Machine {
  env: {ELECT_RUNTIME_DIR: string}
}

function machine(): Machine {
  return {env: {ELECT_RUNTIME_DIR: tempDir()}}
}

interface CampaignEvent {
  event: string
  key?: string
  lease?: string
  revision?: number
  value: string
}

/** Starts `campaign --json` on a machine and waits for its first event (elected or waiting). */
async function startCampaign(name: string, on: Machine, value: string, extra: string[] = []) {
  const child = startElect(['campaign', name, '--value', value, '--json', ...extra], on)
  const events = jsonLines<CampaignEvent>(child)
  expect(await waitFor(() => events.length > 0, 10_000)).toBe(true)
  return {child, events, elected: () => events.find((event) => event.event === 'elected')}
}

async function leadingCampaign(name: string, on: Machine, value: string, extra: string[] = []) {
  const campaign = await startCampaign(name, on, value, extra)
  expect(await waitFor(() => campaign.elected() !== undefined, 10_000)).toBe(true)
  return {...campaign, self: campaign.elected()!}
}

const candidates = (name: string) =>
  etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only'])
    .split('\n')
    .filter(Boolean)
const exists = (key: string) => etcdctl(['get', key, '--keys-only']).trim() !== ''

/** Polls until `done` settles: true if, at some poll, `key` was gone from etcd while a group still lived. */
async function keyGoneBeforeGroups(key: string, groups: number[], done: Promise<unknown>): Promise<boolean> {
  let settled = false
  void done.finally(() => (settled = true))
  let violated = false
  for (let poll = 0; poll < 1000 && !settled; poll++) {
    // The key first: a group seen alive after the key was seen gone outlived it, certainly.
    const keyGone = !exists(key)
    if (keyGone && groups.some((pgid) => groupAlive(pgid))) violated = true
    await sleep(10)
  }
  return violated
}

describe('run-if-leader under a campaign of its machine', () => {
  it("a job run under the campaign leaves a record of it: the job, the campaign's value and token", async () => {
    const name = uniqueName('attached-record')
    const on = machine()
    const campaign = await leadingCampaign(name, on, 'standing-1')
    expect((await elect(['run-if-leader', name, '--job', 'report', '--', 'sh', '-c', 'exit 3'], on)).exitCode).toBe(3)
    const [record] = (await elect(['runs', name, '--json'])).stdout.split('\n').map((line) => JSON.parse(line))
    expect([record.job, record.value, record.rev, record.outcome, record.status]).toEqual(['report', 'standing-1', campaign.self.revision, 'failed', 3])
    campaign.child.kill('SIGTERM')
    await campaign.child
  })

  it('where the campaign does not lead, skips at once without a write; with --wait, runs once it leads', async () => {
    const name = uniqueName('attach-skip')
    const [a, b] = [machine(), machine()]
    const leader = await leadingCampaign(name, a, 'A')
    const follower = await startCampaign(name, b, 'B')
    expect(follower.events.map((event) => event.event)).toEqual(['waiting'])
    const marker = join(tempDir(), 'ran')
    const before = raftIndex()
    const skipped = await elect(['run-if-leader', name, '--job', 'report', '--verbose', '--', 'touch', marker], b)
    expect([skipped.exitCode, skipped.stderr.split('\n').at(-1)]).toEqual([0, `elect: skipped: A leads ${name}`])
    expect(raftIndex()).toBe(before)
    expect(existsSync(marker)).toBe(false)

    expect((await elect(['run-if-leader', name, '--job', 'report', '--wait', '1s', '--', 'touch', marker], b)).exitCode).toBe(124)
    const waiting = startElect(
      ['run-if-leader', name, '--job', 'report', '--wait', '30s', '--', 'sh', '-c', 'echo "$ELECT_VALUE $ELECT_KEY" > "$0"', marker],
      b,
    )
    await sleep(500)
    leader.child.kill('SIGTERM')
    expect((await leader.child).exitCode).toBe(0)
    expect((await waiting).exitCode).toBe(0)
    expect(await waitFor(() => follower.elected() !== undefined)).toBe(true)
    expect(readFileSync(marker, 'utf8').trim()).toBe(`B ${follower.elected()!.key}`)
  })

  it("a job runs under the campaign's leadership: its variables, ELECT_JOB, and no candidate key of its own", async () => {
    const name = uniqueName('attach-env')
    const a = machine()
    const {self} = await leadingCampaign(name, a, 'A')
    const envFile = join(tempDir(), 'env')
    const run = startElect(['run-if-leader', name, '--job', 'report', '--', 'sh', '-c', 'env > "$0"; sleep 1', envFile], a)
    expect(await waitFor(() => existsSync(envFile))).toBe(true)
    expect(candidates(name)).toEqual([self.key])
    expect((await run).exitCode).toBe(0)
    const env = Object.fromEntries(
      readFileSync(envFile, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('ELECT_'))
        .map((line) => line.split('=')),
    )
    expect(env).toMatchObject({
      ELECT_NAME: name,
      ELECT_JOB: 'report',
      ELECT_KEY: self.key,
      ELECT_REV: String(self.revision),
      ELECT_LEASE: self.lease,
      ELECT_VALUE: 'A',
    })
  })

  it("a job whose kill grace takes most of the campaign's TTL runs its full length: the campaign renews for its window", async () => {
    const name = uniqueName('attach-narrow')
    const a = machine()
    await leadingCampaign(name, a, 'A', ['--ttl', '12s'])
    const log = join(tempDir(), 'job')
    // The job's window is 12 - 8 - 1 = 3 s (wide enough for a busy machine's renewals); the campaign
    // alone would renew every (12 - 1) / 3 = 3.7 s, after it had closed.
    const result = await elect(['run-if-leader', name, '--job', 'narrow', '--kill-grace', '8s', '--', ...recorder(log, 6)], a)
    expect([result.exitCode, result.stderr]).toEqual([0, ''])
    expect(readEvents(log).map((event) => event.event)).toEqual(['start', 'end'])
  })

  it('different jobs run at once; a second fire of a running job skips, or waits with --wait; who-leads lists them', async () => {
    const name = uniqueName('attach-jobs')
    const a = machine()
    await leadingCampaign(name, a, 'A')
    const dir = tempDir()
    // Both jobs run until the test has looked: however slowly the processes below start.
    const [firstMayEnd, otherMayEnd] = [join(dir, 'first-may-end'), join(dir, 'other-may-end')]
    const first = await startHolder(name, join(dir, 'first'), ['--job', 'long'], recorder(join(dir, 'first'), 60, false, firstMayEnd), a)
    const other = await startHolder(name, join(dir, 'other'), ['--job', 'other'], recorder(join(dir, 'other'), 60, false, otherMayEnd), a)
    const {jobs} = JSON.parse((await elect(['who-leads', name, '--json'], a)).stdout)
    expect(jobs.map((job: {job: string; value: string}) => `${job.job} ${job.value}`).sort()).toEqual(['long A', 'other A'])

    const again = await elect(['run-if-leader', name, '--job', 'long', '--verbose', '--', 'true'], a)
    expect([again.exitCode, again.stderr.split('\n').at(-1)]).toEqual([0, 'elect: skipped: job long is still running'])
    const queued = startElect(['run-if-leader', name, '--job', 'long', '--wait', '30s', '--', ...recorder(join(dir, 'queued'), 0.1)], a)
    writeFileSync(firstMayEnd, '')
    writeFileSync(otherMayEnd, '')
    const results = await Promise.all([first.holder, other.holder, queued])
    expect(results.map((result) => result.exitCode)).toEqual([0, 0, 0])
    const [firstEnd] = readEvents(join(dir, 'first')).filter((event) => event.event === 'end')
    const [queuedStart] = readEvents(join(dir, 'queued')).filter((event) => event.event === 'start')
    expect(queuedStart.at).toBeGreaterThanOrEqual(firstEnd.at)
    // The two different jobs did run at the same time.
    const [otherStart] = readEvents(join(dir, 'other'))
    expect(otherStart.at).toBeLessThan(firstEnd.at)
  })

  it('each job has its own --once-per slots', async () => {
    const name = uniqueName('attach-once')
    const a = machine()
    await leadingCampaign(name, a, 'A')
    const ran = join(tempDir(), 'ran')
    const fire = (job: string) =>
      elect(['run-if-leader', name, '--job', job, '--once-per', '1h', '--verbose', '--', 'sh', '-c', 'echo "$ELECT_JOB" >> "$0"', ran], a)
    const results = [await fire('a'), await fire('a'), await fire('b')]
    expect(results.map((result) => result.exitCode)).toEqual([0, 0, 0])
    expect(results[1].stderr.split('\n').at(-1)).toBe('elect: skipped: job a already ran in this --once-per 1h slot')
    expect(readFileSync(ran, 'utf8').split('\n').filter(Boolean)).toEqual(['a', 'b'])
  })

  it.each(['SIGTERM', 'resign'])('on a cooperative end (%s) every job is stopped, and dead before the key goes', async (how) => {
    const name = uniqueName('attach-end')
    const a = machine()
    const leader = await leadingCampaign(name, a, 'A')
    const dir = tempDir()
    const stubborn = await startHolder(name, join(dir, 'stubborn'), ['--job', 'stubborn', '--kill-grace', '1s'], recorder(join(dir, 'stubborn'), 60, true), a)
    const polite = await startHolder(name, join(dir, 'polite'), ['--job', 'polite'], recorder(join(dir, 'polite')), a)
    const ended = how === 'SIGTERM' ? (leader.child.kill('SIGTERM'), leader.child) : elect(['resign', name, '--value', 'A'])
    const violated = keyGoneBeforeGroups(leader.self.key!, [stubborn.pid, polite.pid], Promise.all([leader.child, ended]))
    const [stubbornRun, politeRun] = await Promise.all([stubborn.holder, polite.holder])
    expect([stubbornRun.exitCode, politeRun.exitCode]).toEqual([75, 75])
    // (The recorder's shell may say "Terminated" first, for its sleep.)
    expect(politeRun.stderr.split('\n').at(-1)).toMatch(
      new RegExp(
        `^elect: lost leadership of ${name}: ${how === 'SIGTERM' ? 'the campaign stepped down: SIGTERM' : '(the campaign stepped down: )?resign requested by'}`,
      ),
    )
    expect(readEvents(join(dir, 'polite')).map((event) => event.event)).toEqual(['start', 'stopped'])
    expect((await ended).exitCode).toBe(0)
    expect(await violated).toBe(false)
    expect(exists(leader.self.key!)).toBe(false)
  })

  it('a second signal while it stops its jobs does not cut the stop short', async () => {
    const name = uniqueName('attach-twice')
    const a = machine()
    const leader = await leadingCampaign(name, a, 'A')
    const dir = tempDir()
    // The stubborn job holds the campaign in its stop for its whole 3 s grace; the polite one's
    // "stopped" says the campaign has begun it.
    const stubborn = await startHolder(name, join(dir, 'stubborn'), ['--job', 'stubborn', '--kill-grace', '3s'], recorder(join(dir, 'stubborn'), 60, true), a)
    await startHolder(name, join(dir, 'polite'), ['--job', 'polite'], recorder(join(dir, 'polite')), a)
    leader.child.kill('SIGTERM')
    expect(await waitFor(() => readEvents(join(dir, 'polite')).some((event) => event.event === 'stopped'), 10_000)).toBe(true)
    leader.child.kill('SIGTERM')
    leader.child.kill('SIGINT')
    const violated = keyGoneBeforeGroups(leader.self.key!, [stubborn.pid], leader.child)
    expect((await stubborn.holder).exitCode).toBe(75)
    const ended = await leader.child
    expect([ended.exitCode, ended.signal]).toEqual([0, undefined])
    expect(await violated).toBe(false)
    expect(exists(leader.self.key!)).toBe(false)
  })

  it('a job that runs for its --max-runtime is stopped and exits 125; the campaign leads on, and the next run of the job starts', async () => {
    const name = uniqueName('attach-max-runtime')
    const a = machine()
    const leader = await leadingCampaign(name, a, 'A')
    const log = join(tempDir(), 'job')
    const job = await startHolder(name, log, ['--job', 'j', '--max-runtime', '1s'], recorder(log), a)
    const result = await job.holder
    // (The recorder's shell may say "Terminated" first, for its sleep.)
    expect([result.exitCode, result.stderr.split('\n').at(-1)]).toEqual([125, 'elect: sh ran for --max-runtime 1s; it was stopped'])
    expect(readEvents(log).map((event) => event.event)).toEqual(['start', 'stopped'])
    expect(groupAlive(job.pid)).toBe(false)
    const ran = join(tempDir(), 'ran')
    const next = await elect(['run-if-leader', name, '--job', 'j', '--', 'touch', ran], a)
    expect([next.exitCode, next.stderr, existsSync(ran)]).toEqual([0, '', true])
    expect((await elect(['who-leads', name])).stdout).toBe('A')
    expect(exists(leader.self.key!)).toBe(true)
  })

  it.each(['key deleted', 'lease revoked'])('when the leadership is lost (%s), its jobs are stopped and exit 75', async (how) => {
    const name = uniqueName('attach-lost')
    const a = machine()
    const leader = await leadingCampaign(name, a, 'A')
    const log = join(tempDir(), 'job')
    const job = await startHolder(name, log, ['--job', 'j'], recorder(log), a)
    if (how === 'key deleted') etcdctl(['del', leader.self.key!])
    else etcdctl(['lease', 'revoke', leader.self.lease!])
    const result = await job.holder
    expect(result.exitCode).toBe(75)
    expect(result.stderr).toMatch(/lost leadership/)
    expect(readEvents(log).map((event) => event.event)).toEqual(['start', 'stopped'])
    expect((await leader.child).exitCode).toBe(75)
  })

  it('a campaign SIGKILLed: its jobs stop at once; the socket it leaves is never trusted', async () => {
    const name = uniqueName('attach-killed')
    const a = machine()
    const leader = await leadingCampaign(name, a, 'A', ['--ttl', '10s'])
    const log = join(tempDir(), 'job')
    const job = await startHolder(name, log, ['--job', 'j'], recorder(log), a)
    leader.child.kill('SIGKILL')
    const result = await job.holder
    expect([result.exitCode, result.stderr.split('\n').at(-1)]).toEqual([
      75,
      `elect: lost leadership of ${name}: the campaign on this machine ended; the command was stopped`,
    ])
    // Stopped at once, not when the lease ran out: the dead campaign's key still leads.
    expect(exists(leader.self.key!)).toBe(true)
    expect(readdirSync(a.env.ELECT_RUNTIME_DIR).filter((file) => file.endsWith('.sock'))).toHaveLength(1)
    // Standalone now: it campaigns on its own, queued behind the dead campaign's key until it expires.
    const marker = join(tempDir(), 'ran')
    const standalone = await elect(['run-if-leader', name, '--wait', '20s', '--', 'sh', '-c', 'echo "$ELECT_KEY" > "$0"', marker], a)
    expect(standalone.exitCode).toBe(0)
    expect(readFileSync(marker, 'utf8').trim()).not.toBe(leader.self.key)
  })

  it('a campaign frozen: its jobs stop by their own fence before its lease can expire; a new fire skips', async () => {
    const name = uniqueName('attach-frozen')
    const a = machine()
    // A 3 s window (5 s - 1 s grace - 1 s margin). With 4 s, a 2 s window under the README's 2.5 s
    // rule, the job (the single executable, in CI beside two chaos runners: a load of 13) did not
    // start within 20 s.
    const leader = await leadingCampaign(name, a, 'A', ['--ttl', '5s'])
    const log = join(tempDir(), 'job')
    const job = await startHolder(name, log, ['--job', 'j', '--kill-grace', '1s'], recorder(log), a)
    const frozenAt = Date.now()
    leader.child.kill('SIGSTOP')
    const skipped = await elect(['run-if-leader', name, '--job', 'other', '--', 'true'], a)
    expect([skipped.exitCode, skipped.stderr]).toEqual([0, `elect: skipped: the campaign for ${name} on this machine does not answer`])
    const result = await job.holder
    expect(result.exitCode).toBe(75)
    const stopped = readEvents(log).find((event) => event.event === 'stopped')!
    // The lease expires 5 s after its last renewal, which came before the freeze.
    expect(stopped.at).toBeLessThan(frozenAt + 5000)
    leader.child.kill('SIGCONT')
  })

  it("the next leader's run of a job starts only after the old one's group is dead", async () => {
    const name = uniqueName('attach-next')
    const [a, b] = [machine(), machine()]
    const leader = await leadingCampaign(name, a, 'A')
    await startCampaign(name, b, 'B')
    const dir = tempDir()
    // The old run ignores SIGTERM: it lives its whole kill grace after B already leads.
    const old = await startHolder(name, join(dir, 'old'), ['--job', 'j', '--kill-grace', '2s'], recorder(join(dir, 'old'), 60, true), a)
    const next: ResultPromise = startElect(
      ['run-if-leader', name, '--job', 'j', '--kill-grace', '1s', '--wait', 'forever', '--', ...recorder(join(dir, 'next'), 0.5)],
      b,
    )
    await sleep(300)
    const observer = new Observer(
      byGroup(old.pid),
      underElect(() => next.pid),
    )
    // Deleting A's key elects B at once.
    etcdctl(['del', leader.self.key!])
    expect((await next).exitCode).toBe(0)
    observer.stop()
    expect(observer.overlapSeen).toBe(false)
    // However close the two came: the next run's command found the lock the old run's tree held free.
    expect(witnessOf(readEvents(join(dir, 'next'))[0])).toBe('free')
    expect((await old.holder).exitCode).toBe(75)
  })
})

describe('which campaign counts', () => {
  it('only one of the same etcd cluster and prefix: otherwise run-if-leader runs standalone', async () => {
    const name = uniqueName('attach-other')
    const a = machine()
    const {self} = await leadingCampaign(name, a, 'A')
    const keyFile = join(tempDir(), 'key')
    const printKey = ['sh', '-c', 'echo "$ELECT_KEY ${ELECT_JOB-none}" > "$0"', keyFile]
    // The etcd every other test file shares is another cluster, where nobody leads this election.
    const otherCluster = await elect(['run-if-leader', name, '--job', 'j', '--', ...printKey], {...a, endpoints: inject('etcdEndpoints')})
    expect(otherCluster.exitCode).toBe(0)
    expect(readFileSync(keyFile, 'utf8')).not.toContain(self.key)
    const otherPrefix = await elect(['run-if-leader', name, '--prefix', 'other/', '--', ...printKey], a)
    expect(otherPrefix.exitCode).toBe(0)
    expect(readFileSync(keyFile, 'utf8').trim()).toMatch(new RegExp(`^other/${name}/[0-9a-f]+ none$`))
  })
})

describe('the runtime directory', () => {
  it('is 0700 with a 0600 socket; one open to other users is refused by campaign and ignored by run-if-leader', async () => {
    const name = uniqueName('runtime-dir')
    const root = tempDir()
    const a = {env: {ELECT_RUNTIME_DIR: join(root, 'elect')}}
    const leader = await leadingCampaign(name, a, 'A')
    expect(statSync(a.env.ELECT_RUNTIME_DIR).mode & 0o777).toBe(0o700)
    const [socket] = readdirSync(a.env.ELECT_RUNTIME_DIR)
    expect(statSync(join(a.env.ELECT_RUNTIME_DIR, socket)).mode & 0o777).toBe(0o600)
    leader.child.kill('SIGTERM')
    await leader.child

    chmodSync(a.env.ELECT_RUNTIME_DIR, 0o755)
    const refused = await elect(['campaign', name], a)
    expect([refused.exitCode, refused.stderr]).toEqual([
      1,
      `elect: the runtime directory ${a.env.ELECT_RUNTIME_DIR} is open to other users (mode 755); chmod 700 it`,
    ])
    const standalone = await elect(['run-if-leader', name, '--', 'true'], a)
    expect([standalone.exitCode, standalone.stderr]).toEqual([
      0,
      `elect: the runtime directory ${a.env.ELECT_RUNTIME_DIR} is open to other users (mode 755); chmod 700 it; running standalone`,
    ])
  })

  it('one that is a file is refused in one line, exit 1', async () => {
    const file = join(tempDir(), 'not-a-directory')
    writeFileSync(file, '')
    const refused = await elect(['campaign', uniqueName('runtime-file')], {env: {ELECT_RUNTIME_DIR: file}})
    expect([refused.exitCode, refused.stderr]).toEqual([1, `elect: the runtime directory ${file} is not a directory (set ELECT_RUNTIME_DIR to one of yours)`])
  })

  it("a campaign whose TTL cannot cover the job's kill grace is a usage error", async () => {
    const name = uniqueName('attach-ttl')
    const a = machine()
    await leadingCampaign(name, a, 'A', ['--ttl', '4s'])
    const result = await elect(['run-if-leader', name, '--kill-grace', '3s', '--', 'true'], a)
    expect([result.exitCode, result.stderr]).toEqual([
      2,
      "elect: the campaign's --ttl 4s must exceed --kill-grace (3s) plus a 1s safety margin, so the command is dead before the lease can expire",
    ])
  })

  it('a bad --job is a usage error in one line', async () => {
    const result = await elect(['run-if-leader', 'x', '--job', 'a/b', '--', 'true'])
    expect([result.exitCode, result.stderr]).toEqual([
      2,
      'elect: invalid job name "a/b": use 1-128 characters of A-Z a-z 0-9 . _ - (no "/", which would nest one inside another)',
    ])
  })
})
