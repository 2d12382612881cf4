// Runs the built elect CLI as users do: as a real process, with exact argv. Everything a test starts
// is registered and ended (by PID, whole process groups included) in cleanup(), pass or fail.
import {mkdtempSync, readFileSync, rmSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {execa, execaSync, type ResultPromise} from 'execa'
import {inject} from 'vitest'
import {groupAlive, signalGroup} from '../../src/supervise/process-group.js'

export {groupAlive}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const electBin = join(root, 'bin', 'run.js')

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
 * Points this test file's elect and etcdctl calls at a cluster of its own, for tests that count
 * what is in etcd and so can't share it with files running in parallel.
 */
export function useEndpoints(endpoints: string[] | undefined): void {
  fileEndpoints = endpoints
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

/** Polls until `check` holds, at most `timeoutMs`; returns whether it did. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (let attempt = 0; attempt < timeoutMs / intervalMs + 1; attempt++) {
    if (await check()) return true
    if (Date.now() >= deadline) return false
    await new Promise((done) => setTimeout(done, intervalMs))
  }
  return false
}

/**
 * A command for run-if-leader that records "start <ms> <pid> <ELECT_REV>" and, when signalled,
 * "end <ms> <pid>" in `log`, and otherwise runs for `seconds`.
 */
export function recorder(log: string, seconds = 60): string[] {
  const script = [
    'echo "start $(date +%s%3N) $$ $ELECT_REV" >> "$0"',
    'trap \'echo "end $(date +%s%3N) $$" >> "$0"; exit 0\' TERM INT',
    `end=$(( $(date +%s) + ${seconds} ))`,
    'while [ "$(date +%s)" -lt "$end" ]; do sleep 0.05; done',
    'echo "end $(date +%s%3N) $$" >> "$0"',
  ].join('\n')
  return ['sh', '-c', script, log]
}

/** Reads a file of lines "<event> <epoch ms> [extra]", as the test commands below write them. */
export function readEvents(file: string): Array<{event: string; at: number; extra: string}> {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [event, at, ...extra] = line.split(' ')
      return {event, at: Number(at), extra: extra.join(' ')}
    })
}
