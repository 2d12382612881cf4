import {existsSync, lstatSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {ElectError, ExitCode} from '../contract/exit-codes.js'

/**
 * Where a campaign tells the processes of its user on this machine that it runs: $ELECT_RUNTIME_DIR,
 * else /run/elect for root, else /run/user/<uid>/elect where that exists (systemd's per-user tmpfs),
 * else /tmp/elect-<uid>. Chosen by user id, not by $XDG_RUNTIME_DIR: a service and a cron job of one
 * user must find the same directory, and cron sets no XDG_RUNTIME_DIR while a login shell of root
 * sets one. Mode 0700 and owned by us, or we refuse it: whoever can write there could pose as a
 * campaign that leads.
 */
export function runtimeDir(env = process.env): string {
  if (env.ELECT_RUNTIME_DIR) return env.ELECT_RUNTIME_DIR
  const uid = process.getuid?.() ?? 0
  if (uid === 0) return '/run/elect'
  return existsSync(`/run/user/${uid}`) ? `/run/user/${uid}/elect` : `/tmp/elect-${uid}`
}

/** A runtime directory elect must not use: exit 1, with the reason and what to do. */
export class RuntimeDirError extends ElectError {
  constructor(message: string) {
    super(message, ExitCode.error)
  }
}

/** Creates the directory if need be, and checks that only this user can enter it. */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, {recursive: true, mode: 0o700})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // A file where the directory should be, or a path that runs through one.
    if (code === 'EEXIST' || code === 'ENOTDIR')
      throw new RuntimeDirError(`the runtime directory ${dir} is not a directory (set ELECT_RUNTIME_DIR to one of yours)`)
    throw new RuntimeDirError(`cannot make the runtime directory ${dir}: ${code ?? String(error)} (set ELECT_RUNTIME_DIR to a directory of yours)`)
  }
  checkPrivateDir(dir)
}

export function checkPrivateDir(dir: string): void {
  const stat = lstatSync(dir)
  if (!stat.isDirectory()) throw new RuntimeDirError(`the runtime directory ${dir} is not a directory`)
  if (stat.uid !== process.getuid?.()) throw new RuntimeDirError(`the runtime directory ${dir} belongs to uid ${stat.uid}, not to this user`)
  if (stat.mode & 0o077)
    throw new RuntimeDirError(`the runtime directory ${dir} is open to other users (mode ${(stat.mode & 0o777).toString(8)}); chmod 700 it`)
}

/** The socket of the campaign for `name` under `prefix`: one per election, whatever the etcd. */
export function socketPath(dir: string, prefix: string, name: string): string {
  // A hash keeps the path short (sockets allow ~107 bytes) whatever the prefix.
  const id = process.getBuiltinModule('node:crypto').createHash('sha256').update(`${prefix}\0${name}`).digest('hex').slice(0, 16)
  return join(dir, `${socketNameStart(name)}${id}.sock`)
}

/**
 * Whether `dir` holds a socket that may be a campaign's for `name`, under some prefix: asked before
 * socketPath, whose hash loads node:crypto (some 1.5 ms of a process that would use it for nothing else).
 */
export function mayHoldSocketOf(dir: string, name: string): boolean {
  const start = socketNameStart(name)
  return readdirSync(dir).some((entry) => entry.startsWith(start) && entry.endsWith('.sock'))
}

const socketNameStart = (name: string) => `${name.slice(0, 40)}-`
