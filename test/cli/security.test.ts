// TLS and auth against real etcd servers with certificates made here, and secrets that stay secret.
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {execaSync} from 'execa'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {cleanup, elect, startElect, tempDir, uniqueName, waitFor} from '../harness/cli.js'
import {type Cluster, enableAuth, ROOT_PASSWORD, startCluster} from '../harness/etcd.js'
import {type Certificates, makeCertificates} from '../harness/tls.js'

const PASSWORD = 'pw-Zq8!never-print-me'
const ROOT = `root:${ROOT_PASSWORD}`
let certs: Certificates
let tlsServer: Cluster
let mutualTlsServer: Cluster
let plainServer: Cluster
let authServer: Cluster

/** etcd with auth on, short-lived tokens, and a user `alice` whose role grants only the elect/ prefix. */
async function startAuthServer(): Promise<Cluster> {
  const cluster = await startCluster(1, {extraArgs: ['--auth-token-ttl', '2']})
  enableAuth(cluster, {alice: PASSWORD})
  return cluster
}

beforeAll(async () => {
  certs = makeCertificates()
  ;[tlsServer, mutualTlsServer, plainServer, authServer] = await Promise.all([
    startCluster(1, {tls: {ca: certs.ca, cert: certs.serverCert, key: certs.serverKey}}),
    startCluster(1, {tls: {ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, clientCertAuth: true}}),
    startCluster(1),
    startAuthServer(),
  ])
})
afterAll(async () => {
  await Promise.all([tlsServer, mutualTlsServer, plainServer, authServer].map((cluster) => cluster?.stop()))
  if (certs) rmSync(certs.dir, {recursive: true, force: true})
})
afterEach(cleanup)

/** run-if-leader with these flags, of a command that prints "ran". */
const runEcho = (...flags: string[]) => ['run-if-leader', 'tls-job', ...flags, '--', 'echo', 'ran']

