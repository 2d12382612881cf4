// Where elect finds etcd and how it proves who it is: the connection flags, else elect's own
// environment, else etcdctl's, so that a shell set up for etcdctl works for elect too.
import {readFileSync, statSync} from 'node:fs'
import {UsageError} from '../contract/exit-codes.js'
import type {ConnectionOptions} from '../etcd/connection.js'

export interface ConnectionFlags {
  endpoints?: string
  cacert?: string
  cert?: string
  key?: string
  user?: string
  password?: string
  'password-file'?: string
  'dial-timeout': number
  'command-timeout': number
}

/** The connection the flags and the environment describe; a usage error for what cannot work, before any dial. */
export function connectionOptionsFrom(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): ConnectionOptions {
  // As etcdctl takes them: a scheme in any case, a trailing slash.
  const endpoints = (flags.endpoints ?? env.ELECT_ENDPOINTS ?? env.ETCDCTL_ENDPOINTS ?? '127.0.0.1:2379')
    .split(',')
    .map((endpoint) =>
      endpoint
        .trim()
        .replace(/^(https?):\/\//i, (_whole, scheme: string) => `${scheme.toLowerCase()}://`)
        .replace(/\/$/, ''),
    )
    .filter(Boolean)
  for (const endpoint of endpoints) {
    if (!/^(https?:\/\/)?[^\s/:]+:\d{1,5}$/.test(endpoint) && !/^(https?:\/\/)?\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(endpoint))
      throw new UsageError(`malformed endpoint "${endpoint}": use host:port, as in 127.0.0.1:2379`)
  }
  if (endpoints.length === 0) throw new UsageError('no etcd endpoint given: use --endpoints host:port')
  const caFile = flags.cacert ?? env.ELECT_CACERT ?? env.ETCDCTL_CACERT
  const certFile = flags.cert ?? env.ELECT_CERT ?? env.ETCDCTL_CERT
  const keyFile = flags.key ?? env.ELECT_KEY_FILE ?? env.ETCDCTL_KEY
  if (Boolean(certFile) !== Boolean(keyFile)) throw new UsageError('--cert and --key go together: give both for mutual TLS, or neither')
  for (const [flag, file, kind] of [
    ['--cacert', caFile, 'CERTIFICATE'],
    ['--cert', certFile, 'CERTIFICATE'],
    ['--key', keyFile, 'PRIVATE KEY'],
  ]) {
    if (file) mustBePem(flag!, file, kind!)
  }
  let user = flags.user ?? env.ELECT_USER ?? env.ETCDCTL_USER
  let password = flags.password ?? env.ELECT_PASSWORD ?? env.ETCDCTL_PASSWORD
  const passwordFile = flags['password-file'] ?? env.ELECT_PASSWORD_FILE
  if (passwordFile) password = readPasswordFile(passwordFile)
  if (user?.includes(':')) [user, password] = [user.slice(0, user.indexOf(':')), user.slice(user.indexOf(':') + 1)]
  if (password !== undefined && !user) throw new UsageError('a password needs a user: add --user')
  return {endpoints, caFile, certFile, keyFile, user, password, dialTimeoutMs: flags['dial-timeout'], commandTimeoutMs: flags['command-timeout']}
}

/** Read now, so that a wrong file is named as such, not reported later as a server that did not answer TLS. */
function mustBePem(flag: string, path: string, kind: string): void {
  let text: string
  try {
    text = readFileSync(path, 'latin1')
  } catch (error) {
    throw new UsageError(`cannot read ${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
  if (!new RegExp(`-----BEGIN [A-Z0-9 ]*${kind}-----`).test(text)) throw new UsageError(`${flag} ${path} is not a PEM file with a ${kind.toLowerCase()} in it`)
}

function readPasswordFile(path: string): string {
  let password: string
  try {
    password = readFileSync(path, 'utf8').replace(/\r?\n$/, '')
  } catch (error) {
    throw new UsageError(`cannot read --password-file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
  mustBePrivate(path, `(--password-file) holds a password`)
  return password
}

/**
 * A file that holds a secret must be the user's own (or root's) and readable by nobody else: ssh's
 * rule for a private key. Refused in one line that says how to mend it.
 */
export function mustBePrivate(path: string, what: string): void {
  let mode: number
  let owner: number
  try {
    ;({mode, uid: owner} = statSync(path))
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
  const user = process.getuid?.()
  if (user !== undefined && owner !== user && owner !== 0)
    throw new UsageError(`${path} ${what} but belongs to another user (uid ${owner}): it must be yours, as ssh asks of a key`)
  if ((mode & 0o077) !== 0)
    throw new UsageError(
      `${path} ${what} and others may read it (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 ${path}, as ssh asks of a key`,
    )
}
