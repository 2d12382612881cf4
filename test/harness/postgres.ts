// A throwaway PostgreSQL server on loopback for the fencing recipe's tests: Debian's packages (on the
// machine, else unpacked into the project's cache, as etcd is), started by the test as an
// unprivileged user where the test runs as root (postgres refuses root), and removed after.
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {chownSync, existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {unpackDebianPackages} from '../build/debian.js'
import {freePort} from './etcd.js'
import {projectRoot, waitFor} from './processes.js'

const NOBODY = 65534

/** The directory of postgres, initdb and psql: $PG_BIN, the machine's newest PostgreSQL, or Debian's unpacked. */
export function postgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN
  const installed = ['/usr/lib/postgresql', join(projectRoot, '.cache/postgresql/usr/lib/postgresql')]
    .filter((root) => existsSync(root))
    .flatMap((root) => readdirSync(root).map((version) => join(root, version, 'bin')))
    .filter((bin) => existsSync(join(bin, 'postgres')) && existsSync(join(bin, 'psql')))
  if (installed.length > 0) return installed.sort((a, b) => Number(/(\d+)\/bin$/.exec(b)?.[1]) - Number(/(\d+)\/bin$/.exec(a)?.[1]))[0]
  unpackDebianPackages(['postgresql-15', 'postgresql-client-15'], join(projectRoot, '.cache/postgresql'))
  return postgresBin()
}

export interface Postgres {
  /** What psql needs to reach it: PGHOST, PGPORT, PGUSER, PGDATABASE. */
  env: Record<string, string>
  /** Runs SQL through psql, stopping at the first error; returns its unaligned output. */
  sql(statements: string): string
  psql: string
  stop(): Promise<void>
}

export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBin()
  const dir = mkdtempSync(join(tmpdir(), 'elect-pg-'))
  const asRoot = process.getuid?.() === 0
  // setpriv drops root for postgres, and kills it with the test's process if that dies first.
  const unprivileged = (file: string, args: string[]): [string, string[]] =>
    asRoot ? ['setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--pdeathsig', 'KILL', file, ...args]] : [file, args]
  if (asRoot) chownSync(dir, NOBODY, NOBODY)
  const data = join(dir, 'data')
  execFileSync(...unprivileged(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth', 'trust', '--no-sync']), {stdio: 'pipe'})
  const port = await freePort()
  const server: ChildProcess = spawn(
    ...unprivileged(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off']),
    {stdio: 'ignore'},
  )
  const env = {PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGDATABASE: 'postgres'}
  const psql = join(bin, 'psql')
  const sql = (statements: string) =>
    execFileSync(psql, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], {
      input: statements,
      env: {...process.env, ...env},
      encoding: 'utf8',
      stdio: 'pipe',
    }).trim()
  const stop = async () => {
    server.kill('SIGINT') // a fast shutdown
    await waitFor(() => server.exitCode !== null || server.signalCode !== null, 10_000)
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL')
    rmSync(dir, {recursive: true, force: true})
  }
  const ready = await waitFor(() => {
    try {
      return sql('SELECT 1') === '1'
    } catch {
      return false
    }
  }, 20_000)
  if (!ready) {
    await stop()
    throw new Error(`PostgreSQL (${bin}) did not start on port ${port}`)
  }
  return {env, sql, psql, stop}
}
