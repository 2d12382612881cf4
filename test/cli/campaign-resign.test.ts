import {afterEach, describe, expect, it} from 'vitest'
import {cleanup, elect, etcdctl, startElect, startEtcdctl, uniqueName, waitFor} from '../harness/cli.js'

afterEach(cleanup)

function events(stdout: string) {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
}

async function leads(name: string, value: string) {
  return waitFor(async () => (await elect(['who-leads', name])).stdout === value, 10_000)
}

describe('campaign', () => {
  it('prints waiting and elected events, and on SIGTERM resigns and exits 0', async () => {
    const name = uniqueName('campaign')
    const campaign = startElect(['campaign', name, '--value', 'a', '--json'])
    expect(await leads(name, 'a')).toBe(true)
    campaign.kill('SIGTERM')
    const result = await campaign
    expect(result.exitCode).toBe(0)
    expect(events(result.stdout).map((event) => event.event)).toEqual(['waiting', 'elected', 'resigned'])
    const elected = events(result.stdout)[1]
    expect(elected).toMatchObject({name, value: 'a', key: `elect/${name}/${elected.lease}`})
    expect((await elect(['who-leads', name])).exitCode).toBe(3)
  })

  it('prints one plain line when elected', async () => {
    const name = uniqueName('plain')
    const campaign = startElect(['campaign', name, '--value', 'a'])
    expect(await leads(name, 'a')).toBe(true)
    campaign.kill('SIGINT')
    const result = await campaign
    expect(result.stdout).toMatch(new RegExp(`^elected: a leads ${name} \\(revision \\d+\\)$`))
    expect(result.exitCode).toBe(0)
  })

  it('exits 124 when --timeout runs out, leaving no key behind', async () => {
    const name = uniqueName('timeout')
    void startElect(['campaign', name, '--value', 'holder'])
    expect(await leads(name, 'holder')).toBe(true)
    const result = await elect(['campaign', name, '--value', 'late', '--timeout', '1s', '--json'])
    expect(result.exitCode).toBe(124)
    expect(events(result.stdout).map((event) => event.event)).toEqual(['waiting', 'timed-out'])
    expect((await elect(['who-leads', name, '--candidates'])).stdout).toBe('holder')
  })

  it('exits 75 with a lost event when its key is deleted', async () => {
    const name = uniqueName('lost')
    const campaign = startElect(['campaign', name, '--value', 'a', '--json'])
    expect(await leads(name, 'a')).toBe(true)
    etcdctl(['del', '--prefix', `elect/${name}/`])
    const result = await campaign
    expect(result.exitCode).toBe(75)
    expect(events(result.stdout).at(-1)).toMatchObject({event: 'lost', reason: 'the leader key was deleted'})
    expect(result.stderr).toBe(`elect: lost leadership of ${name}: the leader key was deleted`)
  })
})

describe('resign', () => {
  it('asks the named leader to step down and waits until its key is gone', async () => {
    const name = uniqueName('resign')
    const campaign = startElect(['campaign', name, '--value', 'a', '--json'])
    expect(await leads(name, 'a')).toBe(true)
    const result = await elect(['resign', name, '--value', 'a', '--json'])
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({name, value: 'a', forced: false})
    expect((await elect(['who-leads', name])).exitCode).toBe(3)
    const campaignResult = await campaign
    expect(campaignResult.exitCode).toBe(0)
    expect(events(campaignResult.stdout).at(-1)).toMatchObject({event: 'resigned', reason: expect.stringMatching(/^resign requested by /)})
  })

  it('exits 3 when nobody leads, or when another value leads', async () => {
    const name = uniqueName('nothing')
    const none = await elect(['resign', name, '--value', 'a'])
    expect(none.exitCode).toBe(3)
    expect(none.stderr).toBe(`elect: nothing to resign: a does not lead ${name} (nobody leads it)`)
    void startElect(['campaign', name, '--value', 'b'])
    expect(await leads(name, 'b')).toBe(true)
    const other = await elect(['resign', name, '--value', 'a'])
    expect(other.exitCode).toBe(3)
    expect(other.stderr).toBe(`elect: nothing to resign: a does not lead ${name} (b leads it)`)
  })

  it('exits 124 when the holder does not answer, and --force deletes its key anyway', async () => {
    const name = uniqueName('force')
    // etcdctl elect knows nothing of elect's resign requests: a holder that never answers.
    void startEtcdctl(['elect', `elect/${name}`, 'deaf'])
    expect(await leads(name, 'deaf')).toBe(true)
    const polite = await elect(['resign', name, '--value', 'deaf', '--timeout', '1s'])
    expect(polite.exitCode).toBe(124)
    expect(polite.stderr).toBe(`elect: deaf did not step down from ${name} within --timeout`)
    const forced = await elect(['resign', name, '--force', '--timeout', '1s', '--json'])
    expect(forced.exitCode).toBe(0)
    expect(JSON.parse(forced.stdout)).toMatchObject({value: 'deaf', forced: true})
    expect((await elect(['who-leads', name])).exitCode).toBe(3)
  })
})
