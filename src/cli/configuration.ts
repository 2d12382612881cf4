// One configuration for cron, systemd and a shell: files in the syntax of systemd's EnvironmentFile=,
// with the environment's own names (ELECT_ENDPOINTS=..., one per line, # comments), so that the
// campaign's unit and every crontab line read the same file. cron passes no login environment: a
// crontab line that names no endpoint would otherwise reach for 127.0.0.1:2379.
//
// Read in order, each later one overriding: the system's (/etc/elect/elect.env), the user's
// ($XDG_CONFIG_HOME/elect/elect.env), and the one ELECT_CONFIG names. A flag beats the environment,
// which beats the files, which beat the defaults. A file that sets a password must be the user's own
// and readable by nobody else, as ssh asks of a key; its passwords reach etcd, never a job's
// environment.
import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {mustBePrivate} from './connection-flags.js'
import {UsageError} from '../contract/exit-codes.js'

export const SYSTEM_CONFIG = '/etc/elect/elect.env'

/** The names a file may set: the environment's. */
export const SETTINGS = [
  'ELECT_ENDPOINTS',
  'ELECT_CACERT',
  'ELECT_CERT',
  'ELECT_KEY_FILE',
  'ELECT_USER',
  'ELECT_PASSWORD',
  'ELECT_PASSWORD_FILE',
  'ELECT_PREFIX',
  'ELECT_RUNTIME_DIR',
  'ELECT_CGROUP',
  'ELECT_ACCEPT_ETCD_VERSION',
  'ETCDCTL_ENDPOINTS',
  'ETCDCTL_CACERT',
  'ETCDCTL_CERT',
  'ETCDCTL_KEY',
  'ETCDCTL_USER',
  'ETCDCTL_PASSWORD',
] as const

const SECRETS = new Set(['ELECT_PASSWORD', 'ETCDCTL_PASSWORD'])

export interface ConfigFile {
  path: string
  /** What it sets, by name. */
  values: Record<string, string>
}

export interface Configuration {
  /** The files read, in the order they were (later ones override). */
  files: ConfigFile[]
  /** Where a setting's value comes from: the environment, a file, or nowhere (the default). */
  sourceOf(name: string, env?: NodeJS.ProcessEnv): string | undefined
  /** The environment as elect reads it: the process's own, over the files'. */
  merged(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv
}

export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'elect', 'elect.env')
}

/**
 * systemd's EnvironmentFile= syntax, as far as a configuration needs it: NAME=VALUE lines, blank
 * lines and # or ; comments, a value in single or double quotes, a backslash at a line's end joining
 * the next. A line that is none of these is an error, with its number.
 */
export function parseEnvironmentFile(text: string, path: string): Record<string, string> {
  const values: Record<string, string> = {}
  const lines = text.replace(/\\\r?\n/g, '').split(/\r?\n/)
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line)
    if (!match) throw new UsageError(`${path}:${index + 1}: not NAME=VALUE: ${JSON.stringify(raw)}`)
    const [, name, rawValue] = match
    values[name] = unquote(rawValue)
  }
  return values
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1)
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1).replace(/\\(["\\$`])/g, '$1')
  return value
}

/** Reads the files that exist: a default one that is missing, or not this user's to read, is no error. */
export function loadConfiguration(env: NodeJS.ProcessEnv = process.env): Configuration {
  const candidates: Array<{path: string; named: boolean}> = [
    {path: SYSTEM_CONFIG, named: false},
    {path: userConfigPath(env), named: false},
    ...(env.ELECT_CONFIG ? [{path: env.ELECT_CONFIG, named: true}] : []),
  ]
  const files: ConfigFile[] = []
  for (const {path, named} of candidates) {
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (!named && (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR')) continue
      throw new UsageError(`cannot read ${named ? 'ELECT_CONFIG ' : ''}${path}: ${code ?? String(error)}`)
    }
    const values = parseEnvironmentFile(text, path)
    const unknown = Object.keys(values).filter((name) => !(SETTINGS as readonly string[]).includes(name))
    if (unknown.length > 0)
      throw new UsageError(
        `${path} sets ${unknown.join(', ')}, which elect does not know: it takes ${SETTINGS.filter((name) => name.startsWith('ELECT_')).join(', ')} (and etcdctl's ETCDCTL_ names)`,
      )
    if (Object.keys(values).some((name) => SECRETS.has(name))) mustBePrivate(path, 'holds a password')
    files.push({path, values})
  }
  const fromFiles = Object.assign({}, ...files.map((file) => file.values)) as Record<string, string>
  return {
    files,
    sourceOf: (name, environment = process.env) =>
      environment[name] !== undefined ? 'environment' : [...files].reverse().find((file) => file.values[name] !== undefined)?.path,
    merged: (environment = process.env) => ({...fromFiles, ...environment}),
  }
}

/** Whether a setting is a secret, never to be shown. */
export function isSecret(name: string): boolean {
  return SECRETS.has(name)
}

/**
 * Puts the files' settings that are not secrets where the rest of elect reads them, and a nested elect
 * in a job too: the environment, where it says nothing of them. Passwords stay in merged() alone.
 */
export function applyToEnvironment(configuration: Configuration, env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(configuration.merged({}))) if (!isSecret(name) && env[name] === undefined) env[name] = value
}