describe('TLS', () => {
  it('verifies the server with --cacert, and runs the job', async () => {
    const result = await elect(runEcho('--cacert', certs.ca), {endpoints: tlsServer.endpoints})
    expect([result.exitCode, result.stdout, result.stderr]).toEqual([0, 'ran', ''])
  })

  it('refuses a server whose certificate it cannot verify: exit 69, and the job never runs', async () => {
    const result = await elect(runEcho(), {endpoints: tlsServer.endpoints.map((endpoint) => `https://${endpoint}`)})
    expect(result.exitCode).toBe(69)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/^elect: TLS with etcd at \S+ failed: the server's certificate is not trusted \(give the CA that signed it with --cacert\)$/)
  })

  it('does mutual TLS with --cert and --key, and says so when they are missing', async () => {
    const withCert = await elect(runEcho('--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey), {endpoints: mutualTlsServer.endpoints})
    expect([withCert.exitCode, withCert.stdout]).toEqual([0, 'ran'])
    const without = await elect(runEcho('--cacert', certs.ca), {endpoints: mutualTlsServer.endpoints})
    expect(without.exitCode).toBe(69)
    expect(without.stderr).toMatch(/failed: the server refused our client certificate, or wanted one \(give --cert and --key\)$/)
  })

  it('takes the certificate paths from ELECT_ and ETCDCTL_ variables', async () => {
    const env = {ETCDCTL_CACERT: certs.ca, ELECT_CERT: certs.clientCert, ELECT_KEY_FILE: certs.clientKey}
    const result = await elect(runEcho(), {endpoints: mutualTlsServer.endpoints, env})
    expect([result.exitCode, result.stdout]).toEqual([0, 'ran'])
  })

  it('exits 69 with a hint for TLS to a plain server and for plain to a TLS server', async () => {
    const tlsToPlain = await elect(runEcho('--cacert', certs.ca), {endpoints: plainServer.endpoints})
    expect(tlsToPlain.exitCode).toBe(69)
    expect(tlsToPlain.stderr).toMatch(/failed: the server did not answer TLS \(is it plain\? then drop --cacert\/--cert and https:\/\/\)$/)
    const plainToTls = await elect(runEcho(), {endpoints: tlsServer.endpoints})
    expect(plainToTls.exitCode).toBe(69)
    expect(plainToTls.stderr).toMatch(/^elect: etcd at \S+ did not answer plain gRPC \(if it serves TLS, give --cacert\)$/)
  })

  it('treats a missing certificate file or half a client pair as a usage error, never falling back to plain', async () => {
    const missing = await elect(runEcho('--cacert', '/nonexistent/ca.pem'), {endpoints: tlsServer.endpoints})
    expect([missing.exitCode, missing.stderr]).toEqual([2, 'elect: cannot read --cacert /nonexistent/ca.pem: ENOENT'])
    const half = await elect(runEcho('--cacert', certs.ca, '--cert', certs.clientCert), {endpoints: mutualTlsServer.endpoints})
    expect(half.exitCode).toBe(2)
    expect(half.stdout).toBe('')
  })
})

describe('auth', () => {
  const asAlice = (extra: Record<string, string> = {}) => ({endpoints: authServer.endpoints, env: extra})
  // etcd checks a password with bcrypt: on a busy machine the login alone outlasted the default 2 s
  // --dial-timeout ("no answer before the deadline", CI run 4 at a load of 13).
  const patient = (args: string[]) => [args[0], args[1], '--dial-timeout', '10s', ...args.slice(2)]

  it('says what to do, exit 69, for a user missing where auth is on and one given where it is off: no gRPC status text', async () => {
    const missing = await elect(['who-leads', 'x'], {endpoints: authServer.endpoints})
    expect([missing.exitCode, missing.stderr]).toEqual([
      69,
      `elect: etcd at ${authServer.endpoints.join(',')} has auth enabled: give a user (--user, ELECT_USER, or in /etc/elect/elect.env)`,
    ])
    const needless = await elect(['who-leads', 'x', '--user', `alice:${PASSWORD}`], {endpoints: plainServer.endpoints})
    expect([needless.exitCode, needless.stderr]).toEqual([
      69,
      `elect: etcd at ${plainServer.endpoints.join(',')} has no auth enabled, and a user was given: drop --user (ELECT_USER)`,
    ])
  })

  it('works inside the prefix its role grants, with the password from --user, the environment or a file', async () => {
    const passwordFile = join(tempDir(), 'password')
    writeFileSync(passwordFile, `${PASSWORD}\n`, {mode: 0o600})
    for (const [args, env] of [
      [['--user', `alice:${PASSWORD}`], {}],
      [['--user', 'alice'], {ELECT_PASSWORD: PASSWORD}],
      [[], {ETCDCTL_USER: 'alice', ETCDCTL_PASSWORD: PASSWORD}],
      [['--user', 'alice', '--password-file', passwordFile], {}],
    ] as const) {
      const result = await elect(patient(['run-if-leader', uniqueName('auth'), ...args, '--', 'echo', 'ran']), asAlice(env))
      expect([result.exitCode, result.stdout, result.stderr]).toEqual([0, 'ran', ''])
    }
  })

  it('is refused outside that prefix: exit 69, and the job never runs', async () => {
    const result = await elect(patient(['run-if-leader', 'x', '--prefix', 'other/', '--user', `alice:${PASSWORD}`, '--', 'echo', 'ran']), asAlice())
    expect(result.exitCode).toBe(69)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/denied access: the user's role does not grant this key range/)
  })

  it('never shows the password: not on a failed login, not with --verbose, not in JSON', async () => {
    const wrong = `${PASSWORD}-but-wrong`
    const outputs = await Promise.all([
      elect(patient(['who-leads', 'x', '--user', `alice:${wrong}`, '--json']), asAlice()),
      elect(patient(['run-if-leader', 'x', '--user', 'alice', '--verbose', '--', 'true']), asAlice({ELECT_PASSWORD: wrong})),
      elect(patient(['campaign', 'x', '--user', 'alice', '--password', wrong, '--json']), asAlice()),
    ])
    for (const result of outputs) {
      expect(result.exitCode).toBe(69)
      expect(result.stderr).toMatch(/refused the credentials \(user name or password is wrong\)/)
      expect(result.stdout + result.stderr).not.toContain('never-print-me')
    }
  })

  it('keeps campaign, who-leads --watch and run-if-leader working across token expiry and an etcd restart', async () => {
    const name = uniqueName('tokens')
    const user = ['--user', `alice:${PASSWORD}`]
    const holder = startElect(patient(['run-if-leader', name, ...user, '--value', 'holder', '--ttl', '10s', '--', 'sleep', '60']), asAlice())
    const leads = async (value: string) => (await elect(patient(['who-leads', name, ...user]), asAlice())).stdout === value
    expect(await waitFor(() => leads('holder'))).toBe(true)
    const waiter = startElect(patient(['campaign', name, ...user, '--value', 'waiter', '--json']), asAlice())
    const watcher = startElect(patient(['who-leads', name, ...user, '--watch']), asAlice())
    let watched = ''
    watcher.stdout.on('data', (chunk) => (watched += chunk))
    expect(await waitFor(() => watched === 'holder\n')).toBe(true)

    // Past the 2 s token TTL (a server-side timeout: only waiting shows it), then a restart that
    // forgets every token and breaks every stream.
    await new Promise((resolve) => setTimeout(resolve, 2500))
    await authServer.restart(authServer.members[0], 0)

    expect(await waitFor(() => leads('holder'))).toBe(true) // it still leads: whatever ends it next is the delete
    const holderKey = execaSync(
      authServer.binaries.etcdctl,
      [`--endpoints=${authServer.endpoints[0]}`, `--user=${ROOT}`, 'get', '--prefix', `elect/${name}/`, '--keys-only', '--sort-by=CREATE'],
      {env: {ETCDCTL_API: '3'}},
    ).stdout.split('\n')[0]
    execaSync(authServer.binaries.etcdctl, [`--endpoints=${authServer.endpoints[0]}`, `--user=${ROOT}`, 'del', holderKey], {env: {ETCDCTL_API: '3'}})
    const holderResult = await holder
    expect(holderResult.exitCode).toBe(75)
    expect(holderResult.stderr).toBe(`elect: lost leadership of ${name}: the leader key was deleted; the command was stopped`)
    expect(await waitFor(() => watched.endsWith('waiter\n'), 10_000)).toBe(true)
    waiter.kill('SIGTERM')
    expect((await waiter).stdout).toMatch(/"event":"elected"/)
  }, 60_000)
})
