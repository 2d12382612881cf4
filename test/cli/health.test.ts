// --health-cmd: a server whose check fails does not queue, and a leading campaign whose check keeps
// failing steps down as on resign (its jobs dead first), then queues again once the check passes.
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {
  cleanup,
  elect,
  etcdctl,
  groupAlive,
  raftIndex,
  jsonLines,
  readEvents,
  recorder,
  startElect,
  tempDir,
  uniqueName,
  useOwnCluster,
  waitFor,
} from '../harness/cli.js'
import {sleep, witnessOf} from '../harness/processes.js'

// An etcd of this file's own: a sick server's skip is checked by the raft index not moving.
useOwnCluster()
afterEach(cleanup)

interface CampaignEvent {
  event: string
  value: string
  healthy?: boolean
  reason?: string | null
  leading?: boolean
}

/** `campaign --json` on a machine of its own (a runtime directory), with its events as they come. */
function startCampaign(name: string, value: string, flags: string[]) {
  const env = {ELECT_RUNTIME_DIR: tempDir()}
  const child = startElect(['campaign', name, '--value', value, '--json', ...flags], {env})
  const events = jsonLines<CampaignEvent>(child)
  return {child, events, env, saw: (event: string, count = 1) => waitFor(() => events.filter((seen) => seen.event === event).length >= count, 20_000)}
}

const queue = (name: string) =>
  etcdctl(['get', '--prefix', `elect/${name}/`, '--print-value-only'])
    .split('\n')
    .filter(Boolean)
const fast = ['--health-interval', '300ms', '--health-failures', '2']

