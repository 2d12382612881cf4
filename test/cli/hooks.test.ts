// run-if-leader's hooks, as the README shows them: healthchecks.io's pings and a chat webhook, with
// curl, against an HTTP server of the test's own (no outside network).
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {cleanup, elect, etcdctl, startElect, startHolder, tempDir, uniqueName, waitFor} from '../harness/cli.js'

afterEach(cleanup)

interface Received {
  path: string
  body: string
  at: number
}
const received: Received[] = []
let server: Server
let base: string
beforeAll(async () => {
  server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString()))
    request.on('end', () => {
      received.push({path: request.url!, body, at: Date.now()})
      response.writeHead(request.url!.includes('/missing') ? 404 : 200).end('OK')
    })
  })
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise((closed) => server.close(closed)))

const pings = (uuid: string) => received.filter((request) => request.path.startsWith(`/${uuid}`))
/** The README's healthchecks.io lines, with its address for hc-ping.com. */
const healthchecks = (uuid: string) => [
  '--on-start',
  `curl -fsS -m 5 ${base}/${uuid}/start`,
  '--on-success',
  `curl -fsS -m 5 ${base}/${uuid}`,
  '--on-failure',
  `curl -fsS -m 5 ${base}/${uuid}/fail`,
]

describe('run-if-leader hooks', () => {
  it('pings healthchecks.io at the start, without delaying the job, and at the success, after the release', async () => {
    const name = uniqueName('hooks')
    const uuid = uniqueName('uuid')
    const dir = tempDir()
    const [started, finish, hookHeld, hookGo] = ['started', 'finish', 'held', 'go'].map((file) => join(dir, file))
    // The start hook waits for the job to have started: a hook that ran before the job would time out.
    const flags = [...healthchecks(uuid)]
    flags[1] = `while [ ! -e ${started} ]; do sleep 0.05; done; ${flags[1]}`
    // The success hook holds on until the test has looked: the leadership must be free by then.
    flags[3] = `touch ${hookHeld}; while [ ! -e ${hookGo} ]; do sleep 0.05; done; ${flags[3]}`
    const job = `touch ${started}; while [ ! -e ${finish} ]; do sleep 0.05; done`
    const run = startElect(['run-if-leader', name, '--hook-timeout', '30s', ...flags, '--', 'sh', '-c', job])
    expect(await waitFor(() => pings(uuid).length === 1)).toBe(true)
    expect(pings(uuid)[0].path).toBe(`/${uuid}/start`)
    writeFileSync(finish, '')
    expect(await waitFor(() => existsSync(hookHeld))).toBe(true)
    expect((await elect(['who-leads', name])).exitCode).toBe(3)
    expect((await elect(['run-if-leader', name, '--', 'true'])).exitCode).toBe(0)
    writeFileSync(hookGo, '')
    const result = await run
    expect([result.exitCode, result.stdout, result.stderr]).toEqual([0, '', ''])
    expect(pings(uuid).map((ping) => ping.path)).toEqual([`/${uuid}/start`, `/${uuid}`])
  })

  it("tell a hook the run's record on stdin and in ELECT_* variables; a failing hook is one line, never the exit status", async () => {
    const name = uniqueName('hooks-failure')
    const uuid = uniqueName('uuid')
    const [env, stdin] = [join(tempDir(), 'env'), join(tempDir(), 'stdin')]
    // The README's chat webhook (Slack's format), after a look at what the hook was told.
    const chat = `curl -fsS -m 5 -H 'Content-Type: application/json' -d "{\\"text\\": \\"$ELECT_NAME $ELECT_OUTCOME on $ELECT_VALUE, status $ELECT_STATUS\\"}" ${base}/${uuid}/chat`
    const result = await elect([
      'run-if-leader',
      name,
      '--value',
      'web-1',
      '--on-failure',
      `env | grep ^ELECT_ | sort > ${env}; cat > ${stdin}; ${chat}`,
      '--',
      'sh',
      '-c',
      'exit 7',
    ])
    expect([result.exitCode, result.stderr]).toEqual([7, ''])
    expect(JSON.parse(pings(uuid)[0].body)).toEqual({text: `${name} failed on web-1, status 7`})
    const record = JSON.parse(readFileSync(stdin, 'utf8'))
    expect(record).toMatchObject({
      name,
      job: null,
      value: 'web-1',
      outcome: 'failed',
      status: 7,
      reason: null,
      startedAt: expect.any(String),
      endedAt: expect.any(String),
    })
    const variables = Object.fromEntries(
      readFileSync(env, 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(/=(.*)/s).slice(0, 2)),
    )
    expect(variables).toMatchObject({
      ELECT_HOOK: 'failure',
      ELECT_NAME: name,
      ELECT_VALUE: 'web-1',
      ELECT_OUTCOME: 'failed',
      ELECT_STATUS: '7',
      ELECT_REV: String(record.rev),
      ELECT_RUN_LEASE: record.lease,
      ELECT_DURATION_MS: String(record.durationMs),
    })

    // The start and success hooks' input: the record as written at the start, then as the run ended.
    const [atStart, atSuccess] = [join(tempDir(), 'start'), join(tempDir(), 'success')]
    expect(
      (await elect(['run-if-leader', name, '--job', 'j', '--on-start', `cat > ${atStart}`, '--on-success', `cat > ${atSuccess}`, '--', 'true'])).exitCode,
    ).toBe(0)
    const [started, succeeded] = [atStart, atSuccess].map((file) => JSON.parse(readFileSync(file, 'utf8')))
    expect(started).toMatchObject({name, job: 'j', outcome: 'running', endedAt: null, status: null})
    expect(succeeded).toMatchObject({name, job: 'j', outcome: 'succeeded', status: 0, rev: started.rev, lease: started.lease, startedAt: started.startedAt})

    const failing = await elect(['run-if-leader', name, '--on-success', `curl -fsS -m 5 ${base}/${uuid}/missing`, '--', 'true'])
    expect([failing.exitCode, failing.stderr]).toEqual([0, 'elect: --on-success failed with status 22: curl: (22) The requested URL returned error: 404'])
  })

  it('a loss calls --on-failure; a skip calls --on-skip with why', async () => {
    const name = uniqueName('hooks-lost')
    const uuid = uniqueName('uuid')
    const log = join(tempDir(), 'holder')
    const holder = await startHolder(name, log, healthchecks(uuid))
    const skipped = join(tempDir(), 'skipped')
    expect((await elect(['run-if-leader', name, '--value', 'web-2', '--on-skip', `cat > ${skipped}`, '--', 'true'])).exitCode).toBe(0)
    expect(JSON.parse(readFileSync(skipped, 'utf8'))).toEqual({
      name,
      job: null,
      value: 'web-2',
      outcome: 'skipped',
      because: 'another-leads',
      reason: expect.stringMatching(/ leads /),
    })
    const lease = JSON.parse((await elect(['who-leads', name, '--json'])).stdout).leader.lease
    etcdctl(['lease', 'revoke', lease])
    expect((await holder.holder).exitCode).toBe(75)
    expect(pings(uuid).map((ping) => ping.path)).toEqual([`/${uuid}/start`, `/${uuid}/fail`])
  })

  it('a hook that runs past --hook-timeout is killed, with what it started, and the run goes on', async () => {
    const name = uniqueName('hooks-timeout')
    const dir = tempDir()
    const pidFile = join(dir, 'hook.pid')
    const ran = join(dir, 'ran')
    const result = await elect([
      'run-if-leader',
      name,
      '--hook-timeout',
      '1s',
      '--on-start',
      `sh -c 'echo $$ > ${pidFile}; exec sleep 300' & wait`,
      '--',
      'touch',
      ran,
    ])
    expect([result.exitCode, result.stderr, existsSync(ran)]).toEqual([0, 'elect: --on-start did not end within --hook-timeout 1s; it was killed', true])
    const pid = Number(readFileSync(pidFile, 'utf8'))
    // Gone, or a zombie that its new parent has yet to reap.
    const alive = () => existsSync(`/proc/${pid}/stat`) && readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z'
    expect(await waitFor(() => !alive(), 5000)).toBe(true)
  })

  it('an empty hook is a usage error', async () => {
    const result = await elect(['run-if-leader', 'x', '--on-start', ' ', '--', 'true'])
    expect([result.exitCode, result.stderr.split('\n')[0]]).toEqual([
      2,
      'elect: --on-start " " is not a command: give one line for sh -c, as in \'curl -fsS -m 5 https://hc-ping.com/$UUID\'',
    ])
  })
})
