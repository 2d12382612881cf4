// --holders N: the N oldest candidates run at once, each under its own fencing token and guard; a
// job never overlaps itself beyond N, and everyone in the election must say the same N.
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {
  cleanup,
  elect,
  etcdctl,
  raftIndex,
  readEvents,
  recorder,
  startElect,
  startEtcdctl,
  startHolder,
  tempDir,
  uniqueName,
  useOwnCluster,
  waitFor,
} from '../harness/cli.js'
import {witnessOf} from '../harness/processes.js'

// An etcd of this file's own: a skip is checked by the raft index not moving.
useOwnCluster()
afterEach(cleanup)

const queue = async (name: string) => JSON.parse((await elect(['who-leads', name, '--candidates', '--json'])).stdout)
const queued = (name: string, count: number) => waitFor(async () => (await queue(name)).candidates?.length === count)
const starts = (log: string) => readEvents(log).filter((event) => event.event === 'start')

/** web-1 and web-2 holding `name` with --holders 2, each running a recorder until `finish` exists. */
async function twoHolders(name: string) {
  const dir = tempDir()
  const finish = join(dir, 'finish')
  const holders = []
  for (const server of ['web-1', 'web-2'])
    holders.push(await startHolder(name, join(dir, server), ['--holders', '2', '--value', server], recorder(join(dir, server), 60, false, finish, 'take', 2)))
  return {dir, finish, holders}
}

/** A third server that waits with --wait forever to hold an election of two holders. */
const thirdWaiting = (name: string) => ['run-if-leader', name, '--holders', '2', '--value', 'web-3', '--wait', 'forever', '--']

