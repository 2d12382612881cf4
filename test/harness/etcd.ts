// One place that finds etcd and runs throwaway clusters of it, for the tests, the demo, the
// benchmarks and CI. Binaries: $ETCD_BIN/$ETCDCTL_BIN, then PATH, then a project-local cache that
// this module fills from Debian's etcd-server/etcd-client packages (download and unpack only: no
// service is started). Where a Docker engine answers, ETCD_TEST_BACKEND=docker uses testcontainers.
import {type ChildProcess, execFile, execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {get as httpGet} from 'node:http'
import {get as httpsGet} from 'node:https'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'
import {promisify} from 'node:util'
import {unpackDebianPackages} from '../build/debian.js'
import {projectRoot} from './processes.js'

const execFileAsync = promisify(execFile)

export interface EtcdBinaries {
  etcd: string
  etcdctl: string
}

/**
 * Debian suites that carry each etcd version; their Go binaries run on older Debians too. 3.5 is the
 * newest (sid's 3.5.30, the only one with both lease-safety fixes: src/etcd/versions.ts), 3.5.16 what
 * Debian 13 and Ubuntu 26.04 ship, 3.4 Debian 12's 3.4.23 (neither fix).
 */
const ETCD_SUITES: Record<string, string> = {'3.4': 'bookworm', '3.5.16': 'trixie', '3.5': 'sid'}

/** What the tests run on unless told otherwise: the newest etcd Debian has. */
export const DEFAULT_TEST_ETCD = '3.5'

/**
 * Each binary on its own: $ETCD_BIN or $ETCDCTL_BIN, else PATH, else the newest etcd from Debian in
 * the cache (fetched when needed). With ELECT_TEST_ETCD=3.4, 3.5.16 or 3.5, that version from its
 * Debian suite, whatever else is installed.
 */
export function findEtcdBinaries(version = process.env.ELECT_TEST_ETCD): EtcdBinaries {
  if (version) return etcdOfVersion(version)
  const onPath = (name: string) =>
    (process.env.PATH ?? '')
      .split(delimiter)
      .map((dir) => join(dir, name))
      .find((file) => existsSync(file))
  const find = (name: string, variable: string) => process.env[variable] || onPath(name)
  const [etcd, etcdctl] = [find('etcd', 'ETCD_BIN'), find('etcdctl', 'ETCDCTL_BIN')]
  if (etcd && etcdctl) return {etcd, etcdctl}
  const newest = etcdOfVersion(DEFAULT_TEST_ETCD)
  return {etcd: etcd ?? newest.etcd, etcdctl: etcdctl ?? newest.etcdctl}
}

/** The version an etcd binary says it is. */
export function versionOf(binaries: EtcdBinaries): string {
  return /etcd Version: (\S+)/.exec(execFileSync(binaries.etcd, ['--version'], {encoding: 'utf8'}))?.[1] ?? '?'
}

function etcdOfVersion(version: string): EtcdBinaries {
  const suite = ETCD_SUITES[version]
  if (!suite) throw new Error(`ELECT_TEST_ETCD=${version}: use one of ${Object.keys(ETCD_SUITES).join(', ')}`)
  const home = join(projectRoot, '.cache', `etcd-${version}`)
  const binaries = {etcd: join(home, 'usr/bin/etcd'), etcdctl: join(home, 'usr/bin/etcdctl')}
  if (!existsSync(binaries.etcd) || !existsSync(binaries.etcdctl)) {
    fromDebian(() => unpackDebianPackages(['etcd-server', 'etcd-client'], home, {suite}))
  }
  const found = versionOf(binaries)
  if (found !== version && !found.startsWith(`${version}.`))
    throw new Error(`${binaries.etcd} is etcd ${found}, not ${version}: remove ${home} to fetch it again`)
  return binaries
}

function fromDebian(install: () => void): void {
  try {
    install()
  } catch (error) {
    throw new Error(
      `etcd not found: set ETCD_BIN and ETCDCTL_BIN, put etcd and etcdctl on PATH (https://etcd.io/docs/latest/install/), or set ETCD_TEST_BACKEND=docker with a Docker engine running (${(error as Error).message})`,
    )
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolvePort(port))
    })
  })
}

/** GET /health, over TLS when the cluster serves it (presenting the server's pair as a client's). */
function healthy(clientUrl: string, tls?: ClusterOptions['tls']): Promise<boolean> {
  return new Promise((resolve) => {
    const options = tls ? {ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key)} : {}
    const request = (tls ? httpsGet : httpGet)(`${clientUrl}/health`, {...options, timeout: 1000}, (response) => {
      let body = ''
      response.on('data', (chunk) => (body += chunk))
      response.on('end', () => resolve(/"health":\s*"true"/.test(body)))
    })
    request.on('error', () => resolve(false))
    request.on('timeout', () => request.destroy())
  })
}

