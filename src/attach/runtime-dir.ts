import {createHash} from 'node:crypto'
import {lstatSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'

/**
 * Where a campaign tells the processes of its user on this machine that it runs: $ELECT_RUNTIME_DIR,
 * else $XDG_RUNTIME_DIR/elect (systemd's per-user tmpfs), else /run/elect for root and
 * /tmp/elect-<uid> for others. Mode 0700 and owned by us, or we refuse it: whoever can write there
 * could pose as a campaign that leads.
 */
export function runtimeDir(env = process.env): string {
  if (env.ELECT_RUNTIME_DIR) return env.ELECT_RUNTIME_DIR
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'elect')
  const uid = process.getuid?.() ?? 0
  return uid === 0 ? '/run/elect' : `/tmp/elect-${uid}`
}

export class RuntimeDirError extends Error {}

/** Creates the directory if need be, and checks that only this user can enter it. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, {recursive: true, mode: 0o700})
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
  const id = createHash('sha256').update(`${prefix}\0${name}`).digest('hex').slice(0, 16)
  return join(dir, `${name.slice(0, 40)}-${id}.sock`)
}
