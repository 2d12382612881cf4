// Runs the built elect CLI as users do: as a real process, with exact argv. Everything a test starts
// is registered and ended (by PID, whole process groups included) in cleanup(), pass or fail.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {execa, execaSync, type ResultPromise} from 'execa'
import {afterAll, beforeAll, expect, inject} from 'vitest'
import {type Cluster, startCluster} from './etcd.js'
import {electProcess, readEvents, recorder, signalGroup, sleep, waitFor} from './processes.js'

export {electProcess, groupAlive, readEvents, recorder, waitFor} from './processes.js'

let counter = 0
/** An election name no other test uses. */
export function uniqueName(label: string): string {
  return `${label}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
}

const started: ResultPromise[] = []
const groups = new Set<number>()
const dirs: string[] = []

export interface ElectOptions {
  endpoints?: string[]
  env?: Record<string, string | undefined>
  timeoutMs?: number
  /** Faults injected into this elect process only (test/harness/inject/). */
  inject?: {deafWatch?: boolean; clockOffsetMs?: number; nodeWarning?: boolean; random?: number}
  /** What runs elect, as in a crontab: `['timeout', '-s', 'KILL', '300']` runs `timeout -s KILL 300 elect ...`. */
  wrap?: string[]
  /** What elect reads on its stdin (default: nothing, as under cron). */
  input?: string
}

const injectDir = join(dirname(fileURLToPath(import.meta.url)), 'inject')

let fileEndpoints: string[] | undefined

/**
 * Gives the calling test file an etcd of its own, for tests that count what is in etcd (leases,
 * raft indexes) or restart it, and so can't share one with files running in parallel. Call at the
 * file's top level; the returned function gives the cluster once it runs.
 */
export function useOwnCluster(): () => Cluster {
  let cluster: Cluster | undefined
  beforeAll(async () => {
    cluster = await startCluster(1)
    fileEndpoints = cluster.endpoints
  })
  afterAll(async () => {
    fileEndpoints = undefined
    await cluster?.stop()
  })
  return () => cluster!
}

/** The etcd this test file talks to: its own cluster (useOwnCluster) or the suite's. */
export const defaultEndpoints = () => fileEndpoints ?? inject('etcdEndpoints')

// Runtime directories live under one root per test file, made on first use and removed after the
// file, whether or not its tests call cleanup(); each is only a path until a campaign creates it.
let runtimeRoot: string | undefined
let runtimeDirs = 0
function freshRuntimeDir(): string {
  runtimeRoot ??= mkdtempSync(join(tmpdir(), 'elect-test-runtime-'))
  return join(runtimeRoot, String(++runtimeDirs))
}
afterAll(() => {
  if (runtimeRoot) rmSync(runtimeRoot, {recursive: true, force: true})
  runtimeRoot = undefined
})

function electEnv(options: ElectOptions) {
  const preload = [
    options.inject?.deafWatch && `--require ${join(injectDir, 'deaf-watch.cjs')}`,
    options.inject?.clockOffsetMs !== undefined && `--require ${join(injectDir, 'clock.cjs')}`,
    options.inject?.nodeWarning && `--require ${join(injectDir, 'node-warning.cjs')}`,
    options.inject?.random !== undefined && `--require ${join(injectDir, 'random.cjs')}`,
  ].filter(Boolean)
  return {
    ELECT_ENDPOINTS: (options.endpoints ?? defaultEndpoints()).join(','),
    // Each process a machine of its own, unless the test says otherwise: a campaign lends its
    // leadership only to the run-if-leaders that share its runtime directory.
    ELECT_RUNTIME_DIR: freshRuntimeDir(),
    NO_COLOR: '1',
    // The matrix runs the suite on etcd versions with known lease bugs too: the warning a leader gives
    // there is tested on its own (test/cli/versions.test.ts), and is no part of every other output.
    ELECT_ACCEPT_ETCD_VERSION: inject('etcdVersion'),
    ...(preload.length > 0 && {
      NODE_OPTIONS: preload.join(' '),
      ELECT_TEST_CLOCK_OFFSET_MS: String(options.inject?.clockOffsetMs ?? 0),
      ELECT_TEST_RANDOM: String(options.inject?.random ?? ''),
    }),
    ...options.env,
  }
}

function electArgv(args: string[], options: ElectOptions): [string, string[]] {
  const [file, rest] = electProcess(...args)
  return options.wrap ? [options.wrap[0], [...options.wrap.slice(1), file, ...rest]] : [file, rest]
}

/** Runs elect to completion; never throws on a non-zero exit. */
export async function elect(args: string[], options: ElectOptions = {}) {
  return swept(
    args,
    execa(...electArgv(args, options), {
      reject: false,
      env: electEnv(options),
      timeout: options.timeoutMs ?? 20_000,
      ...(options.input === undefined ? {stdin: 'ignore'} : {input: options.input}),
    }),
  )
}

/** Starts elect in the background; cleanup() ends it if the test did not. */
export function startElect(args: string[], options: ElectOptions = {}) {
  const child = execa(...electArgv(args, options), {
    reject: false,
    env: electEnv(options),
    timeout: options.timeoutMs ?? 60_000,
    stdin: 'ignore',
  })
  started.push(child)
  void swept(args, child)
  return child
}

/**
 * Every line elect writes in the whole suite is an operator's to act on: none may carry gRPC's
 * status text ("8 RESOURCE_EXHAUSTED: ..."). Each test file fails at its end if one did.
 */
const grpcStatusLines: string[] = []
const GRPC_STATUS_LINE = /^elect: .*\b\d{1,2} [A-Z][A-Z_]+: .*$/m
async function swept<T extends {stderr?: unknown}>(args: string[], result: Promise<T>): Promise<T> {
  const ended = await result
  const line = GRPC_STATUS_LINE.exec(typeof ended.stderr === 'string' ? ended.stderr : '')
  if (line) grpcStatusLines.push(`elect ${args.join(' ')}: ${line[0]}`)
  return ended
}
afterAll(() => {
  expect(grpcStatusLines.splice(0), "lines of elect's that carry gRPC's status text").toEqual([])
})

/**
 * Starts a command (by default a recorder() writing to `log`) under run-if-leader and waits until it
 * runs; returns the elect process, the command's pid (= its group, ended by cleanup()) and its fencing token.
 */
export async function startHolder(name: string, log: string, flags: string[] = [], command = recorder(log), options: ElectOptions = {}) {
  const holder = startElect(['run-if-leader', name, ...flags, '--', ...command], options)
  expect(await waitFor(() => readEvents(log).some((event) => event.event === 'start'))).toBe(true)
  const [pid, revision] = readEvents(log)
    .find((event) => event.event === 'start')!
    .extra.split(' ')
    .map(Number)
  trackGroup(pid)
  return {holder, pid, revision}
}

/** Remembers a command's process group, so cleanup() can end what elect should have ended. */
export function trackGroup(pgid: number): void {
  groups.add(pgid)
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'elect-test-'))
  dirs.push(dir)
  return dir
}

export async function cleanup(): Promise<void> {
  const children = started.splice(0)
  const running = (child: ResultPromise) => child.exitCode === null && child.signalCode === null && child.pid !== undefined
  // Asked first, as a user would: a holder releases its lease and a waiter withdraws, so that no
  // lease of this test expires later, under another test that counts leases. Then made sure of.
  for (const child of children.filter(running)) {
    child.kill('SIGCONT')
    child.kill('SIGTERM')
  }
  await Promise.race([Promise.all(children.map((child) => child.catch(() => undefined))), sleep(5000)])
  for (const child of children.filter(running)) child.kill('SIGKILL')
  await Promise.all(children.map((child) => child.catch(() => undefined)))
  for (const pgid of groups) signalGroup(pgid, 'SIGKILL')
  groups.clear()
  for (const dir of dirs.splice(0)) rmSync(dir, {recursive: true, force: true})
}

export function etcdctl(args: string[], endpoints = defaultEndpoints()): string {
  return execaSync(inject('etcdctl'), [`--endpoints=${endpoints.join(',')}`, ...args], {timeout: 10_000, env: {ETCDCTL_API: '3'}}).stdout
}

/** etcd's raft index: it moves with every proposal (a write, a lease grant or revoke). */
export function raftIndex(): number {
  return Number(/"raftIndex":(\d+)/.exec(etcdctl(['endpoint', 'status', '-w', 'json']))![1])
}

/** What a `--json` elect prints, one object a line, as it comes: the array fills while the process runs. */
export function jsonLines<T>(child: {stdout: NodeJS.ReadableStream | null}): T[] {
  const lines: T[] = []
  child.stdout?.on('data', (chunk: Buffer) =>
    lines.push(
      ...chunk
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as T),
    ),
  )
  return lines
}

/** Starts `etcdctl` as a long-running process (elect, watch), ended by cleanup(). */
export function startEtcdctl(args: string[], endpoints = defaultEndpoints()) {
  const child = execa(inject('etcdctl'), [`--endpoints=${endpoints.join(',')}`, ...args], {
    reject: false,
    timeout: 60_000,
    stdin: 'ignore',
    env: {ETCDCTL_API: '3'},
  })
  started.push(child)
  return child
}