describe('run-if-leader --holders', () => {
  it('runs the two oldest at once; a third waits, and starts as soon as either ahead of it ends, never as a third', async () => {
    const name = uniqueName('holders')
    const dir = tempDir()
    const log = (server: string) => join(dir, server)
    const finish = (server: string) => join(dir, `finish-${server}`)
    const holder = (server: string, flags: string[] = []) =>
      startHolder(name, log(server), ['--holders', '2', '--value', server, ...flags], recorder(log(server), 60, false, finish(server), 'take', 2))
    const first = await holder('web-1')
    const second = await holder('web-2')
    expect(first.revision).not.toBe(second.revision)
    expect([starts(log('web-1')), starts(log('web-2'))].map(([start]) => witnessOf(start))).toEqual(['free', 'free'])

    const third = startElect([...thirdWaiting(name), ...recorder(log('web-3'), 60, false, finish('web-3'), 'take', 2)])
    expect(await queued(name, 3)).toBe(true)
    const shown = await queue(name)
    expect(shown).toMatchObject({
      holders: 2,
      candidates: [
        {value: 'web-1', holds: true},
        {value: 'web-2', holds: true},
        {value: 'web-3', holds: false},
      ],
    })
    const json = JSON.parse((await elect(['who-leads', name, '--json'])).stdout)
    expect(json).toMatchObject({leader: {value: 'web-1'}, holders: 2, holding: [{value: 'web-1'}, {value: 'web-2'}]})
    expect(json.jobs.map((job: {value: string}) => job.value).sort()).toEqual(['web-1', 'web-2'])
    // Both run the election's own job, in its two slots: neither is a job named after its slot.
    expect(json.jobs.map((job: {job: string | null}) => job.job)).toEqual([null, null])
    expect(starts(log('web-3'))).toEqual([])

    // The oldest ends: web-3 is not just behind it, and must wake all the same.
    writeFileSync(finish('web-1'), '')
    expect((await first.holder).exitCode).toBe(0)
    expect(await waitFor(() => starts(log('web-3')).length === 1)).toBe(true)
    const [start] = starts(log('web-3'))
    expect(witnessOf(start)).toBe('free')
    expect(Number(start.extra.split(' ')[1])).toBeGreaterThan(second.revision)
    for (const server of ['web-2', 'web-3']) writeFileSync(finish(server), '')
    expect([(await second.holder).exitCode, (await third).exitCode]).toEqual([0, 0])
    // Nothing is left behind but the three runs' records: no candidate, limit or running key.
    const left = etcdctl(['get', '--prefix', '--keys-only', `elect/${name}`])
      .split('\n')
      .filter(Boolean)
    expect(left.map((key) => key.replace(/[0-9a-f]+$/, ''))).toEqual(Array(3).fill(`elect/${name}:runs/`))
  })

  it('skips with one read and no write when every place is held, naming the holders', async () => {
    const name = uniqueName('holders-full')
    const {dir, finish, holders} = await twoHolders(name)
    const before = raftIndex()
    const ran = join(dir, 'ran')
    const fired = await elect(['run-if-leader', name, '--holders', '2', '--value', 'web-3', '--verbose', '--', 'touch', ran])
    expect([fired.exitCode, fired.stderr, existsSync(ran)]).toEqual([0, `elect: skipped: web-1, web-2 hold ${name}`, false])
    expect(raftIndex()).toBe(before)
    writeFileSync(finish, '')
    for (const {holder} of holders) expect((await holder).exitCode).toBe(0)
  })

  it("stops a holder whose key is deleted, and lets the waiter start only once that holder's job is dead", async () => {
    const name = uniqueName('holders-deleted')
    const dir = tempDir()
    const finish = join(dir, 'finish')
    // web-1 ignores SIGTERM: it lives on for --kill-grace after its key goes, and the waiter must wait that long.
    const first = await startHolder(
      name,
      join(dir, 'web-1'),
      ['--holders', '2', '--value', 'web-1', '--kill-grace', '2s'],
      recorder(join(dir, 'web-1'), 60, true, finish, 'take', 2),
    )
    const second = await startHolder(
      name,
      join(dir, 'web-2'),
      ['--holders', '2', '--value', 'web-2'],
      recorder(join(dir, 'web-2'), 60, false, finish, 'take', 2),
    )
    const waiter = startElect([...thirdWaiting(name), ...recorder(join(dir, 'web-3'), 60, false, finish, 'take', 2)])
    expect(await queued(name, 3)).toBe(true)

    const [web1] = (await queue(name)).candidates
    etcdctl(['del', web1.key])
    const lost = await first.holder
    expect(lost.exitCode).toBe(75)
    expect(await waitFor(() => starts(join(dir, 'web-3')).length === 1)).toBe(true)
    expect(witnessOf(starts(join(dir, 'web-3'))[0])).toBe('free')
    writeFileSync(finish, '')
    expect([(await second.holder).exitCode, (await waiter).exitCode]).toEqual([0, 0])
  })

  it('lets resign ask any holder to step down, not only the oldest', async () => {
    const name = uniqueName('holders-resign')
    const {finish, holders} = await twoHolders(name)
    const resigned = await elect(['resign', name, '--value', 'web-2'])
    expect([resigned.exitCode, resigned.stderr]).toEqual([0, `elect: web-2 stepped down as leader of ${name}`])
    expect((await holders[1].holder).exitCode).toBe(75)
    const nobody = await elect(['resign', name, '--value', 'web-9'])
    expect([nobody.exitCode, nobody.stderr]).toEqual([3, `elect: nothing to resign: web-9 does not lead ${name} (web-1 leads it)`])
    writeFileSync(finish, '')
    expect((await holders[0].holder).exitCode).toBe(0)
  })

  it('refuses, with exit 2 and one line naming both, a candidate that says another number than the election', async () => {
    const name = uniqueName('holders-mismatch')
    const dir = tempDir()
    const finish = join(dir, 'finish')
    const two = await startHolder(name, join(dir, 'web-1'), ['--holders', '2', '--value', 'web-1'], recorder(join(dir, 'web-1'), 60, false, finish, 'take', 2))
    const keysBefore = etcdctl(['get', '--prefix', '--keys-only', `elect/${name}`])
    for (const says of [[], ['--holders', '3']]) {
      const refused = await elect(['run-if-leader', name, ...says, '--wait', '10s', '--', 'true'])
      expect([refused.exitCode, refused.stderr]).toEqual([
        2,
        `elect: web-1 campaigns with --holders 2, this one with --holders ${says[1] ?? 1}: every candidate of the election must say the same`,
      ])
    }
    expect(etcdctl(['get', '--prefix', '--keys-only', `elect/${name}`])).toBe(keysBefore)
    writeFileSync(finish, '')
    expect((await two.holder).exitCode).toBe(0)

    // The other way round: a candidate that says nothing (elect without --holders, or etcdctl elect) holds.
    const sole = startEtcdctl(['elect', `elect/${name}`, 'etcdctl-candidate'])
    expect(await queued(name, 1)).toBe(true)
    const refused = await elect(['run-if-leader', name, '--holders', '2', '--', 'true'])
    expect([refused.exitCode, refused.stderr]).toEqual([
      2,
      'elect: a candidate campaigns with one holder (elect without --holders, or etcdctl elect), this one with --holders 2: every candidate of the election must say the same',
    ])
    expect((await queue(name)).candidates.map((candidate: {value: string}) => candidate.value)).toEqual(['etcdctl-candidate'])
    sole.kill('SIGTERM')
  })

  it('takes --holders 0 as a usage error', async () => {
    const result = await elect(['run-if-leader', uniqueName('holders-zero'), '--holders', '0', '--', 'true'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr.split('\n')[0]).toMatch(/^elect: --holders: .*greater than or equal to 1/)
  })
})