export interface Member {
  name: string
  clientUrl: string
  peerUrl: string
  dataDir: string
  process?: ChildProcess
  /** SIGKILL: instant, and fine for throwaway data. */
  kill(): Promise<void>
  freeze(): void
  thaw(): void
  /** Starts the member again on the same ports and data. */
  start(): Promise<void>
}

export interface Cluster {
  endpoints: string[]
  members: Member[]
  binaries: EtcdBinaries
  /** Runs etcdctl against this cluster (or the given endpoints); returns stdout. */
  etcdctl(args: string[], endpoints?: string[]): string
  /**
   * Writes a few revisions past every watch's start, then compacts them all away, as etcd's
   * --auto-compaction-retention (or Kubernetes' API server) does in production.
   */
  compact(): Promise<void>
  /** SIGKILLs a member, leaves it down `downMs`, starts it on the same data, and waits until all are healthy. */
  restart(member: Member, downMs: number): Promise<void>
  stop(): Promise<void>
}

export interface ClusterOptions {
  /** Serve clients over TLS with this certificate (signed by `ca`); with `clientCertAuth`, require client certificates signed by `ca`. */
  tls?: {ca: string; cert: string; key: string; clientCertAuth?: boolean}
  extraArgs?: string[]
}

// Where util-linux's setpriv is, etcd gets SIGKILL when the process that started it dies, so that a
// test worker that crashes leaves no etcd behind.
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((file) => existsSync(file))

export async function startCluster(size = 1, options: ClusterOptions = {}): Promise<Cluster> {
  sweepAbandonedDataDirs()
  // A free port is free when we look, not necessarily when etcd binds it (another worker may take
  // it first): then the cluster is started afresh on other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(size, options)
    } catch (error) {
      if (attempt >= 3 || !/address already in use/.test(String(error))) throw error
    }
  }
}

