// A whole holder frozen past its lease: elect, its guard and the job stopped together (a paused VM, a
// host stalled on I/O, a frozen container) and resumed together after another server has led and
// written. No guard can stop what is frozen with it; the job runs on for a moment once it wakes, and
// only fencing refuses what it writes then. The writes are the README's recipes ("Fenced writes"),
// read from it and run as written: etcd (elect put and txn --fenced), a real PostgreSQL server's
// fence row, files on shared storage, and an HTTP API with conditional requests.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {dirname, join} from 'node:path'
import {afterAll, afterEach, beforeAll, expect, it} from 'vitest'
import {cleanup, etcdctl, startElect, tempDir, trackGroup, uniqueName, waitFor} from '../harness/cli.js'
import {electCommandLine, freezeTree, thaw} from '../harness/processes.js'
import {type Postgres, startPostgres} from '../harness/postgres.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const section = readme.slice(readme.indexOf('### Fenced writes'), readme.indexOf('### The whole job'))

/** The README's command that starts with `start`, with its continuation lines, unindented. */
function readmeCommand(start: string): string {
  const lines = section.split('\n')
  const first = lines.findIndex((line) => line.startsWith(`    ${start}`))
  expect(first, `README's Fenced writes has "${start}"`).toBeGreaterThan(-1)
  let last = first
  while (lines[last].endsWith('\\')) last++
  return lines
    .slice(first, last + 1)
    .map((line) => line.slice(4))
    .join('\n')
}
const readmeBlock = (language: string) => new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(section)![1]

/**
 * The HTTP API the README's curl lines talk to: one resource with an ETag, written by PUT unless an
 * If-Match names another ETag (412, RFC 9110) or a Fencing-Token older than one that has written (409).
 */
function conditionalApi() {
  const resource = {body: 'nobody yet', version: 0, newestToken: 0}
  const server: Server = createServer((request, response) => {
    const etag = `"v${resource.version}"`
    if (request.method === 'GET' || request.method === 'HEAD') {
      response.writeHead(200, {ETag: etag}).end(request.method === 'GET' ? resource.body : undefined)
      return
    }
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString()))
    request.on('end', () => {
      const token = Number(request.headers['fencing-token'] ?? 0)
      const ifMatch = request.headers['if-match']
      if (ifMatch !== undefined && ifMatch !== etag) response.writeHead(412).end()
      else if (token < resource.newestToken) response.writeHead(409).end()
      else {
        Object.assign(resource, {body, version: resource.version + 1, newestToken: token})
        response.writeHead(204, {ETag: `"v${resource.version}"`}).end()
      }
    })
  })
  return {resource, server}
}

let pg: Postgres
const api = conditionalApi()
beforeAll(async () => {
  pg = await startPostgres()
  pg.sql(readmeBlock('sql'))
  pg.sql('CREATE TABLE reports (token bigint, server text)') // the job's own table
  await new Promise<void>((listening) => api.server.listen(0, '127.0.0.1', listening))
}, 60_000)
afterAll(async () => {
  await pg?.stop()
  api.server.close()
})

const frozen: number[] = []
afterEach(async () => {
  thaw(frozen.splice(0))
  await cleanup()
})

/**
 * A server's job: the README's writes, each status in `dir`. `until` names a file the job waits for
 * after it has read the API's ETag (as a job reads before it works) and before it writes, and then
 * for its guard's stop as well.
 */
