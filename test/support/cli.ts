// Runs the built elect CLI as users do: as a real process, with exact argv. Everything a test starts
// is registered and ended (by PID, whole process groups included) in cleanup(), pass or fail.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa, execaSync, type ResultPromise} from 'execa'
import {afterAll, beforeAll, inject} from 'vitest'
import {type Cluster, startCluster} from './etcd.js'
import {electBin, signalGroup} from './processes.js'

export {electBin, groupAlive, readEvents, recorder, waitFor} from './processes.js'

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
}

let fileEndpoints: string[] | undefined

/**
 * Gives the calling test file an etcd of its own, for tests that count what is in etcd (leases,
 * raft indexes) and so can't share one with files running in parallel. Call at the file's top level.
 */
export function useOwnCluster(): void {
  let cluster: Cluster | undefined
  beforeAll(async () => {
    cluster = await startCluster(1)
    fileEndpoints = cluster.endpoints
  })
  afterAll(async () => {
    fileEndpoints = undefined
    await cluster?.stop()
  })
}

const defaultEndpoints = () => fileEndpoints ?? inject('etcdEndpoints')

function electEnv(options: ElectOptions) {
  return {ELECT_ENDPOINTS: (options.endpoints ?? defaultEndpoints()).join(','), NO_COLOR: '1', ...options.env}
}

/** Runs elect to completion; never throws on a non-zero exit. */
export async function elect(args: string[], options: ElectOptions = {}) {
  return execa('node', [electBin, ...args], {
    reject: false,
    env: electEnv(options),
    timeout: options.timeoutMs ?? 20_000,
    stdin: 'ignore',
  })
}

/** Starts elect in the background; cleanup() ends it if the test did not. */
export function startElect(args: string[], options: ElectOptions = {}) {
  const child = execa('node', [electBin, ...args], {
    reject: false,
    env: electEnv(options),
    timeout: options.timeoutMs ?? 60_000,
    stdin: 'ignore',
  })
  started.push(child)
  return child
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
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.pid) {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
    }
    await child.catch(() => undefined)
  }
  for (const pgid of groups) signalGroup(pgid, 'SIGKILL')
  groups.clear()
  for (const dir of dirs.splice(0)) rmSync(dir, {recursive: true, force: true})
}

export function etcdctl(args: string[], endpoints = defaultEndpoints()): string {
  return execaSync(inject('etcdctl'), [`--endpoints=${endpoints.join(',')}`, ...args], {timeout: 10_000}).stdout
}

/** Starts `etcdctl` as a long-running process (elect, watch), ended by cleanup(). */
export function startEtcdctl(args: string[], endpoints = defaultEndpoints()) {
  const child = execa(inject('etcdctl'), [`--endpoints=${endpoints.join(',')}`, ...args], {reject: false, timeout: 60_000, stdin: 'ignore'})
  started.push(child)
  return child
}