async function startClusterOnce(size: number, options: ClusterOptions): Promise<Cluster> {
  const {tls, extraArgs = []} = options
  const scheme = tls ? 'https' : 'http'
  const binaries = findEtcdBinaries()
  const root = mkdtempSync(join(tmpdir(), DATA_DIR_PREFIX))
  writeFileSync(join(root, 'owner.pid'), String(process.pid))
  const token = `elect-test-${process.pid}-${Date.now()}`
  const specs = await Promise.all(
    Array.from({length: size}, async (_, index) => ({
      name: `m${index}`,
      clientUrl: `${scheme}://127.0.0.1:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir: join(root, `m${index}`),
    })),
  )
  const initialCluster = specs.map((spec) => `${spec.name}=${spec.peerUrl}`).join(',')
  let failure: Error | undefined
  const members: Member[] = specs.map((spec) => {
    const member: Member = {
      ...spec,
      async kill() {
        const child = member.process
        if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
        const exited = new Promise((done) => child.once('exit', done))
        child.kill('SIGKILL')
        await exited
      },
      freeze() {
        member.process?.kill('SIGSTOP')
      },
      thaw() {
        member.process?.kill('SIGCONT')
      },
      async start() {
        const args = [
          '--name',
          spec.name,
          '--data-dir',
          spec.dataDir,
          '--listen-client-urls',
          spec.clientUrl,
          '--advertise-client-urls',
          spec.clientUrl,
          '--listen-peer-urls',
          spec.peerUrl,
          '--initial-advertise-peer-urls',
          spec.peerUrl,
          '--initial-cluster',
          initialCluster,
          '--initial-cluster-token',
          token,
          '--initial-cluster-state',
          'new',
          '--heartbeat-interval',
          '50',
          '--election-timeout',
          '500',
          '--logger',
          'zap',
          '--log-level',
          'error',
          ...(tls ? ['--cert-file', tls.cert, '--key-file', tls.key] : []),
          ...(tls?.clientCertAuth ? ['--client-cert-auth', '--trusted-ca-file', tls.ca] : []),
          ...extraArgs,
        ]
        const child = setpriv
          ? spawn(setpriv, ['--pdeathsig', 'KILL', binaries.etcd, ...args], {stdio: ['ignore', 'ignore', 'pipe']})
          : spawn(binaries.etcd, args, {stdio: ['ignore', 'ignore', 'pipe']})
        member.process = child
        let stderr = ''
        child.stderr?.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)))
        child.once('exit', (code, signal) => {
          if (code && code !== 0) {
            failure ??= new Error(`etcd member ${spec.name} exited ${code ?? signal}: ${stderr}`)
            process.stderr.write(`${failure.message}\n`)
          }
        })
        // A binary that cannot be executed is an error to report, not an uncaught exception.
        await new Promise<void>((resolve, reject) => {
          child.once('spawn', resolve)
          child.once('error', (error) => reject(new Error(`cannot start etcd (${binaries.etcd}): ${error.message}`)))
        })
      },
    }
    return member
  })
  const cluster: Cluster = {
    endpoints: specs.map((spec) => spec.clientUrl.replace(/^https?:\/\//, '')),
    members,
    binaries,
    etcdctl(args, endpoints = cluster.endpoints) {
      return execFileSync(binaries.etcdctl, [`--endpoints=${endpoints.join(',')}`, ...args], {
        env: {...process.env, ETCDCTL_API: '3'},
        encoding: 'utf8',
        timeout: 10_000,
      })
    },
    async compact() {
      const live = members.filter((member) => member.process?.exitCode === null && member.process.signalCode === null)
      const endpoints = live.map((member) => member.clientUrl.replace(/^https?:\/\//, ''))
      const etcdctlAsync = async (args: string[]) =>
        (await execFileAsync(binaries.etcdctl, [`--endpoints=${endpoints.join(',')}`, ...args], {env: {...process.env, ETCDCTL_API: '3'}, timeout: 10_000}))
          .stdout
      for (let index = 0; index < 3; index++) await etcdctlAsync(['put', 'elect-test-filler', String(index)])
      const {header} = JSON.parse(await etcdctlAsync(['get', 'elect-test-filler', '-w', 'json']))
      await etcdctlAsync(['compact', String(header.revision), '--physical'])
    },
    async restart(member, downMs) {
      await member.kill()
      await new Promise((done) => setTimeout(done, downMs))
      await member.start()
      await waitHealthy(cluster, tls)
    },
    async stop() {
      await Promise.all(members.map((member) => member.kill()))
      rmSync(root, {recursive: true, force: true})
    },
  }
  try {
    await Promise.all(members.map((member) => member.start()))
    await waitHealthy(cluster, tls, 20_000, () => failure)
  } catch (error) {
    await cluster.stop()
    throw error
  }
  return cluster
}

const DATA_DIR_PREFIX = 'elect-etcd-'

/** Data directories of clusters whose owner died without stopping them (a crashed test worker). */
function sweepAbandonedDataDirs(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(DATA_DIR_PREFIX)) continue
    const dir = join(tmpdir(), entry)
    try {
      process.kill(Number(readFileSync(join(dir, 'owner.pid'), 'utf8')), 0)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ESRCH') rmSync(dir, {recursive: true, force: true})
    }
  }
}

/** Every live member answers /health with a quorum behind it. */
export async function waitHealthy(
  cluster: Cluster,
  tls?: ClusterOptions['tls'],
  timeoutMs = 20_000,
  failed = (): Error | undefined => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const live = cluster.members.filter((member) => member.process && member.process.exitCode === null && member.process.signalCode === null)
  for (let attempt = 0; Date.now() < deadline && attempt < 1000; attempt++) {
    const failure = failed()
    if (failure) throw failure
    const answers = await Promise.all(live.map((member) => healthy(member.clientUrl, tls)))
    if (answers.every(Boolean)) return
    await new Promise((done) => setTimeout(done, 50))
  }
  throw new Error(`etcd did not become healthy within ${timeoutMs} ms`)
}

/** etcd's root user's password on a cluster enableAuth() set up. */
export const ROOT_PASSWORD = 'root-pw'

/**
 * Turns auth on: root, a role elect-rw that grants the elect/ prefix and nothing else, and `users`
 * (name: password) with that role. `tlsFlags`: etcdctl's for a server that wants a client certificate.
 */
export function enableAuth(cluster: Cluster, users: Record<string, string>, tlsFlags: string[] = []): void {
  for (const args of [
    ['user', 'add', `root:${ROOT_PASSWORD}`],
    ['user', 'grant-role', 'root', 'root'],
    ['role', 'add', 'elect-rw'],
    ['role', 'grant-permission', 'elect-rw', '--prefix=true', 'readwrite', 'elect/'],
    ...Object.entries(users).flatMap(([name, password]) => [
      ['user', 'add', `${name}:${password}`],
      ['user', 'grant-role', name, 'elect-rw'],
    ]),
    ['auth', 'enable'],
  ])
    cluster.etcdctl([...tlsFlags, ...args])
}
