import {afterEach, describe, expect, inject, it} from 'vitest'
import {cleanup, elect, etcdctl, startElect, startEtcdctl, uniqueName, waitFor} from '../harness/cli.js'

afterEach(cleanup)

async function campaignUntilQueued(name: string, value: string, extra: string[] = []) {
  const child = startElect(['campaign', name, '--value', value, '--json', ...extra])
  const prefix = extra.includes('--prefix') ? ['--prefix', extra[extra.indexOf('--prefix') + 1]] : []
  const queued = async () => (await elect(['who-leads', name, '--candidates', ...prefix])).stdout.split('\n').includes(value)
  expect(await waitFor(queued, 10_000)).toBe(true)
  // Wrapped: an execa subprocess is a thenable, and returning it bare would await its exit.
  return {campaign: child}
}

describe('who-leads', () => {
  it('exits 3 with one line on stderr when nobody leads', async () => {
    const name = uniqueName('none')
    const result = await elect(['who-leads', name])
    expect(result.exitCode).toBe(3)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(`elect: nobody leads ${name}`)
  })

  it('takes endpoints as etcdctl does: a scheme in any case, a trailing slash', async () => {
    const name = uniqueName('endpoint-forms')
    const [endpoint] = inject('etcdEndpoints')
    for (const form of [`http://${endpoint}/`, `HTTP://${endpoint}`]) {
      const result = await elect(['who-leads', name, '--endpoints', form])
      expect([result.exitCode, result.stderr]).toEqual([3, `elect: nobody leads ${name}`])
    }
  })

  it('prints the leader value alone, and the queue in order with --candidates', async () => {
    const name = uniqueName('queue')
    await campaignUntilQueued(name, 'first')
    await campaignUntilQueued(name, 'second')
    expect((await elect(['who-leads', name])).stdout).toBe('first')
    expect((await elect(['who-leads', name, '--candidates'])).stdout).toBe('first\nsecond')
  })

  it('--json tells key, lease, fencing revision and TTL left', async () => {
    const name = uniqueName('json')
    await campaignUntilQueued(name, 'web-1', ['--ttl', '10s'])
    const result = await elect(['who-leads', name, '--json'])
    const {leader} = JSON.parse(result.stdout)
    expect(leader.value).toBe('web-1')
    expect(leader.key).toBe(`elect/${name}/${leader.lease}`)
    expect(leader.lease).toMatch(/^[0-9a-f]+$/)
    expect(leader.revision).toBeGreaterThan(0)
    expect(leader.ttl).toBeGreaterThan(0)
    expect(leader.ttl).toBeLessThanOrEqual(10)
  })

  it('--is exits 0 only for the value that leads, and prints nothing', async () => {
    const name = uniqueName('is')
    await campaignUntilQueued(name, 'web-1')
    const yes = await elect(['who-leads', name, '--is', 'web-1'])
    const no = await elect(['who-leads', name, '--is', 'web-2'])
    expect([yes.exitCode, yes.stdout, no.exitCode, no.stdout]).toEqual([0, '', 3, ''])
  })

  it('--watch prints one line per change of leader', async () => {
    const name = uniqueName('watch')
    const watcher = startElect(['who-leads', name, '--watch'])
    let output = ''
    watcher.stdout.on('data', (chunk) => (output += chunk))
    expect(await waitFor(() => output === '\n')).toBe(true)
    const {campaign: first} = await campaignUntilQueued(name, 'a')
    await campaignUntilQueued(name, 'b')
    first.kill('SIGTERM')
    expect(await waitFor(() => output.includes('b'), 10_000)).toBe(true)
    watcher.kill('SIGTERM')
    const result = await watcher
    expect(result.exitCode).toBe(0)
    expect(result.stdout.split('\n')).toEqual(['', 'a', 'b'])
  })

  it('honours --prefix and ELECT_PREFIX, including the empty prefix', async () => {
    const name = uniqueName('prefix')
    await campaignUntilQueued(name, 'p', ['--prefix', 'other/'])
    expect(etcdctl(['get', '--prefix', `other/${name}/`, '--print-value-only'])).toBe('p')
    expect((await elect(['who-leads', name, '--prefix', 'other/'])).stdout).toBe('p')
    expect((await elect(['who-leads', name], {env: {ELECT_PREFIX: 'other/'}})).stdout).toBe('p')
    expect((await elect(['who-leads', name])).exitCode).toBe(3)
    await campaignUntilQueued(name, 'bare', ['--prefix', ''])
    expect(etcdctl(['get', '--prefix', `${name}/`, '--print-value-only'])).toBe('bare')
    expect((await elect(['who-leads', name], {env: {ELECT_PREFIX: ''}})).stdout).toBe('bare')
  })
})

describe('interop with etcdctl elect', () => {
  it('etcdctl elect -l shows the leader elect elected', async () => {
    const name = uniqueName('ctl-l')
    await campaignUntilQueued(name, 'from-elect')
    // -l listens: it prints the leader's key and value, then every change, until stopped.
    const listener = startEtcdctl(['elect', '-l', `elect/${name}`])
    let listed = ''
    listener.stdout.on('data', (chunk) => (listed += chunk))
    expect(await waitFor(() => listed.split('\n').length >= 3)).toBe(true)
    expect(listed.split('\n').slice(0, 2)).toEqual([expect.stringMatching(new RegExp(`^elect/${name}/[0-9a-f]+$`)), 'from-elect'])
  })

  it('who-leads shows a leader etcdctl elected', async () => {
    const name = uniqueName('ctl-lead')
    void startEtcdctl(['elect', `elect/${name}`, 'from-etcdctl'])
    expect(await waitFor(async () => (await elect(['who-leads', name])).stdout === 'from-etcdctl', 10_000)).toBe(true)
  })

  it('an etcdctl candidate queued behind elect takes over when elect resigns', async () => {
    const name = uniqueName('ctl-next')
    const {campaign: holder} = await campaignUntilQueued(name, 'from-elect')
    const follower = startEtcdctl(['elect', `elect/${name}`, 'from-etcdctl'])
    expect(await waitFor(async () => (await elect(['who-leads', name, '--candidates'])).stdout.includes('from-etcdctl'))).toBe(true)
    expect((await elect(['who-leads', name])).stdout).toBe('from-elect')
    const resigned = await elect(['resign', name, '--value', 'from-elect'])
    expect(resigned.exitCode).toBe(0)
    expect((await holder).exitCode).toBe(0)
    expect(await waitFor(async () => (await elect(['who-leads', name])).stdout === 'from-etcdctl', 10_000)).toBe(true)
    follower.kill('SIGINT')
  })
})
