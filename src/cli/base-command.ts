import {constants, hostname} from 'node:os'
import {Command, Flags} from '@oclif/core'
import type {Etcd3} from 'etcd3'
import {formatDuration, parseDuration} from '../time/duration.js'
import {connect, type ConnectionOptions} from '../etcd/connection.js'
import {type ConnectionFlags, connectionOptionsFrom} from './connection-flags.js'
import {validateName} from '../election/keys.js'
import {ttlExceedsFenceLead} from '../lease/fence.js'
import {applyToEnvironment, type Configuration, loadConfiguration} from './configuration.js'
import {report} from './errors.js'
import {UsageError} from '../contract/exit-codes.js'

function flagDuration(input: string): number {
  try {
    return parseDuration(input)
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

export const duration = Flags.custom<number>({helpValue: 'TIME', parse: async (input) => flagDuration(input)})

/** A duration that must be longer than 0: a time-out of 0 would fail every call. */
export const positiveDuration = Flags.custom<number>({
  helpValue: 'TIME',
  parse: async (input) => {
    const ms = flagDuration(input)
    if (ms <= 0) throw new UsageError(`"${input}" must be longer than 0`)
    return ms
  },
})

/** --wait: how long to wait to be elected, as given (for the line that says it ran out) and in ms (0: not at all; Infinity: forever). */
export interface Wait {
  text: string
  ms: number
}

export const wait = Flags.custom<Wait>({
  helpValue: 'TIME',
  parse: async (text) => {
    if (text === 'forever') return {text, ms: Number.POSITIVE_INFINITY}
    try {
      return {text, ms: parseDuration(text)}
    } catch {
      throw new UsageError(`--wait "${text}" is not 0, a duration (as in 30s, 5m) or forever`)
    }
  },
})

/** A signal by name, with or without SIG, in either case. */
export const signal = Flags.custom<NodeJS.Signals>({
  helpValue: 'SIG',
  parse: async (text, _context, options) => {
    const name = (text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`) as NodeJS.Signals
    if (!(name in constants.signals)) throw new UsageError(`--${options.name} "${text}" is not a signal name, as in SIGTERM or INT`)
    return name
  },
})

/** A hook: a command line for sh -c, not empty and of one line. */
export const hook = Flags.custom<string>({
  helpValue: 'CMD',
  parse: async (text, _context, options) => {
    if (text.trim() === '' || /[\n\r\0]/.test(text))
      throw new UsageError(
        `--${options.name} ${JSON.stringify(text)} is not a command: give one line for sh -c, as in 'curl -fsS -m 5 https://hc-ping.com/$UUID'`,
      )
    return text
  },
})

/**
 * --health-cmd and the flags that time it: a check that must pass for this server to lead. `every`:
 * a campaign checks on, every --health-interval; a run checks once, before it campaigns.
 */
export function healthFlags(every: boolean) {
  return {
    'health-cmd': hook({description: every ? 'lead only while this (sh -c) passes' : 'run only if this (sh -c) passes first, else skip'}),
    ...(every
      ? {
          'health-interval': positiveDuration({description: 'how often the health check runs', default: 10_000, defaultHelp: async () => '10s'}),
          'health-failures': Flags.integer({helpValue: 'N', description: 'failures in a row that make a leader step down', default: 3, min: 1}),
        }
      : {}),
    'health-timeout': positiveDuration({description: 'a health check that runs this long fails', default: 5000, defaultHelp: async () => '5s'}),
  }
}

/** etcd's longest lease TTL (MaxLeaseTTL, 9,000,000,000 s): it refuses a grant above it. */
export const MAX_TTL_MS = 9_000_000_000_000

const connection = 'CONNECTION'

/**
 * Shared connection flags, the one place errors become exit codes, and stdout/stderr helpers.
 * Commands implement `execute` and return their exit code.
 */
export abstract class BaseCommand extends Command {
  static baseFlags = {
    endpoints: Flags.string({
      helpGroup: connection,
      helpValue: 'URLS',
      description: 'etcd endpoints, comma-separated [env: ELECT_ENDPOINTS, ETCDCTL_ENDPOINTS] (default: 127.0.0.1:2379)',
    }),
    cacert: Flags.string({helpGroup: connection, helpValue: 'FILE', description: 'CA bundle to verify the server [env: ELECT_CACERT, ETCDCTL_CACERT]'}),
    cert: Flags.string({helpGroup: connection, helpValue: 'FILE', description: 'client certificate for mutual TLS [env: ELECT_CERT, ETCDCTL_CERT]'}),
    key: Flags.string({helpGroup: connection, helpValue: 'FILE', description: 'client key for mutual TLS [env: ELECT_KEY_FILE, ETCDCTL_KEY]'}),
    user: Flags.string({helpGroup: connection, helpValue: 'NAME', description: 'etcd user, as name or name:password [env: ELECT_USER, ETCDCTL_USER]'}),
    password: Flags.string({
      helpGroup: connection,
      helpValue: 'TEXT',
      description: 'etcd password (visible in ps: prefer the env or --password-file) [env: ELECT_PASSWORD, ETCDCTL_PASSWORD]',
    }),
    'password-file': Flags.string({
      helpGroup: connection,
      helpValue: 'FILE',
      description: 'read the etcd password from this file (mode 600, yours) [env: ELECT_PASSWORD_FILE]',
    }),
    'dial-timeout': positiveDuration({
      helpGroup: connection,
      description: 'how long to wait for etcd to answer at all',
      default: 2000,
      defaultHelp: async () => '2s',
    }),
    'command-timeout': positiveDuration({helpGroup: connection, description: 'deadline of each etcd request', default: 5000, defaultHelp: async () => '5s'}),
    prefix: Flags.string({helpGroup: connection, helpValue: 'TEXT', description: 'key prefix of elections [env: ELECT_PREFIX] (default: elect/)'}),
  }

  static enableJsonFlag = false

  protected abstract execute(): Promise<number>

  async run(): Promise<number> {
    this.configuration = loadConfiguration()
    this.givenEnvironment = {...process.env}
    applyToEnvironment(this.configuration)
    const code = await this.execute()
    process.exitCode = code
    return code
  }

  async catch(error: Error): Promise<void> {
    const flags = (this.constructor as typeof BaseCommand).flags ?? {}
    const code = report(error, this.id, this.connection, Object.keys({...BaseCommand.baseFlags, ...flags}))
    if (code !== 0) process.exitCode = code
  }

  private connection?: ConnectionOptions
  protected configuration?: Configuration
  /** The environment as elect was given it, before the files' settings joined it. */
  protected givenEnvironment: NodeJS.ProcessEnv = process.env

  /** The connection the flags, the environment and the configuration files describe, kept so that a failure of etcd is reported as one. */
  protected connectionOptions(flags: ConnectionFlags & {prefix?: string}): ConnectionOptions {
    this.connection = connectionOptionsFrom(flags, this.configuration?.merged() ?? process.env)
    handDownConnectionFlags(flags)
    return this.connection
  }

  /** Connects with `connection` (from connectionOptions), hands the client to `use`, and closes it whatever happens. */
  protected async withEtcd<T>(connection: ConnectionOptions, use: (client: Etcd3) => Promise<T>): Promise<T> {
    const client = await connect(connection)
    try {
      return await use(client)
    } finally {
      client.close()
    }
  }

  protected electionPrefix(flags: {prefix?: string}): string {
    return flags.prefix ?? process.env.ELECT_PREFIX ?? 'elect/'
  }

  protected electionName(name: string, what?: string): string {
    try {
      validateName(name, what)
    } catch (error) {
      throw new UsageError((error as Error).message)
    }
    return name
  }

  /**
   * A candidate's value, or one to compare with a leader's: who-leads prints values one per line, and
   * `who-leads --watch` prints an empty line for "nobody leads", so a value is one or more characters,
   * none of them a control character.
   */
  protected candidateValue(value: string, flag = '--value'): string {
    // eslint-disable-next-line no-control-regex
    if (value === '' || /[\u0000-\u001f\u007f]/.test(value))
      throw new UsageError(`${flag} ${JSON.stringify(value)} is not a value: use one or more characters, none of them a newline or other control character`)
    return value
  }

  /** --ttl: what etcd can grant, and room for a holder with `killGraceMs` before its fence. */
  protected leaseTtl(ttlMs: number, killGraceMs: number, tooShort: () => UsageError): number {
    this.grantable(ttlMs, '--ttl')
    if (!ttlExceedsFenceLead(ttlMs, killGraceMs)) throw tooShort()
    return ttlMs
  }

  /** A lease's TTL that `flag` gives: no longer than etcd grants. */
  protected grantable(ttlMs: number, flag: string): number {
    if (ttlMs > MAX_TTL_MS) throw new UsageError(`${flag} ${formatDuration(ttlMs)} is longer than etcd grants a lease (${formatDuration(MAX_TTL_MS)})`)
    return ttlMs
  }

  /** One line of data on stdout. */
  protected data(line: string | object): void {
    process.stdout.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`)
  }

  /** One line of elect's own on stderr. */
  protected say(message: string): void {
    process.stderr.write(`elect: ${message}\n`)
  }
}

/**
 * The connection flags given, as the variables that stand for them, for what elect starts (a job, a
 * hook, a health check): so that `elect put --fenced` or `elect holds` in a job reaches the etcd its
 * leadership lives in, as the configuration files' settings already do. A password stays out, as
 * the files' does: a job's elect reads it from its file.
 */
function handDownConnectionFlags(flags: ConnectionFlags & {prefix?: string}): void {
  const given: Record<string, string | undefined> = {
    ELECT_ENDPOINTS: flags.endpoints,
    ELECT_CACERT: flags.cacert,
    ELECT_CERT: flags.cert,
    ELECT_KEY_FILE: flags.key,
    ELECT_USER: flags.user?.includes(':') ? undefined : flags.user,
    ELECT_PASSWORD_FILE: flags['password-file'],
    ELECT_PREFIX: flags.prefix,
  }
  for (const [name, value] of Object.entries(given)) if (value !== undefined) process.env[name] = value
}

export function thisHost(): string {
  return hostname()
}
