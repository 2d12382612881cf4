// elect put, del and txn --fenced: a job's writes to etcd that succeed only while the leadership it
// runs under holds, in one transaction with that compare; a stale job's write changes nothing.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, expect, it} from 'vitest'
import {cleanup, defaultEndpoints, elect, etcdctl, startElect, tempDir, uniqueName, waitFor} from '../harness/cli.js'
import {electCommandLine} from '../harness/processes.js'

afterEach(cleanup)

const valueOf = (key: string) => etcdctl(['get', key, '--print-value-only']).replace(/\n$/, '')

/**
 * A job that makes the fenced writes `script` gives (with $ELECT as elect), records its token and
 * each write's status, and runs until the test lets it end.
 */
function fencedJob(dir: string, script: string): string[] {
  return [
    'sh',
    '-c',
    `ELECT="${electCommandLine()}"; echo "$ELECT_KEY $ELECT_REV" > ${dir}/token; { ${script}; } > ${dir}/statuses 2>&1; touch ${dir}/written; while [ ! -e ${dir}/finish ]; do sleep 0.05; done`,
  ]
}

/** Runs a fenced job under `flags` until its writes are made; returns its token and a way to end it. */
async function jobThatWrote(name: string, dir: string, script: string, flags: string[] = [], options = {}) {
  const job = startElect(['run-if-leader', name, ...flags, '--', ...fencedJob(dir, script)], options)
  expect(await waitFor(() => existsSync(join(dir, 'written')))).toBe(true)
  const [key, rev] = readFileSync(join(dir, 'token'), 'utf8').trim().split(' ')
  const end = async () => {
    writeFileSync(join(dir, 'finish'), '')
    expect((await job).exitCode).toBe(0)
  }
  return {asTheJob: {env: {ELECT_KEY: key, ELECT_REV: rev}}, key, rev, statuses: readFileSync(join(dir, 'statuses'), 'utf8'), end}
}

const writes = (data: string) =>
  [`$ELECT put --fenced ${data}/one first; echo put=$?`, `printf 'put ${data}/two two words\\ndel ${data}/gone\\n' | $ELECT txn --fenced; echo txn=$?`].join(
    '; ',
  )

it('applies while the job leads; once its leader key is gone or made again, writes nothing, exits 3 and says why in one line', async () => {
  const name = uniqueName('fenced')
  const data = `fenced-data/${name}`
  const dir = tempDir()
  etcdctl(['put', `${data}/gone`, 'still here'])
  const job = await jobThatWrote(name, dir, writes(data))
  expect(job.statuses).toBe('put=0\ntxn=0\n')
  expect([valueOf(`${data}/one`), valueOf(`${data}/two`), valueOf(`${data}/gone`)]).toEqual(['first', 'two words', ''])
  await job.end()

  // The job's token after its leadership ended: a stale holder, resumed.
  const line = `elect: fenced out, nothing written: the leadership at ${job.key} (token ${job.rev}) no longer holds: its leader key is gone`
  for (const [args, input] of [
    [['put', '--fenced', `${data}/one`, 'stale'], undefined],
    [['put', '--fenced', `${data}/one`], 'stale from stdin'],
    [['del', '--fenced', `${data}/one`], undefined],
    [['txn', '--fenced'], `put ${data}/three stale\ndel ${data}/two\n`],
  ] as const) {
    const stale = await elect([...args], {...job.asTheJob, input})
    expect([args[0], stale.exitCode, stale.stdout, stale.stderr]).toEqual([args[0], 3, '', line])
  }
  expect([valueOf(`${data}/one`), valueOf(`${data}/two`), valueOf(`${data}/three`)]).toEqual(['first', 'two words', ''])

  // The same key made again is another leadership: only its create revision tells them apart.
  etcdctl(['put', job.key, 'someone else'])
  const remade = await elect(['del', '--fenced', `${data}/one`], job.asTheJob)
  expect(remade.exitCode).toBe(3)
  expect(remade.stderr).toMatch(/no longer holds: its leader key was made again, at revision \d+$/)
  expect(valueOf(`${data}/one`)).toBe('first')
  etcdctl(['del', job.key])
})