describe('--health-cmd', () => {
  it('makes a leader whose check starts failing step down, its job dead first, to a healthy server whose job then runs alone', async () => {
    const name = uniqueName('health-handover')
    const dir = tempDir()
    const sick = join(dir, 'web-1-sick')
    const first = startCampaign(name, 'web-1', ['--health-cmd', `test ! -e '${sick}'`, ...fast])
    expect(await first.saw('elected')).toBe(true)
    const second = startCampaign(name, 'web-2', ['--health-cmd', 'true', ...fast])
    expect(await second.saw('waiting')).toBe(true)
    // The same job on both machines, attached to each one's campaign; web-1's ignores SIGTERM, so its stop takes --kill-grace.
    const job = (server: string, env: Record<string, string>, ignoreTerm: boolean) =>
      startElect(['run-if-leader', name, '--job', 'j', '--wait', 'forever', '--kill-grace', '1s', '--', ...recorder(join(dir, server), 60, ignoreTerm)], {env})
    const firstJob = job('web-1', first.env, true)
    expect(await waitFor(() => readEvents(join(dir, 'web-1')).length > 0)).toBe(true)
    const secondJob = job('web-2', second.env, false)

    // As on resign: its job dead first, then its key gone (a rival that is not elect would start at once).
    const [leaderKey] = etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only', '--sort-by=CREATE'])
      .split('\n')
      .filter(Boolean)
    const jobGroup = Number(readEvents(join(dir, 'web-1'))[0].extra.split(' ')[0])
    let keyGoneWhileJobLived = false
    let stopped = false
    const stopping = firstJob.finally(() => (stopped = true))
    writeFileSync(sick, '')
    for (let poll = 0; poll < 1000 && !stopped; poll++) {
      const keyGone = etcdctl(['get', leaderKey, '--keys-only']).trim() === ''
      if (keyGone && groupAlive(jobGroup)) keyGoneWhileJobLived = true
      await sleep(10)
    }
    expect((await stopping).exitCode).toBe(75)
    expect(keyGoneWhileJobLived).toBe(false)
    expect(await waitFor(() => readEvents(join(dir, 'web-2')).some((event) => event.event === 'start'), 20_000)).toBe(true)
    const [started] = readEvents(join(dir, 'web-2'))
    expect(witnessOf(started)).toBe('free')
    expect(first.events.filter((event) => ['health', 'stepped-down'].includes(event.event))).toEqual([
      {event: 'health', name, value: 'web-1', healthy: true, reason: null},
      {event: 'health', name, value: 'web-1', healthy: false, reason: 'the health check failed with status 1'},
      expect.objectContaining({event: 'stepped-down', leading: true, reason: 'the health check failed with status 1 (2 times in a row)'}),
    ])
    expect(first.child.exitCode).toBe(null)
    expect(queue(name)).toEqual(['web-2'])

    // Healthy again: it queues again, behind web-2, with a new key.
    rmSync(sick)
    expect(await first.saw('waiting', 2)).toBe(true)
    expect(queue(name)).toEqual(['web-2', 'web-1'])
    for (const campaign of [first, second]) campaign.child.kill('SIGTERM')
    const [firstEnd] = await Promise.all([first.child, second.child, secondJob])
    expect(firstEnd.stderr).toContain(
      `elect: stepped down as leader of ${name}: the health check failed with status 1 (2 times in a row); it queues again once the check passes`,
    )
    expect(firstEnd.stderr).toContain(`elect: the health check passes again: queueing for ${name}`)
  })

  it('keeps a sick server out of the queue: a campaign waits for its check, a run skips with one read and no write', async () => {
    const name = uniqueName('health-sick')
    const campaign = startCampaign(name, 'web-1', ['--health-cmd', 'echo disk full >&2; exit 1', ...fast])
    expect(await campaign.saw('health')).toBe(true)
    expect(campaign.events[0]).toEqual({event: 'health', name, value: 'web-1', healthy: false, reason: 'the health check failed with status 1: disk full'})
    const before = raftIndex()
    const ran = join(tempDir(), 'ran')
    const fire = await elect(['run-if-leader', name, '--health-cmd', 'echo disk full >&2; exit 1', '--wait', 'forever', '--', 'touch', ran])
    expect([fire.exitCode, fire.stderr, existsSync(ran)]).toEqual([
      0,
      'elect: skipped: this server is not healthy: the health check failed with status 1: disk full',
      false,
    ])
    expect(raftIndex()).toBe(before)
    expect(queue(name)).toEqual([])
    expect(campaign.events.map((event) => event.event)).toEqual(['health'])
    campaign.child.kill('SIGTERM')
    expect((await campaign.child).exitCode).toBe(0)
  })

  it('counts failures in a row only: a check that fails every other time never makes a leader step down', async () => {
    const name = uniqueName('health-flaky')
    const count = join(tempDir(), 'count')
    // Passes on odd calls, fails on even ones: never two failures in a row.
    const flaky = `n=$(( $(cat '${count}' 2>/dev/null || echo 0) + 1 )); echo $n > '${count}'; [ $((n % 2)) -eq 1 ] || { echo flaky >&2; exit 1; }`
    const campaign = startCampaign(name, 'web-1', ['--health-cmd', flaky, ...fast])
    expect(await campaign.saw('elected')).toBe(true)
    const checks = () => (existsSync(count) ? Number(readFileSync(count, 'utf8')) : 0)
    // Twelve checks: six failures, each one after a pass.
    expect(await waitFor(() => checks() >= 12, 30_000)).toBe(true)
    expect(campaign.events.filter((event) => event.event === 'stepped-down')).toEqual([])
    expect(queue(name)).toEqual(['web-1'])
    campaign.child.kill('SIGTERM')
    expect((await campaign.child).exitCode).toBe(0)
  })

  it('counts a check that hangs as failed, and kills it; none outlives the campaign', async () => {
    const name = uniqueName('health-hang')
    const pids = join(tempDir(), 'check-pids')
    const hanging = `echo $$ >> '${pids}'; exec sleep 300`
    const checks = () => (existsSync(pids) ? readFileSync(pids, 'utf8').split('\n').filter(Boolean).map(Number) : [])
    const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z')
    const campaign = startCampaign(name, 'web-1', ['--health-cmd', hanging, '--health-timeout', '300ms', ...fast])
    expect(await campaign.saw('health')).toBe(true)
    expect(campaign.events[0]).toMatchObject({healthy: false, reason: 'the health check did not end within --health-timeout 300ms'})
    expect(await waitFor(() => checks().length >= 2, 10_000)).toBe(true)
    expect(alive(checks()[0])).toBe(false)
    const fire = await elect(['run-if-leader', name, '--health-cmd', hanging, '--health-timeout', '300ms', '--', 'true'])
    expect([fire.exitCode, fire.stderr]).toEqual([0, 'elect: skipped: this server is not healthy: the health check did not end within --health-timeout 300ms'])
    expect(queue(name)).toEqual([])
    campaign.child.kill('SIGTERM')
    expect((await campaign.child).exitCode).toBe(0)
    expect(await waitFor(() => checks().every((pid) => !alive(pid)), 5000)).toBe(true)
  })

  it('takes a check that cannot be run, an empty one and --health-failures 0 as usage errors', async () => {
    const name = uniqueName('health-usage')
    for (const command of [
      ['campaign', name],
      ['run-if-leader', name],
    ]) {
      const tail = command[0] === 'run-if-leader' ? ['--', 'true'] : []
      const missing = await elect([...command, '--health-cmd', '/nonexistent/check', ...tail])
      expect([missing.exitCode, missing.stderr]).toEqual([
        2,
        expect.stringMatching(/^elect: --health-cmd cannot be run: sh: \d+: \/nonexistent\/check: not found$/),
      ])
      expect((await elect([...command, '--health-cmd', ' ', ...tail])).exitCode).toBe(2)
    }
    const zero = await elect(['campaign', name, '--health-cmd', 'true', '--health-failures', '0'])
    expect([zero.exitCode, zero.stderr.split('\n')[0]]).toEqual([2, expect.stringMatching(/^elect: --health-failures: .*greater than or equal to 1/)])
    expect(queue(name)).toEqual([])
  })
})
