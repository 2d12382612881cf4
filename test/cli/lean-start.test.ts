// The lean start-up (src/lean.ts): the one-shot commands on their own small bundle, without oclif and
// gRPC, say exactly what they say on oclif and etcd3 (ELECT_LEAN=0), against real etcd: plain, TLS,
// mutual TLS, auth, and every way of failing to reach it; and they do so without the rest of elect.
import {copyFileSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {join} from 'node:path'
import {execa} from 'execa'
import {afterAll, afterEach, beforeAll, describe, expect, inject, it} from 'vitest'
import {cleanup, defaultEndpoints, elect, type ElectOptions, startElect, tempDir, uniqueName, waitFor} from '../harness/cli.js'
import {type Cluster, enableAuth, startCluster} from '../harness/etcd.js'
import {electBin, projectRoot} from '../harness/processes.js'
import {type Certificates, makeCertificates} from '../harness/tls.js'

const PASSWORD = 'pw-lean-Q7!'
let certs: Certificates
let tlsServer: Cluster
let authServer: Cluster
let mutualAuthServer: Cluster
let silent: Server
let silentEndpoint: string

beforeAll(async () => {
  certs = makeCertificates()
  const tls = {ca: certs.ca, cert: certs.serverCert, key: certs.serverKey}
  ;[tlsServer, authServer, mutualAuthServer] = await Promise.all([
    startCluster(1, {tls}),
    startCluster(1),
    startCluster(1, {tls: {...tls, clientCertAuth: true}}),
  ])
  enableAuth(authServer, {alice: PASSWORD})
  enableAuth(mutualAuthServer, {alice: PASSWORD}, ['--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey])
  // Takes connections and never answers: an etcd that hangs.
  silent = createServer(() => undefined).listen(0, '127.0.0.1')
  await new Promise((listening) => silent.once('listening', listening))
  silentEndpoint = `127.0.0.1:${(silent.address() as {port: number}).port}`
})
afterAll(async () => {
  silent?.close()
  await Promise.all([tlsServer, authServer, mutualAuthServer].map((cluster) => cluster?.stop()))
  if (certs) rmSync(certs.dir, {recursive: true, force: true})
})
afterEach(cleanup)

/** What a user sees of a run, but for what ticks between two runs: the seconds a lease has left, the time a pause began. */
const seen = ({exitCode, stdout, stderr}: {exitCode?: number; stdout: string; stderr: string}) => {
  const steady = (text: string) => text.replace(/"ttl":\d+/g, '"ttl":N').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'TIME')
  return {exitCode, stdout: steady(stdout), stderr: steady(stderr)}
}

/** The same command line on the lean path and on oclif (ELECT_LEAN=0): what each says; `inTurn` for a line that changes what the next finds. */
async function bothWays(args: string[], options: ElectOptions = {}, inTurn = false) {
  const onOclif = () => elect(args, {...options, env: {...options.env, ELECT_LEAN: '0'}})
  const [lean, oclif] = inTurn ? [await elect(args, options), await onOclif()] : await Promise.all([elect(args, options), onOclif()])
  return {lean: seen(lean), oclif: seen(oclif)}
}

async function expectSame(args: string[], options: ElectOptions = {}, inTurn = false) {
  const {lean, oclif} = await bothWays(args, options, inTurn)
  expect(lean, args.join(' ')).toEqual(oclif)
  return lean
}

describe('the lean start-up', () => {
  it('says what oclif says for every one-shot command, with and without a leader, a pause and records', async () => {
    const name = uniqueName('lean')
    for (const args of [
      ['who-leads', name],
      ['who-leads', name, '--json'],
      ['who-leads', name, '--candidates'],
      ['runs', name],
      ['runs', name, '--json'],
    ])
      expect((await expectSame(args)).exitCode).toBeGreaterThanOrEqual(0)
    const ran = await elect(['run-if-leader', name, '--', 'true'])
    expect(ran.exitCode).toBe(0)
    const campaign = startElect(['campaign', name, '--value', 'lean-leader'])
    expect(await waitFor(async () => (await elect(['who-leads', name])).stdout === 'lean-leader')).toBe(true)
    // A reason this long makes etcd's answer of over 2 KB, which its gateway sends in chunks.
    const paused = await elect(['pause', name, '--reason', `maintenance ${'of the disks '.repeat(250)}`, '--json'])
    expect(paused.exitCode).toBe(0)
    for (const args of [
      ['who-leads', name],
      ['who-leads', name, '--json'],
      ['who-leads', name, '--is', 'lean-leader'],
      ['who-leads', name, '--is=someone-else'],
      ['who-leads', name, '--candidates', '--json'],
      ['runs', name],
      ['runs', name, '--json', '--limit', '1'],
      ['runs', name, '--succeeded-within', '1h'],
      ['runs', name, '--job', 'other', '--succeeded-within=1h'],
    ])
      await expectSame(args)
    // pause and resume change what they find: each way on its own election, from the same start.
    const twins = [uniqueName('lean-a'), uniqueName('lean-b')]
    const each = async (args: (twin: string) => string[], lean: string) => {
      const results = await Promise.all(twins.map((twin, index) => elect(args(twin), {env: {ELECT_LEAN: index === 0 ? lean : '0'}})))
      const [first, second] = results.map((result, index) =>
        seen({...result, stdout: result.stdout.replaceAll(twins[index], 'NAME'), stderr: result.stderr.replaceAll(twins[index], 'NAME')}),
      )
      expect(first, args('NAME').join(' ')).toEqual(second)
    }
    for (const args of [
      (twin: string) => ['resume', twin],
      (twin: string) => ['pause', twin, '--job', 'rotate', '--reason', 'disk full'],
      (twin: string) => ['pause', twin, '--job', 'rotate', '--json'],
      (twin: string) => ['resume', twin, '--job', 'rotate', '--json'],
      (twin: string) => ['resume', twin, '--json'],
    ])
      await each(args, '1')
    campaign.kill('SIGTERM')
  })

  it('hands to oclif what is not its own, and says what oclif says: help, usage errors, a stream', async () => {
    for (const args of [
      ['who-leads'],
      ['who-leads', 'bad name!'],
      ['who-leads', 'x', '--jsn'],
      ['who-leads', 'x', '-h'],
      ['who-leads', 'x', '--help'],
      ['who-leads', 'x', '--is'],
      ['who-leads', 'x', '--is', ''],
      ['who-leads', 'x', '--json=yes'],
      ['who-leads', 'x', 'y'],
      ['runs', 'x', '--limit', '0'],
      ['runs', 'x', '--limit', 'many'],
      ['runs', 'x', '--succeeded-within', 'a while'],
      ['runs', 'x', '--json', '--json'],
      ['pause', 'x', '--for', '1x'],
      ['pause', 'x', '--reason', 'two\nlines'],
      ['resume', 'x', '--job', 'bad/job'],
      ['who-leads', 'x', '--dial-timeout', '0s'],
      ['--version'],
    ])
      await expectSame(args)
    const name = uniqueName('lean-watch')
    const watcher = startElect(['who-leads', name, '--watch'])
    let seenLines = ''
    watcher.stdout?.on('data', (chunk: Buffer) => (seenLines += chunk.toString()))
    // A watch prints the leader now (nobody: an empty line), then stays: it runs on etcd3's stream.
    expect(await waitFor(() => seenLines === '\n')).toBe(true)
    expect(watcher.exitCode).toBe(null)
  })

  it('runs run-if-leader as oclif does: its skips, its runs and every usage error it or oclif finds', async () => {
    const name = uniqueName('lean-run')
    // Another server's campaign: a runtime directory of its own.
    const campaign = startElect(['campaign', name, '--value', 'elsewhere'], {env: {ELECT_RUNTIME_DIR: tempDir()}})
    expect(await waitFor(async () => (await elect(['who-leads', name])).stdout === 'elsewhere')).toBe(true)
    const free = uniqueName('lean-run-free')
    for (const args of [
      ['run-if-leader', name, '--', 'echo', 'ran'],
      ['run-if-leader', name, '--skip-exit-code', '3', '--', 'echo', 'ran'],
      ['run-if-leader', name, '--once-per', '1h', '--job', 'rotate', '--', 'true'],
      ['run-if-leader', name],
      ['run-if-leader', name, '--'],
      ['run-if-leader', name, 'stray', '--', 'true'],
      ['run-if-leader', '--', 'true'],
      ['run-if-leader', name, '--ttl', '2s', '--', 'true'],
      ['run-if-leader', name, '--ttl', 'soon', '--', 'true'],
      ['run-if-leader', name, '--once-per', '1m', '--jitter', '2m', '--', 'true'],
      ['run-if-leader', name, '--kill-signal', 'SIGNOPE', '--', 'true'],
      ['run-if-leader', name, '--skip-exit-code', '256', '--', 'true'],
      ['run-if-leader', name, '--on-skip', '', '--', 'true'],
      ['run-if-leader', name, '--wait', 'a bit', '--', 'true'],
      ['run-if-leader', name, '--holders', '0', '--', 'true'],
      ['run-if-leader', name, '--verbos', '--', 'true'],
      ['run-if-leader', name, '-h'],
    ])
      await expectSame(args)
    // A run of its own, each way in turn: what the job printed, its exit status, elect's lines.
    for (const args of [
      ['run-if-leader', free, '--', 'sh', '-c', 'echo "$ELECT_NAME ran"; exit 3'],
      ['run-if-leader', free, '--job', 'j', '--on-success', 'echo done >&2', '--', 'echo', 'ok'],
    ])
      await expectSame(args, {}, true)
    campaign.kill('SIGTERM')
  })

  it('says what oclif says when etcd cannot be used: nothing listens, nothing answers, TLS refused or missing', async () => {
    const tls = tlsServer.endpoints
    for (const [args, options] of [
      [['who-leads', 'x', '--dial-timeout', '300ms'], {endpoints: ['127.0.0.1:9']}],
      [['runs', 'x', '--dial-timeout', '300ms', '--command-timeout', '300ms'], {endpoints: [silentEndpoint]}],
      [['who-leads', 'x', '--cacert', certs.ca], {endpoints: tls}],
      [['who-leads', 'x', '--cacert', certs.ca, '--json'], {endpoints: tls.map((endpoint) => `https://${endpoint}`)}],
      [['who-leads', 'x'], {endpoints: tls.map((endpoint) => `https://${endpoint}`)}],
      [['who-leads', 'x'], {endpoints: tls}],
      [['who-leads', 'x', '--cacert', certs.ca], {endpoints: defaultEndpoints()}],
      [['who-leads', 'x', '--cacert', certs.ca], {endpoints: mutualAuthServer.endpoints}],
      [['who-leads', 'x', '--cacert', '/nonexistent/ca.pem'], {endpoints: tls}],
    ] as Array<[string[], ElectOptions]>)
      await expectSame(args, options)
  })

  it('says what oclif says with auth: a user with its password, a wrong one, none, one too many, and outside its role', async () => {
    const name = uniqueName('lean-auth')
    const alice = ['--user', `alice:${PASSWORD}`, '--dial-timeout', '10s']
    const passwordFile = join(tempDir(), 'password')
    writeFileSync(passwordFile, `${PASSWORD}\n`, {mode: 0o600})
    for (const [args, options] of [
      [['who-leads', name, ...alice], {endpoints: authServer.endpoints}],
      [['pause', name, ...alice, '--json'], {endpoints: authServer.endpoints}],
      [['who-leads', name, '--user', 'alice', '--password-file', passwordFile, '--json'], {endpoints: authServer.endpoints}],
      [['runs', name, '--dial-timeout', '10s'], {endpoints: authServer.endpoints, env: {ETCDCTL_USER: 'alice', ETCDCTL_PASSWORD: PASSWORD}}],
      [['who-leads', name, '--user', 'alice:wrong', '--dial-timeout', '10s'], {endpoints: authServer.endpoints}],
      [['who-leads', name], {endpoints: authServer.endpoints}],
      [['who-leads', name, ...alice], {endpoints: defaultEndpoints()}],
      [['who-leads', name, ...alice, '--prefix', 'other/'], {endpoints: authServer.endpoints}],
      // Mutual TLS with a user: the certificate for TLS, the user for auth.
      [['who-leads', name, ...alice, '--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey], {endpoints: mutualAuthServer.endpoints}],
      // A certificate alone, whose common name etcd takes for the user over gRPC: oclif and etcd3 run it.
      [['who-leads', name, '--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey], {endpoints: mutualAuthServer.endpoints}],
    ] as Array<[string[], ElectOptions]>)
      await expectSame(args, options)
    // run-if-leader with a certificate: the lean start-up's etcd3 from the first call, as oclif's.
    const mutual = {endpoints: mutualAuthServer.endpoints}
    const withCertificate = ['--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey]
    const ran = await expectSame(['run-if-leader', name, ...alice, ...withCertificate, '--', 'sh', '-c', 'echo "$ELECT_NAME"'], mutual, true)
    expect([ran.exitCode, ran.stdout, ran.stderr]).toEqual([0, name, ''])
    const refused = await expectSame(['run-if-leader', name, ...withCertificate, '--dial-timeout', '10s', '--', 'true'], mutual)
    expect(refused.exitCode).not.toBe(0)
    const resumed = await elect(['resume', name, ...alice], {endpoints: authServer.endpoints})
    expect(resumed.exitCode).toBe(0)
    expect(resumed.stderr).toMatch(new RegExp(`^elect: resumed ${name} \\(it was paused by \\S+ at \\S+\\)$`))
  })

  // The npm install's entry alone: a single executable carries its bundles in itself.
  it.skipIf(!/\.c?js$/.test(electBin))('runs on its own bundles: no oclif, and no gRPC but for a run that needs a stream or a certificate', async () => {
    const install = tempDir()
    mkdirSync(join(install, 'bin'))
    mkdirSync(join(install, 'dist'))
    copyFileSync(join(projectRoot, 'bin/run.cjs'), join(install, 'bin/run.cjs'))
    const copy = (...files: string[]) => files.forEach((file) => copyFileSync(join(projectRoot, 'dist', file), join(install, 'dist', file)))
    // etcd3's bundle comes last: whatever runs before it does without gRPC.
    copy('lean.cjs', 'lean.cjs.codecache', 'lean-run.cjs', 'lean-run.cjs.codecache')
    const name = uniqueName('lean-alone')
    const run = (...args: string[]) => runAt(defaultEndpoints(), ...args)
    const runAt = (endpoints: string[], ...args: string[]) =>
      execa('node', [join(install, 'bin/run.cjs'), ...args], {
        reject: false,
        env: {
          ELECT_ENDPOINTS: endpoints.join(','),
          XDG_CACHE_HOME: install,
          ELECT_RUNTIME_DIR: join(install, 'run'),
          ELECT_ACCEPT_ETCD_VERSION: inject('etcdVersion'),
        },
      })
    expect((await run('pause', name, '--reason', 'alone')).exitCode).toBe(0)
    const leads = await run('who-leads', name)
    expect([leads.exitCode, leads.stdout]).toEqual([3, ''])
    expect(leads.stderr).toMatch(new RegExp(`^elect: nobody leads ${name}\nelect: ${name} is paused by \\S+ at \\S+: alone$`))
    expect((await run('runs', name, '--json')).exitCode).toBe(0)
    expect((await run('resume', name)).exitCode).toBe(0)
    const ran = await run('run-if-leader', name, '--', 'sh', '-c', 'echo "$ELECT_NAME"')
    expect([ran.exitCode, ran.stdout, ran.stderr]).toEqual([0, name, ''])
    expect((await run('pause', name, '--reason', 'alone')).exitCode).toBe(0)
    const skipped = await run('run-if-leader', name, '--', 'sh', '-c', 'echo "$ELECT_NAME"')
    // A paused election's fire skips in silence.
    expect([skipped.exitCode, skipped.stdout, skipped.stderr]).toEqual([0, '', ''])
    // TLS and auth are its own too; a client certificate is not (see etcd/gateway.ts).
    const overTls = await runAt(tlsServer.endpoints, 'who-leads', name, '--cacert', certs.ca)
    expect([overTls.exitCode, overTls.stderr]).toEqual([3, `elect: nobody leads ${name}`])
    const asAlice = await runAt(authServer.endpoints, 'who-leads', name, '--user', `alice:${PASSWORD}`, '--dial-timeout', '10s')
    expect([asAlice.exitCode, asAlice.stderr]).toEqual([3, `elect: nobody leads ${name}`])
    // What it hands to oclif needs the rest: here, missing.
    expect((await run('who-leads', name, '--help')).exitCode).not.toBe(0)
    // A run with a client certificate goes to gRPC from its first call: with etcd3's bundle, and only with it.
    expect((await run('resume', name)).exitCode).toBe(0)
    const certified = ['run-if-leader', name, '--user', `alice:${PASSWORD}`, '--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey]
    const withoutGrpc = await runAt(mutualAuthServer.endpoints, ...certified, '--', 'sh', '-c', 'echo "$ELECT_NAME"')
    expect([withoutGrpc.exitCode, withoutGrpc.stdout]).toEqual([1, ''])
    copy('etcd3.cjs', 'etcd3.cjs.codecache')
    const withGrpc = await runAt(mutualAuthServer.endpoints, ...certified, '--', 'sh', '-c', 'echo "$ELECT_NAME"')
    expect([withGrpc.exitCode, withGrpc.stdout, withGrpc.stderr]).toEqual([0, name, ''])
  })
})