it("fences an attached job with its campaign's leadership, and one of several holders with its own key", async () => {
  const name = uniqueName('fenced-standing')
  const data = `fenced-data/${name}`
  const machine = {env: {ELECT_RUNTIME_DIR: tempDir()}}
  const campaign = startElect(['campaign', name, '--value', 'standing'], machine)
  expect(await waitFor(() => etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only']).trim() !== '')).toBe(true)
  const campaignKey = etcdctl(['get', '--prefix', `elect/${name}/`, '--keys-only']).trim()
  const attached = await jobThatWrote(name, tempDir(), writes(data), ['--job', 'nightly'], machine)
  expect([attached.key, attached.statuses]).toEqual([campaignKey, 'put=0\ntxn=0\n'])
  await attached.end()
  // The job is over but the campaign leads: its token still holds.
  expect((await elect(['put', '--fenced', `${data}/one`, 'again'], attached.asTheJob)).exitCode).toBe(0)
  campaign.kill('SIGTERM')
  await campaign
  const after = await elect(['put', '--fenced', `${data}/one`, 'stale'], attached.asTheJob)
  expect([after.exitCode, valueOf(`${data}/one`)]).toEqual([3, 'again'])

  const many = uniqueName('fenced-holders')
  const first = await jobThatWrote(many, tempDir(), writes(`${data}/a`), ['--holders', '2'])
  const second = await jobThatWrote(many, tempDir(), writes(`${data}/b`), ['--holders', '2'])
  expect([first.statuses, second.statuses]).toEqual(['put=0\ntxn=0\n', 'put=0\ntxn=0\n'])
  expect(second.key).not.toBe(first.key)
  await first.end()
  // One holder's end fences its own writes only.
  expect((await elect(['put', '--fenced', `${data}/a/one`, 'stale'], first.asTheJob)).exitCode).toBe(3)
  expect((await elect(['put', '--fenced', `${data}/b/one`, 'fresh'], second.asTheJob)).exitCode).toBe(0)
  await second.end()
})

it('reaches, from a job, the etcd that run-if-leader was pointed at by its flags alone', async () => {
  const name = uniqueName('fenced-flags')
  const data = `fenced-data/${name}`
  // etcd where nothing listens, unless the flags' endpoints reach the job's elect.
  const onlyFlags = {env: {ELECT_ENDPOINTS: '127.0.0.1:9', ETCDCTL_ENDPOINTS: undefined}}
  const endpoints = defaultEndpoints().join(',')
  const job = await jobThatWrote(name, tempDir(), writes(data), ['--endpoints', endpoints, '--prefix', 'fenced-flags/'], onlyFlags)
  expect(job.statuses).toBe('put=0\ntxn=0\n')
  expect(job.key.startsWith(`fenced-flags/${name}/`)).toBe(true)
  expect(valueOf(`${data}/one`)).toBe('first')
  await job.end()
})

it("refuses --fenced outside a job, elect's own keys and a malformed txn, in one line with exit 2; writes unfenced otherwise", async () => {
  const outside = {env: {ELECT_KEY: undefined, ELECT_REV: undefined}}
  const name = uniqueName('fenced-usage')
  const refused: [string[], string | undefined, RegExp][] = [
    [
      ['put', '--fenced', `fenced-data/${name}`, 'x'],
      undefined,
      /^elect: --fenced writes only while the leadership a job runs under holds: run it inside run-if-leader/,
    ],
    [['put', `elect/${name}/694d86dd42307e0b`, 'x'], undefined, /^elect: elect\/.* is one of elect's own keys/],
    [['del', `elect/${name}:running`], undefined, /^elect: elect\/.* is one of elect's own keys/],
    [['txn', '--prefix', 'jobs/'], `put fenced-data/${name} ok\nput jobs/${name}:runs/1 forged\n`, /^elect: jobs\/.* is one of elect's own keys/],
    [['txn'], 'put fenced-data/x ok\nrename a b\n', /^elect: stdin line 2 is not "put KEY VALUE" or "del KEY": rename a b$/],
    [['txn'], '# nothing\n\n', /^elect: elect txn read no writes from stdin/],
  ]
  for (const [args, input, line] of refused) {
    const result = await elect(args, {...outside, input})
    expect([args, result.exitCode, result.stderr.split('\n').length]).toEqual([args, 2, 1])
    expect(result.stderr).toMatch(line)
  }
  expect(valueOf(`fenced-data/${name}`)).toBe('')
  // Inside a job, the job's own election is refused whatever --prefix says.
  const inJob = {env: {ELECT_KEY: `custom/${name}/694d86dd42307e0b`, ELECT_REV: '5'}}
  expect((await elect(['put', '--fenced', `custom/${name}:running`, 'x'], inJob)).exitCode).toBe(2)

  expect(await elect(['put', `fenced-data/${name}`, 'unfenced'], outside)).toMatchObject({exitCode: 0, stdout: '', stderr: ''})
  expect(valueOf(`fenced-data/${name}`)).toBe('unfenced')
  expect((await elect(['del', `fenced-data/${name}`], outside)).exitCode).toBe(0)
  expect(valueOf(`fenced-data/${name}`)).toBe('')
})