function job(dir: string, shared: string, server: string, until?: string): string {
  const url = `http://127.0.0.1:${(api.server.address() as {port: number}).port}`
  const step = (command: string, status: string) => `{\n${command}\n} 2> ${dir}/${status}.err\necho $? > ${dir}/${status}`
  return [
    `elect() { ${electCommandLine()} "$@"; }`,
    `cd ${dir} && echo $$ > pid && echo "$ELECT_REV" > token && echo ${server} > report.json`,
    readmeCommand('etag=$(curl').replaceAll('https://api.example', url),
    // It notes the guard's SIGTERM and goes on: a write begun before it came would be ended by it (Node,
    // which `elect put` runs on, takes SIGTERM's default whatever its parent ignored).
    until ? `trap 'touch ${dir}/stopped' TERM; touch ${dir}/waiting; while [ ! -e ${until} ] || [ ! -e ${dir}/stopped ]; do sleep 0.05; done` : '',
    step(readmeCommand('psql -v ON_ERROR_STOP=1'), 'psql'),
    step(readmeCommand('elect put --fenced'), 'put'),
    step(readmeCommand("printf 'put reports"), 'txn'),
    step(`echo ${server} > ${shared}/report.tmp\n${readmeBlock('sh').replaceAll('/srv/shared', shared)}`, 'publish'),
    step(readmeCommand('curl -sf -X PUT').replaceAll('https://api.example', url), 'http'),
    `touch ${dir}/done; sleep 600`,
  ].join('\n')
}

const statuses = (dir: string) =>
  Object.fromEntries(['psql', 'put', 'txn', 'publish', 'http'].map((step) => [step, Number(readFileSync(join(dir, step), 'utf8'))]))

it("refuses a resumed holder's writes once another server has led and written: in etcd, PostgreSQL, shared files and an HTTP API", async () => {
  const name = uniqueName('frozen')
  const [dirA, dirB, shared] = [tempDir(), tempDir(), tempDir()]
  const env = {env: {...pg.env, PATH: `${dirname(pg.psql)}:${process.env.PATH}`}}
  // A's job carries on past SIGTERM once it has read, as a job that cleans up would: it makes its writes
  // within its kill grace after it resumes, whatever its guard says. It waits for `go` to write.
  const holderA = startElect(['run-if-leader', name, '--ttl', '6s', '--kill-grace', '4s', '--', 'sh', '-c', job(dirA, shared, 'A', join(dirA, 'go'))], env)
  expect(await waitFor(() => existsSync(join(dirA, 'waiting')))).toBe(true)
  trackGroup(Number(readFileSync(join(dirA, 'pid'), 'utf8')))
  const keyA = etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only']).trim()

  const pidsA = freezeTree(holderA.pid!)
  frozen.push(...pidsA)
  expect(pidsA.length).toBeGreaterThanOrEqual(4) // elect, the guard and its watcher, the job
  expect(await waitFor(() => etcdctl(['get', keyA, '--keys-only']).trim() === '', 30_000), "A's lease expired while it was frozen").toBe(true)
  const holderB = startElect(['run-if-leader', name, '--', 'sh', '-c', job(dirB, shared, 'B')], env)
  expect(await waitFor(() => existsSync(join(dirB, 'done')))).toBe(true)
  expect(statuses(dirB)).toEqual({psql: 0, put: 0, txn: 0, publish: 0, http: 0})
  const tokenB = readFileSync(join(dirB, 'token'), 'utf8').trim()
  holderB.kill('SIGTERM')

  // A wakes with its go given: its guard stops the job, which writes at once, long before the SIGKILL.
  writeFileSync(join(dirA, 'go'), '')
  thaw(pidsA)
  expect(await waitFor(() => existsSync(join(dirA, 'done')), 20_000), "A's job tried its writes").toBe(true)
  expect(statuses(dirA)).toEqual({psql: 1, put: 3, txn: 3, publish: 3, http: 22})
  expect(readFileSync(join(dirA, 'psql.err'), 'utf8')).toMatch(/fenced out: nightly-report has seen a token newer than \d+/)
  expect((await holderA).exitCode).toBe(75)

  // What stands everywhere is B's.
  expect(pg.sql('SELECT token FROM reports')).toBe(tokenB)
  expect(pg.sql("SELECT token FROM fence WHERE name = 'nightly-report'")).toBe(tokenB)
  expect(etcdctl(['get', 'reports/nightly/rows', '--print-value-only']).trim()).toBe('1832')
  expect(readFileSync(join(shared, 'report.csv'), 'utf8')).toBe('B\n')
  expect(readFileSync(join(shared, 'report.csv.fence'), 'utf8')).toBe(`${tokenB}\n`)
  expect(api.resource).toMatchObject({body: 'B\n', version: 1, newestToken: Number(tokenB)})
}, 90_000)
