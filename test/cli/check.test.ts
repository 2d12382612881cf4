// elect check: whether this server is ready, one line per check, 0 when all pass.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, expect, inject, it} from 'vitest'
import {cleanup, elect, startElect, tempDir, uniqueName, waitFor} from '../harness/cli.js'

afterEach(cleanup)

const verdicts = (stdout: string) => stdout.split('\n').map((line) => /^(\S+)\s+(.+?): /.exec(line)!.slice(1, 3))

it('passes every check on a ready server, and says what it read, where each setting came from, and what it found', async () => {
  const name = uniqueName('check')
  const [endpoint] = inject('etcdEndpoints')
  const config = join(tempDir(), 'elect.env')
  writeFileSync(config, `ELECT_ENDPOINTS=127.0.0.1:1\nELECT_PREFIX=elect/\n`)
  const runtime = join(tempDir(), 'runtime')
  const campaign = startElect(['campaign', name, '--value', 'web-1'], {env: {ELECT_RUNTIME_DIR: runtime}})
  expect(await waitFor(async () => (await elect(['who-leads', name])).exitCode === 0)).toBe(true)
  // The flag's endpoint is the one used; the line says where each setting that has a value came from.
  const result = await elect(['check', name, '--endpoints', endpoint], {env: {ELECT_RUNTIME_DIR: runtime, ELECT_CONFIG: config}})
  const lines = result.stdout.split('\n')
  expect(lines[0]).toBe(
    `ok    configuration: read ${config}; ELECT_ENDPOINTS=${endpoint} from --endpoints, ELECT_PREFIX=elect/ from ${config}, ELECT_RUNTIME_DIR=${runtime} from the environment, ELECT_ACCEPT_ETCD_VERSION=${inject('etcdVersion')} from the environment`,
  )
  expect(verdicts(result.stdout)).toEqual([
    ['ok', 'configuration'],
    ['ok', `endpoint ${endpoint}`],
    ['ok', 'cluster'],
    ['ok', 'etcd version'],
    ['ok', `rights under elect/${name}`],
    ['ok', 'runtime directory'],
    ['ok', 'guard'],
    [expect.stringMatching(/^(ok|warn)$/), 'systemd-notify'],
  ])
  expect(lines[4]).toBe(`ok    rights under elect/${name}: read, lease, write, watch`)
  expect(lines[5]).toMatch(
    new RegExp(`^ok    runtime directory: ${runtime}, private to this user; the campaign of ${name} here answers \\(pid \\d+, --value web-1\\)$`),
  )
  expect(result.exitCode).toBe(0)
  const json = JSON.parse((await elect(['check', name, '--json'], {env: {ELECT_RUNTIME_DIR: runtime}})).stdout)
  expect(json.ready).toBe(true)
  expect(json.checks).toHaveLength(8)
  campaign.kill('SIGTERM')
  await campaign
})

it('says which endpoint is not reached, and exits 69', async () => {
  const [endpoint] = inject('etcdEndpoints')
  const result = await elect(['check', '--endpoints', `${endpoint},127.0.0.1:1`])
  expect(result.exitCode).toBe(69)
  expect(result.stdout.split('\n')).toContain('fail  endpoint 127.0.0.1:1: etcd is unreachable at 127.0.0.1:1: ECONNREFUSED 127.0.0.1:1')
  expect(result.stdout).toMatch(new RegExp(`^ok    endpoint ${endpoint}: etcd \\S+ answered in \\d+ ms$`, 'm'))
})
